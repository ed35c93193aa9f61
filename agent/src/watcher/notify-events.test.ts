import { describe, expect, it } from 'vitest';
import type { NotifyEvent } from '../../../shared/src/protocol.js';
import {
  type DerivedEvents,
  deriveEvents,
  initialWatchState,
  type Reading,
  type UnknownReason,
  type WatchOptions,
  type WatchState,
} from './notify-events.js';

const ok = (status: string): Reading => ({ kind: 'ok', status: status.split(' ').filter(Boolean), vars: {} });
const unknown = (reason: UnknownReason = 'data-stale'): Reading => ({ kind: 'unknown', reason });
const STALE = unknown('data-stale');

/** One step of a timeline: at `now`, this reading gives exactly these events (and, if given, this dead verdict). */
type Step = readonly [now: number, reading: Reading | string, events: NotifyEvent[], dead?: boolean];

function run(
  steps: readonly Step[],
  options: WatchOptions = {},
  from: WatchState = initialWatchState,
): DerivedEvents {
  let state = from;
  let last: DerivedEvents | undefined;
  for (const [index, [now, reading, events, dead]] of steps.entries()) {
    last = deriveEvents(state, typeof reading === 'string' ? ok(reading) : reading, now, options);
    expect(last.events, `step ${index} at ${now}`).toEqual(events);
    if (dead !== undefined) expect(last.dead, `dead at step ${index}`).toBe(dead);
    expect(last.state.dead).toBe(last.dead);
    state = last.state;
  }
  if (last === undefined) throw new Error('empty timeline');
  return last;
}

describe('the first reading (upsmon starts from no flags)', () => {
  it.each<[string, NotifyEvent[]]>([
    ['OL', []],
    ['OL CHRG', []],
    ['OL DISCHRG', []],
    ['OB DISCHRG', ['ONBATT']],
    ['OB LB', ['ONBATT', 'LOWBATT']],
    ['OL CHRG LB', ['LOWBATT']],
    ['FSD OL', ['FSD']],
    ['ALARM OL', ['ALARM']],
    ['OL CAL', ['CAL']],
    ['OL RB', ['REPLBATT']],
    ['OL OB', []],
    ['OFF', ['OFF']],
    ['OL NEWTHING', []],
  ])('%j → %j', (status, events) => {
    run([[0, status, events, false]]);
  });

  it('a failed first reading emits nothing: no COMMBAD before any contact', () => {
    run([[0, STALE, [], false]]);
  });
});

describe('power transitions', () => {
  it('OL → OB → OB LB → OL gives exactly [ONBATT], [LOWBATT], [ONLINE]', () => {
    run([
      [0, 'OL', []],
      [5_000, 'OB DISCHRG', ['ONBATT']],
      [10_000, 'OB DISCHRG LB', ['LOWBATT']],
      [15_000, 'OL CHRG', ['ONLINE']],
    ]);
  });

  it('LB going away emits nothing (upsmon has no NOTLOWBATT); LB coming back fires LOWBATT again', () => {
    run([
      [0, 'OB LB', ['ONBATT', 'LOWBATT']],
      [5_000, 'OB', []],
      [10_000, 'OB LB', ['LOWBATT']],
    ]);
  });

  it('a status without OL or OB keeps the line state: no ONLINE after OFF, no ONBATT twice', () => {
    run([
      [0, 'OB', ['ONBATT']],
      [5_000, 'TRIM', ['TRIM']],
      [10_000, 'OB', ['NOTTRIM']],
      [15_000, 'OL', ['ONLINE']],
    ]);
  });

  it('reads OL OB as online (a driver bug), so it never fires ONBATT', () => {
    run([
      [0, 'OL', []],
      [5_000, 'OL OB', []],
      [10_000, 'OL DISCHRG OB', []],
    ]);
  });
});

describe('failed readings', () => {
  it.each<UnknownReason>([
    'data-stale',
    'driver-not-connected',
    'wait',
    'connection',
    'access-denied',
    'unknown-ups',
    'error',
  ])('%s is a failed poll: never ONBATT or LOWBATT, and the status is kept', (reason) => {
    const last = run([
      [0, 'OL', []],
      [5_000, unknown(reason), ['COMMBAD']],
      [10_000, unknown(reason), []],
      [15_000, 'OL', ['COMMOK']],
      [20_000, 'OB LB', ['ONBATT', 'LOWBATT']],
      [25_000, unknown(reason), ['COMMBAD']],
      [30_000, 'OB LB', ['COMMOK']],
    ]);
    expect(last.state.status).toEqual(['OB', 'LB']);
  });

  it('treats an empty status and the WAIT placeholder as failed polls, as upsmon does', () => {
    run([
      [0, 'OL', []],
      [5_000, '', ['COMMBAD']],
      [10_000, 'WAIT', []],
      [15_000, 'OB', ['COMMOK', 'ONBATT']],
    ]);
  });

  it('no COMMOK at the first connect, even after failures', () => {
    run([
      [0, STALE, []],
      [5_000, unknown('connection'), []],
      [10_000, 'OL', []],
    ]);
  });
});

