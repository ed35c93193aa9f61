import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { UpsWatchConfig } from '../../agent/src/config.js';
import { deriveEvents, initialWatchState, type Reading } from '../../agent/src/watcher/notify-events.js';
import { planEvent } from '../../agent/src/watcher/watcher.js';
import { interpretStatus, type PowerState, parseStatusWords } from '../../shared/src/nut-status.js';
import {
  AgentMessageSchema,
  encodeMessage,
  MAX_FRAME_BYTES,
  type NotifyEvent,
} from '../../shared/src/protocol.js';
import { generateSigningKey } from '../../shared/src/signing.js';
import { signUpsEvent } from '../../shared/src/tokens.js';
import { DDL_DIR, ddlMissingReason, describeRequiring } from '../helpers/requirements.js';
import { parseDevFile } from './dev-file.js';

/**
 * All 718 dumps of NUT's Devices Dumps Library (../shared/nut-ddl, beside the repository; never
 * committed) through parseDevFile → interpretStatus → deriveEvents (first reading).
 */
const BK650 = 'APC/APC__Back-UPS_BK650M2-CH__usbhid-ups__2.8.0__01.dev';

interface Verdict {
  readonly file: string;
  /** The `ups.status` text, or undefined when the dump has none. */
  readonly status: string | undefined;
  readonly words: readonly string[];
  readonly power: PowerState;
  readonly conflicting: boolean;
  readonly events: readonly NotifyEvent[];
  readonly dead: boolean;
  readonly warnings: readonly string[];
}

/** What a watcher would make of this dump as its first reading. */
function judge(file: string, text: string): Verdict {
  const { vars, warnings } = parseDevFile(text);
  const status = vars['ups.status'];
  const words = status === undefined ? [] : parseStatusWords(status);
  const reading: Reading =
    status === undefined
      ? { kind: 'unknown', reason: 'error', detail: 'no ups.status' }
      : { kind: 'ok', status: words, vars };
  const { power, conflicting } = interpretStatus(status === undefined ? null : words);
  const { events, dead } = deriveEvents(initialWatchState, reading, 0);
  return { file, status, words, power, conflicting, events, dead, warnings };
}

/** Why this verdict breaks a rule, or undefined. */
function brokenRule(v: Verdict): string | undefined {
  const has = (word: string): boolean => v.words.includes(word);
  if (has('OL') && v.power !== 'online') return `contains OL but read as ${v.power}`;
  if ((v.power === 'battery') !== (has('OB') && !has('OL'))) return `power ${v.power} without OB alone`;
  if (v.events.includes('ONBATT') !== (v.power === 'battery')) return `ONBATT ≠ battery: ${v.events}`;
  if (v.events.includes('LOWBATT') !== has('LB')) return `LOWBATT ≠ LB: ${v.events}`;
  if (v.events.includes('FSD') !== has('FSD')) return `FSD event ≠ FSD token: ${v.events}`;
  const never: NotifyEvent[] = ['ONLINE', 'COMMOK', 'COMMBAD', 'NOCOMM'];
  if (v.events.some((event) => never.includes(event))) return `first reading gave ${v.events}`;
  if (v.dead) return 'dead after one reading';
  return undefined;
}

const WATCH: UpsWatchConfig = {
  id: 'ddl-ups',
  upsd: { host: '127.0.0.1', port: 3493 },
  name: 'ups',
  pollInterval: 1_000,
  deadTime: 15_000,
  snapshotInterval: 60_000,
  alertSnapshotInterval: 5_000,
};

