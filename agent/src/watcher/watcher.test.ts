import { describe, expect, it, onTestFinished } from 'vitest';
import { createManualClock } from '../../../shared/src/clock.js';
import { createMemoryLogger } from '../../../shared/src/logger.js';
import type { NotifyEvent, UpsEventClaims, UpsEventInput } from '../../../shared/src/protocol.js';
import { generateSigningKey } from '../../../shared/src/signing.js';
import { signUpsEvent, verifyUpsEvent } from '../../../shared/src/tokens.js';
import { type FakeUpsd, type Responder, startFakeUpsd } from '../../../test/nut/fake-upsd.js';
import type { UpsWatchConfig } from '../config.js';
import { createAsyncQueue, createTempDir } from '../test-support.js';
import type { Reading } from './notify-events.js';
import { openOutbox } from './outbox.js';
import { planEvent, startWatcher } from './watcher.js';

const T0 = Date.parse('2026-11-23T22:00:00Z');
const AGENT = 'agent-watcher-1';

/** snapshotInterval 60 s on mains, alertSnapshotInterval 5 s on battery or dead. */
const UPS: UpsWatchConfig = {
  id: 'rack-a',
  upsd: { host: '127.0.0.1', port: 3493 },
  name: 'ups',
  pollInterval: 1_000,
  deadTime: 15_000,
  snapshotInterval: 60_000,
  alertSnapshotInterval: 5_000,
};

const ok = (status: string, vars: Record<string, string> = { 'battery.charge': '100' }): Reading => ({
  kind: 'ok',
  status: status.split(' '),
  vars,
});
const STALE: Reading = { kind: 'unknown', reason: 'data-stale' };

type Sent = NonNullable<ReturnType<typeof planEvent>>['sent'];

/**
 * One reading at `at`, with what deriveEvents said about it, and what must be sent: null for
 * nothing; otherwise the event, whose status (unless given) is the reading's and whose vars are
 * checked exactly when given.
 */
type Step = readonly [
  at: number,
  reading: Reading,
  derived: { readonly events?: NotifyEvent[]; readonly dead?: boolean },
  sent: null | { readonly status?: string[] | null; readonly vars?: Record<string, string> },
];

function run(steps: readonly Step[]): void {
  let last: Sent | undefined;
  for (const [index, [at, reading, derived, expected]] of steps.entries()) {
    const events = derived.events ?? [];
    const dead = derived.dead ?? false;
    const plan = planEvent(UPS, reading, { events, dead }, last, at);
    const where = `step ${index} at +${at}`;
    if (expected === null) {
      expect(plan, where).toBeUndefined();
      continue;
    }
    if (plan === undefined) throw new Error(`${where}: nothing sent`);
    const status =
      expected.status !== undefined ? expected.status : reading.kind === 'ok' ? reading.status : null;
    expect(plan.event, where).toMatchObject({ ups: UPS.id, observedAt: at, status, events, dead });
    if (expected.vars !== undefined) expect(plan.event.vars, `${where}: vars`).toEqual(expected.vars);
    last = plan.sent;
  }
}

const SENT = {};