describe('the dead-UPS rule (DEADTIME)', () => {
  it('last seen OB, then silent for longer than deadTime: dead until the next good reading', () => {
    run([
      [0, 'OB', ['ONBATT'], false],
      [5_000, STALE, ['COMMBAD'], false],
      [15_000, STALE, [], false],
      [15_001, unknown('connection'), [], true],
      [40_000, STALE, [], true],
      [45_000, 'OB', ['COMMOK'], false],
    ]);
  });

  it('last seen OL, then silent for long: not dead', () => {
    run([
      [0, 'OL', [], false],
      [5_000, STALE, ['COMMBAD'], false],
      [60_000, STALE, [], false],
    ]);
  });

  it('never heard from: not dead; and deadTimeMs is configurable', () => {
    run([
      [0, STALE, [], false],
      [100_000, STALE, [], false],
    ]);
    run(
      [
        [0, 'OB', ['ONBATT'], false],
        [2_001, STALE, ['COMMBAD'], true],
      ],
      { deadTimeMs: 2_000 },
    );
  });
});

describe('latches and repeats', () => {
  it('FSD fires once per appearance while upsd keeps prefixing it', () => {
    run([
      [0, 'OL', []],
      [5_000, 'FSD OL', ['FSD']],
      [10_000, 'FSD OL', []],
      [15_000, STALE, ['COMMBAD']],
      [20_000, 'FSD OL', ['COMMOK']],
      [25_000, 'OL', []],
      [30_000, 'OL FSD', ['FSD']],
    ]);
  });

  it('NOCOMM after nocommWarnMs without a good reading, from the start if never connected, then repeated', () => {
    const options = { nocommWarnMs: 300_000 };
    run(
      [
        [1_000, STALE, []],
        [300_999, STALE, []],
        [301_000, STALE, ['NOCOMM']],
        [600_999, STALE, []],
        [601_000, STALE, ['NOCOMM']],
        [605_000, 'OL', []],
        [610_000, STALE, ['COMMBAD']],
        [904_999, STALE, []],
        [905_000, STALE, ['NOCOMM']],
        [1_205_000, STALE, ['NOCOMM']],
      ],
      options,
    );
  });

  it('REPLBATT while RB is present, at most once per rbWarnMs', () => {
    run(
      [
        [0, 'OL RB', ['REPLBATT']],
        [5_000, 'OL RB', []],
        [10_000, 'OL', []],
        [15_000, 'OL RB', []],
        [59_999, 'OL RB', []],
        [60_000, 'OL RB', ['REPLBATT']],
      ],
      { rbWarnMs: 60_000 },
    );
  });
});

describe('paired token events', () => {
  it.each<[string, NotifyEvent, NotifyEvent]>([
    ['CAL', 'CAL', 'NOTCAL'],
    ['OFF', 'OFF', 'NOTOFF'],
    ['BYPASS', 'BYPASS', 'NOTBYPASS'],
    ['OVER', 'OVER', 'NOTOVER'],
    ['TRIM', 'TRIM', 'NOTTRIM'],
    ['BOOST', 'BOOST', 'NOTBOOST'],
    ['ALARM', 'ALARM', 'NOTALARM'],
  ])('%s appears → %s, goes → %s, and nothing while it stays', (token, appears, disappears) => {
    run([
      [0, 'OL', []],
      [5_000, `OL ${token}`, [appears]],
      [10_000, `${token} OL`, []],
      [15_000, 'OL', [disappears]],
      [20_000, 'OL', []],
    ]);
  });
});

describe('the state', () => {
  it('survives JSON and is never mutated', () => {
    const first = run([[0, 'OB LB RB', ['ONBATT', 'LOWBATT', 'REPLBATT']]]);
    const copy: WatchState = JSON.parse(JSON.stringify(first.state));
    expect(copy).toEqual(first.state);
    run([[20_001, STALE, ['COMMBAD'], true]], {}, copy);
    expect(initialWatchState).toMatchObject({ startedAt: null, comm: 'never', status: null, dead: false });
    expect(Object.isFrozen(initialWatchState)).toBe(true);
  });
});