describeRequiring('the NUT Devices Dumps Library', ddlMissingReason(), () => {
  it('every dump becomes signed events that fit a WebSocket frame, all of its variables sent over a few snapshots', async () => {
    const { keyPair } = await generateSigningKey();
    const files = (await readdir(DDL_DIR, { recursive: true })).filter((f) => f.endsWith('.dev')).sort();
    const failures: string[] = [];
    for (const file of files) {
      const { vars } = parseDevFile(await readFile(join(DDL_DIR, file), 'utf8'));
      const reading: Reading = { kind: 'ok', status: parseStatusWords(vars['ups.status'] ?? ''), vars };
      const derived = deriveEvents(initialWatchState, reading, 0);
      let last: Parameters<typeof planEvent>[3];
      const sent = new Set<string>();
      for (let snapshot = 0; snapshot < 10 && sent.size < Object.keys(vars).length; snapshot++) {
        const at = snapshot * WATCH.snapshotInterval;
        const plan = planEvent(
          WATCH,
          reading,
          snapshot === 0 ? derived : { events: [], dead: false },
          last,
          at,
        );
        if (plan === undefined) break;
        last = plan.sent;
        for (const name of Object.keys(plan.event.vars ?? {})) sent.add(name);
        const token = await signUpsEvent(keyPair, 'agent', { ...plan.event, seq: snapshot }, at);
        const frame = encodeMessage({ type: 'event', token });
        if (
          Buffer.byteLength(frame) > MAX_FRAME_BYTES ||
          !AgentMessageSchema.safeParse(JSON.parse(frame)).success
        ) {
          failures.push(
            `${file}: snapshot ${snapshot} is ${Buffer.byteLength(frame)} bytes, refused by the protocol`,
          );
        }
      }
      if (sent.size < Object.keys(vars).length)
        failures.push(`${file}: ${Object.keys(vars).length - sent.size} variables never sent`);
    }
    expect(failures).toEqual([]);
  });

  it('reads every dump; none whose status contains OL is read as battery', async () => {
    const files = (await readdir(DDL_DIR, { recursive: true })).filter((f) => f.endsWith('.dev')).sort();
    expect(files).toHaveLength(718);
    const verdicts: Verdict[] = [];
    const failures: string[] = [];
    for (const file of files) {
      try {
        const verdict = judge(file, await readFile(join(DDL_DIR, file), 'utf8'));
        verdicts.push(verdict);
        const broken = brokenRule(verdict);
        if (broken !== undefined) failures.push(`${file} (${JSON.stringify(verdict.status)}): ${broken}`);
      } catch (error) {
        failures.push(`${file}: threw ${error instanceof Error ? error.stack : String(error)}`);
      }
    }
    expect(failures).toEqual([]);

    const count = (keep: (v: Verdict) => boolean): number => verdicts.filter(keep).length;
    const statusesOf = (power: PowerState): string[] =>
      [
        ...new Set(
          verdicts
            .filter((v) => v.power === power)
            .map((v) => v.words.join(' ') || `(${v.status ?? 'none'})`),
        ),
      ].sort();
    expect(count((v) => v.words.includes('OL'))).toBe(679);
    expect(count((v) => v.power === 'online')).toBe(679);
    expect(count((v) => v.power === 'battery')).toBe(23);
    expect(count((v) => v.power === 'unknown')).toBe(16);
    expect(count((v) => v.conflicting)).toBe(3);
    expect(statusesOf('battery')).toEqual(['ALARM OB', 'OB', 'OB DISCHRG', 'OB LB RB']);
    expect(statusesOf('unknown')).toEqual(['()', '(none)', 'ALARM', 'BOOST BYPASS', 'OFF', 'TRIM']);

    const tally: Partial<Record<NotifyEvent, number>> = {};
    for (const event of verdicts.flatMap((v) => v.events)) tally[event] = (tally[event] ?? 0) + 1;
    expect(tally).toEqual({
      ONBATT: 23,
      LOWBATT: 10,
      FSD: 3,
      REPLBATT: 6,
      ALARM: 14,
      OFF: 14,
      BYPASS: 8,
      TRIM: 9,
      BOOST: 7,
      OVER: 2,
      CAL: 1,
    });
    // Only two dumps have lines dummy-ups's parser would also choke on (a dangling \, unbalanced quotes).
    expect(verdicts.filter((v) => v.warnings.length > 0).map((v) => v.file)).toEqual([
      'APC/APC__Matrix-UPS_3000__apcsmart__1.4.0__01.dev',
      'Exide/Exide__NetUPS_SE_PRC2400a__upscode2__2.0.2__01.dev',
    ]);
  });

  it('reads the APC BK650M2-CH (the field report) as online with OL DISCHRG, on battery with OB DISCHRG', async () => {
    const text = await readFile(join(DDL_DIR, BK650), 'utf8');
    const online = judge(BK650, text);
    expect(online).toMatchObject({ status: 'OL DISCHRG', power: 'online', events: [], warnings: [] });
    // The report: with `onlinedischarge` set, upsc showed `OB DISCHRG` on battery.
    const variant = text.replace(/^ups\.status: OL DISCHRG$/m, 'ups.status: OB DISCHRG');
    expect(judge(BK650, variant)).toMatchObject({
      status: 'OB DISCHRG',
      power: 'battery',
      events: ['ONBATT'],
    });

    const steps: Reading[] = [online, judge(BK650, variant), online].map((v) => ({
      kind: 'ok',
      status: [...v.words],
      vars: {},
    }));
    let state = initialWatchState;
    const events = steps.map((reading, index) => {
      const derived = deriveEvents(state, reading, index * 5_000);
      state = derived.state;
      return derived.events;
    });
    expect(events).toEqual([[], ['ONBATT'], ['ONLINE']]);
  });
});