describe('planEvent', () => {
  it.each<[string, Step[]]>([
    ['the first reading is always sent', [[0, ok('OL'), {}, SENT]]],
    ['the first reading is sent even when unknown', [[0, STALE, {}, { status: null, vars: {} }]]],
    [
      'a reading with events is sent even when nothing else changed',
      [
        [0, ok('OL RB'), { events: ['REPLBATT'] }, SENT],
        [1_000, ok('OL RB'), {}, null],
        [2_000, ok('OL RB'), { events: ['REPLBATT'] }, SENT],
      ],
    ],
    [
      'unchanged status, no events, snapshot not due: nothing',
      [
        [0, ok('OL'), {}, SENT],
        [1_000, ok('OL'), {}, null],
        [59_999, ok('OL'), {}, null],
      ],
    ],
    [
      'on mains, a snapshot every snapshotInterval after the last one sent',
      [
        [0, ok('OL'), {}, SENT],
        [59_999, ok('OL'), {}, null],
        [60_000, ok('OL'), {}, SENT],
        [119_999, ok('OL'), {}, null],
        [120_000, ok('OL'), {}, SENT],
      ],
    ],
    [
      'on battery, a snapshot every alertSnapshotInterval',
      [
        [0, ok('OB DISCHRG'), { events: ['ONBATT'] }, SENT],
        [4_999, ok('OB DISCHRG'), {}, null],
        [5_000, ok('OB DISCHRG'), {}, SENT],
        [9_999, ok('OB DISCHRG'), {}, null],
        [10_000, ok('OB DISCHRG'), {}, SENT],
      ],
    ],
    [
      'unknown but not dead: the mains interval (unknown is never battery)',
      [
        [0, ok('OB DISCHRG'), { events: ['ONBATT'] }, SENT],
        [1_000, STALE, { events: ['COMMBAD'] }, { status: null }],
        [6_000, STALE, {}, null],
        [60_999, STALE, {}, null],
        [61_000, STALE, {}, { status: null }],
      ],
    ],
    [
      'dead: the dead change is sent, then snapshots every alertSnapshotInterval',
      [
        [0, ok('OB DISCHRG'), { events: ['ONBATT'] }, SENT],
        [1_000, STALE, { events: ['COMMBAD'] }, { status: null }],
        [2_000, STALE, {}, null],
        [16_001, STALE, { dead: true }, { status: null }],
        [21_000, STALE, { dead: true }, null],
        [21_001, STALE, { dead: true }, { status: null }],
        [22_000, ok('OB DISCHRG'), { events: ['COMMOK'] }, SENT],
      ],
    ],
    [
      'a status change without events is sent',
      [
        [0, ok('OL CHRG'), {}, SENT],
        [1_000, ok('OL'), {}, SENT],
        [2_000, ok('OL'), {}, null],
        [3_000, ok('OL DISCHRG'), {}, SENT],
        [4_000, ok('DISCHRG OL'), {}, SENT],
      ],
    ],
    [
      'core variables are always sent, the others only when changed since the last event sent',
      [
        [
          0,
          ok('OL', {
            'battery.charge': '100',
            'ups.load': '20',
            'ups.model': 'BK650M2',
            'input.frequency': '50.0',
          }),
          {},
          {
            vars: {
              'battery.charge': '100',
              'ups.load': '20',
              'ups.model': 'BK650M2',
              'input.frequency': '50.0',
            },
          },
        ],
        [
          60_000,
          ok('OL', {
            'battery.charge': '100',
            'ups.load': '20',
            'ups.model': 'BK650M2',
            'input.frequency': '49.9',
          }),
          {},
          { vars: { 'battery.charge': '100', 'ups.load': '20', 'input.frequency': '49.9' } },
        ],
        // A change alone is not a reason to send...
        [
          61_000,
          ok('OL', {
            'battery.charge': '99',
            'ups.load': '20',
            'ups.model': 'BK650M2',
            'input.frequency': '50.1',
          }),
          {},
          null,
        ],
        // ...and an unsent reading does not count as sent: 50.1 still differs from the 49.9 sent.
        [
          120_000,
          ok('OL', {
            'battery.charge': '99',
            'ups.load': '20',
            'ups.model': 'BK650M2',
            'input.frequency': '50.1',
          }),
          {},
          { vars: { 'battery.charge': '99', 'ups.load': '20', 'input.frequency': '50.1' } },
        ],
      ],
    ],
    [
      'variables sent before an unknown reading are remembered through it',
      [
        [0, ok('OL', { 'battery.charge': '100', 'ups.model': 'BK650M2' }), {}, SENT],
        [1_000, STALE, { events: ['COMMBAD'] }, { status: null, vars: {} }],
        [
          2_000,
          ok('OL', { 'battery.charge': '100', 'ups.model': 'BK650M2' }),
          { events: ['COMMOK'] },
          { vars: { 'battery.charge': '100' } },
        ],
      ],
    ],
    [
      'an unknown reading has status null and no variables, whatever the reason',
      [
        [0, ok('OL'), {}, SENT],
        [
          1_000,
          { kind: 'unknown', reason: 'connection', detail: 'ECONNREFUSED' },
          {},
          { status: null, vars: {} },
        ],
        [2_000, { kind: 'unknown', reason: 'wait' }, {}, null],
        [61_000, { kind: 'unknown', reason: 'driver-not-connected' }, {}, { status: null, vars: {} }],
      ],
    ],
  ])('%s', (_name, steps) => {
    run(steps);
  });

  it('copies the events, so the caller may reuse its array', () => {
    const events: NotifyEvent[] = ['ONBATT'];
    const plan = planEvent(UPS, ok('OB'), { events, dead: false }, undefined, T0);
    events.push('LOWBATT');
    expect(plan?.event.events).toEqual(['ONBATT']);
  });
});

// ---------------------------------------------------------------------------------------------

const LIST_VAR = 'LIST VAR ups';

const varList = (status: string): string =>
  `BEGIN LIST VAR ups\nVAR ups battery.charge "100"\nVAR ups ups.status "${status}"\nEND LIST VAR ups\n`;

