import { describe, expect, it } from 'vitest';
import { NotifyEventSchema } from '../../../shared/src/protocol.js';
import {
  isNotificationKind,
  NOTIFICATION_KINDS,
  type RunFact,
  UPS_KINDS,
  type UpsFact,
  upsKindOf,
} from './facts.js';
import { humanReason, stageReason, toMessage } from './messages.js';

const AT = Date.UTC(2025, 0, 15, 12, 0, 0);
const ups = (fact: Partial<UpsFact> & Pick<UpsFact, 'kind'>): UpsFact => ({
  ups: 'nas-ups',
  at: AT,
  status: ['OB', 'DISCHRG'],
  ...fact,
});
/** A run fact at AT in run 3, not a drill unless said. */
type RunFactInput = RunFact extends infer F
  ? F extends RunFact
    ? Omit<F, 'at' | 'run' | 'drill'> & { drill?: boolean }
    : never
  : never;
const run = (fact: RunFactInput): RunFact => ({ at: AT, run: 3, drill: false, ...fact }) as RunFact;

describe('kinds', () => {
  it('every NUT notify event has a routing kind, and the API list holds them all', () => {
    for (const event of NotifyEventSchema.options) {
      expect(UPS_KINDS).toContain(upsKindOf(event));
      expect(isNotificationKind(upsKindOf(event))).toBe(true);
    }
    for (const kind of ['dead', 'stage-fired', 'order-failed', 'test'])
      expect(NOTIFICATION_KINDS).toContain(kind);
    expect(isNotificationKind('ONBATT')).toBe(false);
  });
});

describe('UPS messages', () => {
  it('on battery: runtime, charge and the next stage, in words', () => {
    const message = toMessage(
      ups({ kind: 'onbatt', runtime: 14 * 60 + 20, charge: 87, nextStage: { name: 'apps', inMs: 60_000 } }),
    );
    expect(message).toEqual({
      kind: 'onbatt',
      severity: 'warning',
      title: 'UPS nas-ups on battery',
      text: "UPS nas-ups on battery — runtime 14 min, charge 87 %, stage 'apps' in 60 s",
      markdown: "**UPS nas-ups on battery**\nruntime 14 min · charge 87 % · stage 'apps' in 60 s",
      at: AT,
      ups: 'nas-ups',
      collapseKey: 'power:nas-ups',
    });
  });

  it('on battery without readings says only what is known', () => {
    expect(toMessage(ups({ kind: 'onbatt' })).text).toBe('UPS nas-ups on battery');
  });

  it('power back shares the flapping key with on battery', () => {
    const message = toMessage(ups({ kind: 'online', status: ['OL', 'CHRG'], charge: 64 }));
    expect(message.text).toBe('Power back on nas-ups — charge 64 %');
    expect(message.severity).toBe('info');
    expect(message.collapseKey).toBe('power:nas-ups');
  });

  it('low battery, FSD and a dead UPS are critical and never collapse', () => {
    for (const kind of ['lowbatt', 'fsd', 'dead'] as const) {
      const message = toMessage(ups({ kind, runtime: 95, charge: 18 }));
      expect(message.severity).toBe('critical');
      expect(message.collapseKey).toBeUndefined();
    }
    expect(toMessage(ups({ kind: 'lowbatt', runtime: 95, charge: 18 })).text).toBe(
      'UPS nas-ups battery low — runtime 95 s, charge 18 %',
    );
  });

  it('lost contact is not on battery: it says the state is unknown', () => {
    const message = toMessage(ups({ kind: 'commbad', status: null }));
    expect(message.text).toBe('Lost contact with UPS nas-ups — power state unknown until it answers again');
    expect(message.collapseKey).toBe('comm:nas-ups');
    expect(toMessage(ups({ kind: 'commok', status: ['OL'] })).collapseKey).toBe('comm:nas-ups');
  });

  it('each NUT pair shares a key (TRIM/NOTTRIM)', () => {
    expect(toMessage(ups({ kind: 'trim' })).collapseKey).toBe('trim:nas-ups');
    expect(toMessage(ups({ kind: 'nottrim' })).collapseKey).toBe('trim:nas-ups');
  });

  it('a stage due now says so', () => {
    expect(toMessage(ups({ kind: 'fsd', nextStage: { name: 'all', inMs: 0 } })).text).toBe(
      "UPS nas-ups forced shutdown (FSD) — stage 'all' now",
    );
  });
});