/** The `n`-th (1-based) time the fake upsd receives `text`. */
const nthLine = (upsd: FakeUpsd, text: string, n: number) =>
  upsd.waitForLine(
    (line) => line.line === text && upsd.received.filter((r) => r.line === text).indexOf(line) === n - 1,
  );

/** A real outbox in a temp dir with a real key, a watcher on a fake upsd, and each enqueue in a queue. */
async function setupWatcher(respond: Responder) {
  const upsd = await startFakeUpsd(respond);
  const dir = await createTempDir('watcher');
  const clock = createManualClock(T0);
  const { keyPair } = await generateSigningKey();
  const sign = (claims: UpsEventInput) => signUpsEvent(keyPair, AGENT, claims, clock.now());
  const outbox = await openOutbox({ dir: dir.path, sign, clock });
  const logger = createMemoryLogger();
  /** outbox.size after each enqueue. */
  const enqueued = createAsyncQueue<number>();
  const watcher = startWatcher({
    ups: [{ ...UPS, upsd: { host: upsd.host, port: upsd.port }, pollInterval: 20 }],
    outbox,
    clock,
    logger,
    onEnqueued: () => enqueued.push(outbox.size),
  });
  onTestFinished(async () => {
    await watcher.stop();
    await outbox.close();
    await upsd.close();
    await dir.remove();
  });
  /** Takes the next event out of the outbox (next + ack) and returns its verified claims. */
  const deliver = async (): Promise<UpsEventClaims> => {
    const sent = await outbox.next();
    if (sent === undefined) throw new Error('the outbox is empty');
    expect(await outbox.ack(sent.seq)).toBe(true);
    const verified = await verifyUpsEvent(sent.token, async () => keyPair.publicKey, clock.now());
    expect(verified.agentId).toBe(AGENT);
    return verified.claims;
  };
  return { upsd, outbox, logger, enqueued, watcher, deliver };
}

describe('startWatcher', () => {
  it('queues the first OL reading, nothing while it stays OL, then ONBATT; seqs contiguous', async () => {
    let status = 'OL';
    const { upsd, outbox, logger, enqueued, deliver } = await setupWatcher((line, connection) => {
      connection.write(line === LIST_VAR ? varList(status) : 'ERR UNKNOWN-COMMAND\n');
    });

    expect(await enqueued.next()).toBe(1);
    const first = await deliver();
    expect(first).toMatchObject({
      seq: 1,
      ups: 'rack-a',
      observedAt: T0,
      status: ['OL'],
      events: [],
      vars: { 'battery.charge': '100', 'ups.status': 'OL' },
      dropped: 0,
      dead: false,
    });

    // Two more OL readings have been handled once the third LIST VAR arrives: they queued nothing.
    await nthLine(upsd, LIST_VAR, 3);
    expect(await outbox.ack(0)).toBe(false); // after any enqueue already started
    expect(outbox.size).toBe(0);
    expect(enqueued.pending).toBe(0);

    status = 'OB DISCHRG';
    expect(await enqueued.next()).toBe(1);
    const second = await deliver();
    expect(second).toMatchObject({
      seq: 2,
      ups: 'rack-a',
      status: ['OB', 'DISCHRG'],
      events: ['ONBATT'],
      dropped: 0,
      dead: false,
    });
    // battery.charge is a core variable; ups.status changed.
    expect(second.vars).toEqual({ 'battery.charge': '100', 'ups.status': 'OB DISCHRG' });
    expect(logger.entries.some((e) => e.level === 'info' && e.message === 'UPS rack-a: ONBATT')).toBe(true);
  });

  it('stopping in the middle of a poll queues no event for it (no false COMMBAD)', async () => {
    let answered = 0;
    const { upsd, outbox, enqueued, watcher, deliver } = await setupWatcher((line, connection) => {
      if (line !== LIST_VAR) connection.write('ERR UNKNOWN-COMMAND\n');
      else if (answered++ === 0) connection.write(varList('OL'));
      // later polls are never answered: the poll is in flight when the agent stops
    });
    expect(await enqueued.next()).toBe(1);
    await nthLine(upsd, LIST_VAR, 2);

    await watcher.stop();
    expect(await outbox.ack(0)).toBe(false); // after any enqueue already started
    const queued: UpsEventClaims[] = [];
    while (outbox.size > 0) queued.push(await deliver());
    expect(queued.map((claims) => [claims.seq, claims.status, claims.events])).toEqual([[1, ['OL'], []]]);
  });
});