describe('run messages', () => {
  it('a stage firing says why and who goes down', () => {
    const message = toMessage(
      run({
        kind: 'stage-fired',
        stage: 'apps',
        reason: 'nas-ups: on battery 60s',
        hosts: ['web-1', 'web-2'],
      }),
    );
    expect(message.text).toBe("Stage 'apps' fired: nas-ups on battery for 60 s — shutting down web-1, web-2");
    expect(message.severity).toBe('critical');
    expect(message.hosts).toEqual(['web-1', 'web-2']);
    expect(message.collapseKey).toBeUndefined();
  });

  it('a drill is marked as a drill in title and text, and is not critical', () => {
    const started = toMessage(run({ kind: 'run-started', reason: 'drill', drill: true }));
    expect(started.title).toBe('[DRILL] Drill 3 started');
    expect(started.text).toBe(
      '[DRILL] Drill 3 started — every host checks its shutdown; nothing is shut down',
    );
    const stage = toMessage(
      run({ kind: 'stage-fired', stage: 'apps', reason: 'drill', hosts: ['web-1'], drill: true }),
    );
    expect(stage.text).toBe(
      "[DRILL] Stage 'apps' drilled — web-1 check their shutdown; nothing is shut down",
    );
    expect(stage.severity).toBe('info');
    const down = toMessage(run({ kind: 'host-down', host: 'web-1', how: 'drill', drill: true }));
    expect(down.text).toBe('[DRILL] web-1 passed its drill check');
  });

  it('an outage run, its restore and its end', () => {
    expect(toMessage(run({ kind: 'run-started', reason: 'power lost: nas-ups' })).text).toBe(
      'Outage run 3 started — power lost: nas-ups',
    );
    expect(toMessage(run({ kind: 'run-restoring', reason: 'power restored' })).text).toBe(
      'Run 3: power restored — hosts are woken once mains has been stable long enough',
    );
    expect(toMessage(run({ kind: 'run-ended', reason: 'restored' })).text).toBe(
      'Run 3 ended — power restored',
    );
  });

  it('hosts: down, woken, missing', () => {
    expect(toMessage(run({ kind: 'host-down', host: 'db-1', how: 'grace-expired' })).text).toBe(
      'db-1 counted as down — no confirmation within its grace time',
    );
    expect(toMessage(run({ kind: 'wake', host: 'db-1' })).text).toBe('Waking db-1 — Wake-on-LAN sent');
    const missing = toMessage(run({ kind: 'host-missing', host: 'db-1' }));
    expect(missing.host).toBe('db-1');
    expect(missing.severity).toBe('warning');
  });

  it('a failed shutdown is critical and carries the host', () => {
    const message = toMessage(
      run({
        kind: 'order-failed',
        host: 'web-1',
        stage: 'apps',
        error: 'systemctl: not found',
        exitCode: 127,
      }),
    );
    expect(message).toMatchObject({
      severity: 'critical',
      host: 'web-1',
      text: "Shutdown failed on web-1 (stage 'apps') — systemctl: not found (exit 127)",
    });
  });

  it('markdown escapes emphasis characters in names', () => {
    expect(toMessage(run({ kind: 'wake', host: 'web_1' })).markdown).toBe(
      '**Waking web\\_1**\nWake-on-LAN sent',
    );
  });
});

describe('reasons', () => {
  it('turn engine units into words', () => {
    expect(humanReason('runtime 300s < 600s')).toBe('runtime 5 min < 10 min');
    expect(stageReason('nas-ups: charge 40% < 50%; ups-b: FSD')).toBe(
      'nas-ups charge 40 % < 50 %; ups-b FSD',
    );
  });
});

it('a channel test names the channel', () => {
  expect(toMessage({ kind: 'test', at: AT, channel: 'ops-wechat' }).text).toBe(
    "upsfleet test message for channel 'ops-wechat': if you read this, the channel works",
  );
});
