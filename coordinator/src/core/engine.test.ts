/**
 * The engine as timelines (issue 4, "Pure engine"): every step feeds one input at an explicit time,
 * the fake clock ticks at each wake-at the engine asks for, and the effects are compared exactly.
 * Each scenario runs twice: with the state kept in memory (deep-frozen, so a mutation throws) and
 * with the state sent through JSON between decisions, as the database stores it.
 */
import { describe, expect, it } from 'vitest';
import { decide, type Effect, type EngineInput, type EngineState, initialEngineState } from './engine.js';
import { type Policy, type PolicyInput, parsePolicy } from './policy.js';
import {
  connected,
  createTimeline,
  deepFreeze,
  describeLog,
  disconnected,
  M,
  only,
  report,
  S,
  type Timed,
  type Timeline,
  t,
  throughJson,
  tick,
  ups,
  withoutWakes,
} from './test-timeline.js';

// ---------------------------------------------------------------------------------------------
// Effects, written short

const started = (run: number, reason: string, runKind: 'outage' | 'drill' = 'outage'): Effect => ({
  kind: 'run-started',
  run,
  runKind,
  reason,
});
const fired = (stage: string, reason: string, run = 1): Effect => ({
  kind: 'stage-fired',
  run,
  stage,
  reason,
});
const order = (stage: string, host: string, deadline: number, run = 1, drill = false): Effect => ({
  kind: 'order',
  run,
  stage,
  host,
  drill,
  deadline,
});
const down = (host: string, how: 'confirmed' | 'grace-expired' | 'drill' | 'offline', run = 1): Effect => ({
  kind: 'host-down',
  run,
  host,
  how,
});
const complete = (stage: string, run = 1): Effect => ({ kind: 'stage-complete', run, stage });
const cancelled = (stage: string, run = 1): Effect => ({
  kind: 'stage-cancelled',
  run,
  stage,
  reason: 'power restored',
});
const restoring = (run = 1): Effect => ({ kind: 'run-restoring', run, reason: 'power restored' });
const resumed = (reason: string, run = 1): Effect => ({ kind: 'run-resumed', run, reason });
const ended = (
  reason: 'restored' | 'interrupted' | 'drill-complete' | 'manual-complete',
  run = 1,
): Effect => ({
  kind: 'run-ended',
  run,
  reason,
});
const wake = (host: string, run = 1): Effect => ({ kind: 'wake', run, host });
const back = (host: string, run = 1): Effect => ({ kind: 'host-back', run, host });
const missing = (host: string, run = 1): Effect => ({ kind: 'host-missing', run, host });
const powerOff = (name: string, run = 1): Effect => ({ kind: 'ups-power-off', run, ups: name });
const waiting = (stage: string, waitingFor: string[], run = 1): Effect => ({
  kind: 'stage-waiting',
  run,
  stage,
  waitingFor,
});
const wakeAt = (at: number): Effect => ({ kind: 'wake-at', at });
/** Several effects produced at one moment. */
const at = (time: number, ...effects: Effect[]): Timed[] => effects.map((effect) => [time, effect]);

// ---------------------------------------------------------------------------------------------
// Policies and scenarios

type Doc = Omit<PolicyInput, 'ups' | 'hosts'> & Partial<Pick<PolicyInput, 'ups' | 'hosts'>>;

/**
 * One UPS (ups-a) feeding web1, db1 and storage unless the document says otherwise; every host
 * can be woken; deadAfter 1d unless set.
 */
function fleet(doc: Doc): Policy {
  const hosts = (doc.hosts ?? ['web1', 'db1', 'storage'].map((name) => ({ name, ups: ['ups-a'] }))).map(
    (host, i) => ({
      wake: { mac: `00:11:22:33:44:${String(i).padStart(2, '0')}`, via: 'nas', address: '192.168.1.255' },
      ...host,
    }),
  );
  // Watchers report every few seconds while on battery; these timelines leave out the repeats, so
  // the coordinator's own silence rule (deadAfter) is pushed out of the way unless a test sets it.
  const upses = (doc.ups ?? [{ name: 'ups-a', watcher: 'nas' }]).map((entry) => ({
    deadAfter: '1d',
    ...entry,
  }));
  return parsePolicy({ ...doc, ups: upses, hosts });
}

interface Step {
  readonly at: number;
  /** Without an input, the clock only runs to `at` (ticking at the wake-ups due). */
  readonly input?: EngineInput;
  /**
   * Every effect of the span since the previous step, wake-at left out: the clock ticks at each
   * wake-at, so a missing wake-up shows as an effect at the wrong time.
   */
  readonly expect: readonly Timed[];
}

function play(policy: Policy, steps: readonly Step[], persist: boolean): Timeline {
  const timeline = createTimeline(policy, { persist });
  steps.forEach((step, index) => {
    const effects = step.input === undefined ? timeline.advance(step.at) : timeline.feed(step.at, step.input);
    const actual = withoutWakes(effects);
    const label = `step ${index} at t+${(step.at - t(0)) / S}s (${step.input?.kind ?? 'clock'}), got:\n${describeLog(actual)}\n`;
    expect(actual, label).toEqual(step.expect);
  });
  return timeline;
}

/** A table-driven timeline, run with the state in memory and with the state through JSON. */
function scenario(
  name: string,
  policy: Policy,
  steps: readonly Step[],
  check?: (timeline: Timeline) => void,
): void {
  for (const persist of [false, true]) {
    it(persist ? `${name} (state through JSON between decisions)` : name, () => {
      const timeline = play(policy, steps, persist);
      check?.(timeline);
    });
  }
}

/** Readings from ups-a, alternately OB and OL every `every` seconds, from `from` to `to` (inclusive). */
function flapping(from: number, to: number, every: number, firstOnBattery: boolean): Step[] {
  const steps: Step[] = [];
  for (let s = from, battery = firstOnBattery; s <= to; s += every, battery = !battery) {
    steps.push({ at: t(s), input: ups('ups-a', battery ? 'OB DISCHRG' : 'OL CHRG', t(s)), expect: [] });
  }
  return steps;
}

/** Runs steps without checking their effects; returns the whole log. */
function run(policy: Policy, steps: readonly Step[], until: number, persist = false): Timeline {
  const timeline = createTimeline(policy, { persist });
  for (const step of steps) {
    if (step.input === undefined) timeline.advance(step.at);
    else timeline.feed(step.at, step.input);
  }
  timeline.advance(until);
  return timeline;
}

// ---------------------------------------------------------------------------------------------

describe('triggers: delays, thresholds, LB, FSD, a dead UPS', () => {
  const staged = fleet({
    stages: [
      { name: 'early', hosts: ['web1'], trigger: { onBattery: '0s' }, grace: '1m' },
      { name: 'middle', hosts: ['db1'], trigger: { onBattery: '30s' }, grace: '1m' },
      { name: 'late', hosts: ['storage'], trigger: { onBattery: '2m' }, grace: '1m' },
    ],
  });

  scenario('stages fire at their onBattery delays, counted from the first OB', staged, [
    { at: t(0), input: ups('ups-a', 'OL', t(0)), expect: [] },
    {
      at: t(10),
      input: ups('ups-a', 'OB DISCHRG', t(10)),
      expect: at(
        t(10),
        started(1, 'power lost: ups-a'),
        fired('early', 'ups-a: on battery 0s'),
        order('early', 'web1', t(70)),
      ),
    },
    // A repeated OB reading does not restart the count.
    { at: t(39), input: ups('ups-a', 'OB DISCHRG', t(39)), expect: [] },
    {
      at: t(40),
      expect: at(t(40), fired('middle', 'ups-a: on battery 30s'), order('middle', 'db1', t(100))),
    },
    {
      at: t(130),
      expect: [
        ...at(t(70), down('web1', 'grace-expired'), complete('early')),
        ...at(t(100), down('db1', 'grace-expired'), complete('middle')),
        ...at(t(130), fired('late', 'ups-a: on battery 120s'), order('late', 'storage', t(190))),
      ],
    },
  ]);

  scenario('the delay counts from when the reading was taken, not when it arrived', staged, [
    {
      at: t(20),
      input: ups('ups-a', 'OB', t(0)),
      expect: at(
        t(20),
        started(1, 'power lost: ups-a'),
        fired('early', 'ups-a: on battery 0s'),
        order('early', 'web1', t(80)),
      ),
    },
    {
      at: t(30),
      expect: at(t(30), fired('middle', 'ups-a: on battery 30s'), order('middle', 'db1', t(90))),
    },
  ]);

  scenario(
    'battery.charge below a percentage (only on battery, strictly below)',
    fleet({ stages: [{ name: 'low', hosts: ['db1'], trigger: { chargeBelow: 50 }, grace: '1m' }] }),
    [
      { at: t(0), input: ups('ups-a', 'OL CHRG', t(0), { charge: 30 }), expect: [] },
      {
        at: t(10),
        input: ups('ups-a', 'OB', t(10), { charge: 80 }),
        expect: at(t(10), started(1, 'power lost: ups-a')),
      },
      { at: t(20), input: ups('ups-a', 'OB', t(20), { charge: 50 }), expect: [] },
      {
        at: t(30),
        input: ups('ups-a', 'OB', t(30), { charge: 49 }),
        expect: at(t(30), fired('low', 'ups-a: charge 49% < 50%'), order('low', 'db1', t(90))),
      },
    ],
  );

  scenario(
    'battery.runtime below a duration',
    fleet({ stages: [{ name: 'low', hosts: ['db1'], trigger: { runtimeBelow: '5m' } }] }),
    [
      { at: t(0), input: ups('ups-a', 'OL', t(0), { runtime: 60 }), expect: [] },
      {
        at: t(10),
        input: ups('ups-a', 'OB', t(10), { runtime: 600 }),
        expect: at(t(10), started(1, 'power lost: ups-a')),
      },
      { at: t(20), input: ups('ups-a', 'OB', t(20), { runtime: 300 }), expect: [] },
      {
        at: t(30),
        input: ups('ups-a', 'OB', t(30), { runtime: 299 }),
        expect: at(t(30), fired('low', 'ups-a: runtime 299s < 300s'), order('low', 'db1', t(30) + 2 * M)),
      },
    ],
  );

  scenario(
    'low battery fires before the onBattery delay (whichever comes first)',
    fleet({
      stages: [
        { name: 'last', hosts: ['storage'], trigger: { onBattery: '10m', lowBattery: true }, grace: '1m' },
      ],
    }),
    [
      {
        at: t(0),
        input: ups('ups-a', 'OB', t(0)),
        expect: at(t(0), started(1, 'power lost: ups-a')),
      },
      {
        at: t(60),
        input: ups('ups-a', 'OB LB', t(60)),
        expect: at(t(60), fired('last', 'ups-a: low battery'), order('last', 'storage', t(120))),
      },
    ],
  );

  const forced = fleet({
    stages: [
      { name: 'now', hosts: ['web1'], trigger: { fsd: true }, grace: '1m' },
      { name: 'timed', hosts: ['db1'], trigger: { onBattery: '5m' }, grace: '1m' },
    ],
  });

  scenario('FSD on mains (FSD OL) starts a run and fires an fsd stage, not an onBattery one', forced, [
    { at: t(0), input: ups('ups-a', 'OL', t(0)), expect: [] },
    {
      at: t(10),
      input: ups('ups-a', 'FSD OL', t(10)),
      expect: at(
        t(10),
        started(1, 'power lost: ups-a'),
        fired('now', 'ups-a: FSD'),
        order('now', 'web1', t(70)),
      ),
    },
    // FSD cleared: power is back.
    {
      at: t(20),
      input: ups('ups-a', 'OL', t(20)),
      expect: at(t(20), cancelled('timed'), restoring()),
    },
  ]);

  scenario('FSD OB LB fires the fsd stage too', forced, [
    {
      at: t(0),
      input: ups('ups-a', 'FSD OB LB', t(0)),
      expect: at(
        t(0),
        started(1, 'power lost: ups-a'),
        fired('now', 'ups-a: FSD'),
        order('now', 'web1', t(60)),
      ),
    },
  ]);

  scenario(
    'a dead UPS (upsmon: silent past the dead time) fires a dead stage and counts as on battery',
    fleet({
      stages: [
        { name: 'gone', hosts: ['web1'], trigger: { dead: true }, grace: '1m' },
        { name: 'timed', hosts: ['db1'], trigger: { onBattery: '1m' }, grace: '1m' },
      ],
    }),
    [
      { at: t(0), input: ups('ups-a', 'OL', t(0)), expect: [] },
      {
        at: t(10),
        input: ups('ups-a', '', t(10), { dead: true }),
        expect: at(
          t(10),
          started(1, 'power lost: ups-a'),
          fired('gone', 'ups-a: dead UPS'),
          order('gone', 'web1', t(70)),
        ),
      },
      {
        at: t(70),
        expect: at(
          t(70),
          down('web1', 'grace-expired'),
          complete('gone'),
          fired('timed', 'ups-a: on battery 60s'),
          order('timed', 'db1', t(130)),
        ),
      },
    ],
  );
});

describe('unknown readings', () => {
  const policy = fleet({ stages: [{ name: 's', hosts: ['web1'], trigger: { onBattery: '30s' } }] });

  scenario('never start a run (no data, WAIT, OFF alone, stale)', policy, [
    { at: t(0), input: ups('ups-a', '', t(0)), expect: [] },
    { at: t(5), input: ups('ups-a', 'WAIT', t(5)), expect: [] },
    { at: t(10), input: ups('ups-a', 'OFF', t(10)), expect: [] },
    { at: t(15), input: ups('ups-a', 'OL', t(15)), expect: [] },
    { at: t(20), input: ups('ups-a', '', t(20)), expect: [] },
    { at: t(25), input: tick, expect: [] },
  ]);

  scenario('neither end an outage nor restart its onBattery count', policy, [
    {
      at: t(0),
      input: ups('ups-a', 'OB', t(0)),
      expect: at(t(0), started(1, 'power lost: ups-a')),
    },
    { at: t(10), input: ups('ups-a', '', t(10)), expect: [] },
    { at: t(20), input: ups('ups-a', 'OB', t(20)), expect: [] },
    {
      at: t(30),
      expect: at(t(30), fired('s', 'ups-a: on battery 30s'), order('s', 'web1', t(150))),
    },
  ]);

  scenario('OL OB together (a driver bug) reads as online', policy, [
    { at: t(0), input: ups('ups-a', 'OL OB DISCHRG', t(0)), expect: [] },
  ]);
});

describe('dual feeds (MINSUPPLIES)', () => {
  const dual = fleet({
    ups: [
      { name: 'ups-a', watcher: 'nas' },
      { name: 'ups-b', watcher: 'pi' },
    ],
    hosts: [
      { name: 'nas', ups: ['ups-a', 'ups-b'] },
      { name: 'san', ups: ['ups-a', 'ups-b'], minSupplies: 2 },
    ],
    stages: [
      { name: 's-nas', hosts: ['nas'], trigger: { onBattery: '0s' }, grace: '1m' },
      { name: 's-san', hosts: ['san'], trigger: { onBattery: '0s' }, grace: '1m' },
    ],
  });

  scenario('one UPS of two on battery: minSupplies 1 waits, minSupplies 2 is ordered; both: ordered', dual, [
    { at: t(0), input: ups('ups-a', 'OL', t(0)), expect: [] },
    { at: t(0), input: ups('ups-b', 'OL', t(0)), expect: [] },
    {
      at: t(10),
      input: ups('ups-a', 'OB', t(10)),
      expect: at(
        t(10),
        started(1, 'power lost: ups-a'),
        fired('s-san', 'ups-a: on battery 0s'),
        order('s-san', 'san', t(70)),
      ),
    },
    {
      at: t(20),
      input: ups('ups-b', 'OB', t(20)),
      expect: at(
        t(20),
        fired('s-nas', 'ups-a: on battery 0s; ups-b: on battery 0s'),
        order('s-nas', 'nas', t(80)),
      ),
    },
  ]);

  const nasOnly = fleet({
    ups: [
      { name: 'ups-a', watcher: 'nas' },
      { name: 'ups-b', watcher: 'pi' },
    ],
    hosts: [{ name: 'nas', ups: ['ups-a', 'ups-b'] }],
    stages: [{ name: 's-nas', hosts: ['nas'], trigger: { onBattery: '30s' }, grace: '1m' }],
  });

  scenario('one of two on battery for an hour orders nothing with minSupplies 1', nasOnly, [
    { at: t(0), input: ups('ups-b', 'OL', t(0)), expect: [] },
    {
      at: t(0),
      input: ups('ups-a', 'OB', t(0)),
      expect: at(t(0), started(1, 'power lost: ups-a')),
    },
    { at: t(3600), expect: [] },
  ]);

  scenario('both on battery: ordered when the second feed has also been on battery for the delay', nasOnly, [
    {
      at: t(0),
      input: ups('ups-a', 'OB', t(0)),
      expect: at(t(0), started(1, 'power lost: ups-a')),
    },
    { at: t(20), input: ups('ups-b', 'OB', t(20)), expect: [] },
    { at: t(30), expect: [] },
    {
      at: t(50),
      expect: at(
        t(50),
        fired('s-nas', 'ups-a: on battery 30s; ups-b: on battery 30s'),
        order('s-nas', 'nas', t(110)),
      ),
    },
  ]);
});

describe('hosts of one stage on different UPSes', () => {
  const split = fleet({
    ups: [
      { name: 'ups-a', watcher: 'nas' },
      { name: 'ups-b', watcher: 'pi' },
    ],
    hosts: [
      { name: 'web1', ups: ['ups-a'] },
      { name: 'lab1', ups: ['ups-b'] },
    ],
    stages: [{ name: 'early', hosts: ['web1', 'lab1'], trigger: { onBattery: '0s' }, grace: '1m' }],
  });

  scenario('a fired stage orders a host when its own UPS gets into trouble later', split, [
    { at: t(0), input: ups('ups-b', 'OL', t(0)), expect: [] },
    {
      at: t(10),
      input: ups('ups-a', 'OB', t(10)),
      expect: at(
        t(10),
        started(1, 'power lost: ups-a'),
        fired('early', 'ups-a: on battery 0s'),
        order('early', 'web1', t(70)),
      ),
    },
    {
      at: t(20),
      input: ups('ups-b', 'OB', t(20)),
      expect: at(t(20), order('early', 'lab1', t(80))),
    },
  ]);

  // Regression: a 'complete' stage used to be skipped for good, so lab1 was never ordered.
  scenario('…even after the hosts ordered first are already down (stage complete)', split, [
    { at: t(0), input: ups('ups-b', 'OL', t(0)), expect: [] },
    {
      at: t(10),
      input: ups('ups-a', 'OB', t(10)),
      expect: at(
        t(10),
        started(1, 'power lost: ups-a'),
        fired('early', 'ups-a: on battery 0s'),
        order('early', 'web1', t(70)),
      ),
    },
    { at: t(12), input: report('web1', 'started'), expect: [] },
    {
      at: t(13),
      input: disconnected('web1'),
      expect: at(t(13), down('web1', 'confirmed'), complete('early')),
    },
    {
      at: t(20),
      input: ups('ups-b', 'OB', t(20)),
      expect: at(t(20), order('early', 'lab1', t(80))),
    },
  ]);

  // Regression: a fired stage used to ask for no wake-up when a not-yet-endangered host's delay
  // ended, so lab1 was ordered at the next unrelated wake-up (web1's grace) instead of at t+40s.
  scenario(
    '…at the end of its own onBattery delay',
    fleet({
      ups: [
        { name: 'ups-a', watcher: 'nas' },
        { name: 'ups-b', watcher: 'pi' },
      ],
      hosts: [
        { name: 'web1', ups: ['ups-a'] },
        { name: 'lab1', ups: ['ups-b'] },
      ],
      stages: [{ name: 'early', hosts: ['web1', 'lab1'], trigger: { onBattery: '30s' } }],
    }),
    [
      {
        at: t(0),
        input: ups('ups-a', 'OB', t(0)),
        expect: at(t(0), started(1, 'power lost: ups-a')),
      },
      { at: t(10), input: ups('ups-b', 'OB', t(10)), expect: [] },
      {
        at: t(40),
        expect: [
          ...at(t(30), fired('early', 'ups-a: on battery 30s'), order('early', 'web1', t(150))),
          ...at(t(40), order('early', 'lab1', t(160))),
        ],
      },
    ],
  );
});

describe('dependencies wait for confirmation or grace', () => {
  const chain = fleet({
    stages: [
      { name: 'apps', hosts: ['web1'], trigger: { onBattery: '0s' }, grace: '1m' },
      { name: 'db', hosts: ['db1'], after: ['apps'], trigger: { onBattery: '0s' }, grace: '1m' },
    ],
  });
  const outage: Step[] = [
    { at: t(0), input: connected('web1'), expect: [] },
    { at: t(0), input: connected('db1'), expect: [] },
    {
      at: t(10),
      input: ups('ups-a', 'OB', t(10)),
      expect: at(
        t(10),
        started(1, 'power lost: ups-a'),
        fired('apps', 'ups-a: on battery 0s'),
        order('apps', 'web1', t(70)),
        waiting('db', ['apps']),
      ),
    },
  ];

  scenario(
    'B fires only once A’s host said it started and its connection closed (recorded: confirmed)',
    chain,
    [
      ...outage,
      { at: t(15), input: report('web1', 'accepted'), expect: [] },
      { at: t(20), input: report('web1', 'started'), expect: [] },
      {
        at: t(25),
        input: disconnected('web1'),
        expect: at(
          t(25),
          down('web1', 'confirmed'),
          complete('apps'),
          fired('db', 'ups-a: on battery 0s'),
          order('db', 'db1', t(85)),
        ),
      },
    ],
    ({ state }) => {
      expect(state.run?.hosts.web1).toEqual({
        stage: 'apps',
        orderedAt: t(10),
        status: 'down',
        graceUntil: t(70),
        downAt: t(25),
        downHow: 'confirmed',
      });
      expect(state.run?.stages.apps).toMatchObject({
        status: 'complete',
        firedAt: t(10),
        completedAt: t(25),
      });
    },
  );

  scenario(
    'a host that went down on its own counts as down: its stage completes, the next fires, and it is never ordered',
    fleet({
      stages: [
        { name: 'apps', hosts: ['web1'], trigger: { onBattery: '30s' }, grace: '1m' },
        { name: 'db', hosts: ['db1'], after: ['apps'], trigger: { onBattery: '30s' }, grace: '1m' },
      ],
    }),
    [
      { at: t(0), input: connected('web1'), expect: [] },
      { at: t(0), input: connected('db1'), expect: [] },
      { at: t(10), input: ups('ups-a', 'OB', t(10)), expect: at(t(10), started(1, 'power lost: ups-a')) },
      {
        at: t(20),
        input: { kind: 'host-down-offline', host: 'web1', stage: 'apps' },
        expect: at(t(20), down('web1', 'offline')),
      },
      {
        at: t(40),
        input: { kind: 'host-down-offline', host: 'web1', stage: 'apps' },
        expect: at(
          t(40),
          waiting('db', ['apps']),
          fired('apps', 'required by db'),
          complete('apps'),
          fired('db', 'ups-a: on battery 30s'),
          order('db', 'db1', t(100)),
        ),
      },
    ],
    ({ state }) => {
      expect(state.run?.hosts.web1).toMatchObject({ status: 'down', downHow: 'offline', downAt: t(20) });
    },
  );

  scenario(
    'B fires when A’s grace expires if A’s host never confirms (recorded: grace-expired)',
    chain,
    [
      ...outage,
      { at: t(15), input: report('web1', 'accepted'), expect: [] },
      {
        at: t(70),
        expect: at(
          t(70),
          down('web1', 'grace-expired'),
          complete('apps'),
          fired('db', 'ups-a: on battery 0s'),
          order('db', 'db1', t(130)),
        ),
      },
    ],
    ({ state }) => {
      expect(state.run?.hosts.web1).toMatchObject({
        status: 'down',
        downAt: t(70),
        downHow: 'grace-expired',
      });
    },
  );

  describe.each([
    ['started', true],
    ['succeeded', true],
    // A duplicate says nothing about how far the host got (it may still be in its hooks).
    ['duplicate', false],
    ['accepted', false],
    ['failed', false],
    ['rejected', false],
  ] as const)('a report of %s, then the connection closes', (what, confirms) => {
    scenario(confirms ? 'confirms the host down' : 'does not: only grace will', chain, [
      ...outage,
      { at: t(20), input: report('web1', what), expect: [] },
      {
        at: t(25),
        input: disconnected('web1'),
        expect: confirms
          ? at(
              t(25),
              down('web1', 'confirmed'),
              complete('apps'),
              fired('db', 'ups-a: on battery 0s'),
              order('db', 'db1', t(85)),
            )
          : at(t(25)),
      },
    ]);
  });

  scenario('a connection closed before the report arrives: the report confirms', chain, [
    ...outage,
    { at: t(20), input: disconnected('web1'), expect: [] },
    {
      at: t(21),
      input: report('web1', 'succeeded'),
      expect: at(
        t(21),
        down('web1', 'confirmed'),
        complete('apps'),
        fired('db', 'ups-a: on battery 0s'),
        order('db', 'db1', t(81)),
      ),
    },
  ]);

  scenario(
    'a later stage whose trigger holds pulls its pending prerequisites forward, transitively',
    fleet({
      stages: [
        { name: 'a', hosts: ['web1'], trigger: { onBattery: '10m' }, grace: '1m' },
        { name: 'b', hosts: ['db1'], after: ['a'], trigger: { onBattery: '20m' }, grace: '1m' },
        { name: 'c', hosts: ['storage'], after: ['b'], trigger: { lowBattery: true }, grace: '1m' },
      ],
    }),
    [
      {
        at: t(0),
        input: ups('ups-a', 'OB', t(0)),
        expect: at(t(0), started(1, 'power lost: ups-a')),
      },
      {
        at: t(60),
        input: ups('ups-a', 'OB LB', t(60)),
        expect: at(
          t(60),
          waiting('c', ['b', 'a']),
          fired('a', 'required by c'),
          order('a', 'web1', t(120)),
          waiting('b', ['a']),
        ),
      },
      {
        at: t(120),
        input: tick, // explicit: see the grace wake-up test
        expect: at(
          t(120),
          down('web1', 'grace-expired'),
          complete('a'),
          fired('b', 'required by c'),
          order('b', 'db1', t(180)),
        ),
      },
      {
        at: t(180),
        input: tick, // explicit: see the grace wake-up test
        expect: at(
          t(180),
          down('db1', 'grace-expired'),
          complete('b'),
          fired('c', 'ups-a: low battery'),
          order('c', 'storage', t(240)),
        ),
      },
    ],
    ({ state }) => {
      expect(state.run?.stages.a).toMatchObject({ forced: true, reason: 'required by c' });
      expect(state.run?.stages.c).toMatchObject({ forced: false, reason: 'ups-a: low battery' });
    },
  );

  // Regression: the 'stage-waiting' notification was declared but never emitted.
  it('a stage held back by its prerequisites says what it waits for', () => {
    const timeline = createTimeline(chain);
    const effects = timeline.feed(t(0), ups('ups-a', 'OB', t(0))).map(([, effect]) => effect);
    expect(effects).toContainEqual({ kind: 'stage-waiting', run: 1, stage: 'db', waitingFor: ['apps'] });
  });
});

describe('grace expiry', () => {
  scenario(
    'a host that accepted but never confirms counts as down when its grace expires, as the run records',
    fleet({ stages: [{ name: 's', hosts: ['web1', 'db1'], trigger: { onBattery: '0s' }, grace: '90s' }] }),
    [
      {
        at: t(0),
        input: ups('ups-a', 'OB', t(0)),
        expect: at(
          t(0),
          started(1, 'power lost: ups-a'),
          fired('s', 'ups-a: on battery 0s'),
          order('s', 'web1', t(90)),
          order('s', 'db1', t(90)),
        ),
      },
      { at: t(5), input: report('web1', 'accepted'), expect: [] },
      { at: t(6), input: report('db1', 'started'), expect: [] },
      { at: t(7), input: disconnected('db1'), expect: at(t(7), down('db1', 'confirmed')) },
      { at: t(90) - 1, input: tick, expect: [] },
      { at: t(90), expect: at(t(90), down('web1', 'grace-expired'), complete('s')) },
      // A late report changes nothing.
      { at: t(95), input: report('web1', 'succeeded'), expect: [] },
    ],
    ({ state }) => {
      expect(state.run?.hosts.web1).toMatchObject({
        status: 'down',
        downHow: 'grace-expired',
        downAt: t(90),
      });
      expect(state.run?.hosts.db1).toMatchObject({ status: 'down', downHow: 'confirmed', downAt: t(7) });
    },
  );
  // Regression: the decision that issues an order must ask to be woken at its grace deadline, or
  // with nothing else pending the grace would only expire at some unrelated later input.
  describe('the decision that issues an order asks to be woken at its deadline', () => {
    const single = fleet({
      stages: [{ name: 's', hosts: ['web1'], trigger: { onBattery: '0s' }, grace: '30s' }],
    });

    it('wake-at the deadline', () => {
      const decision = decide(single, initialEngineState, ups('ups-a', 'OB', t(0)), t(0));
      expect(decision.effects).toContainEqual(wakeAt(t(30)));
    });

    scenario('so the grace expires on time with no other input', single, [
      {
        at: t(0),
        input: ups('ups-a', 'OB', t(0)),
        expect: at(
          t(0),
          started(1, 'power lost: ups-a'),
          fired('s', 'ups-a: on battery 0s'),
          order('s', 'web1', t(30)),
        ),
      },
      { at: t(60), expect: at(t(30), down('web1', 'grace-expired'), complete('s')) },
    ]);
  });
});

describe("the coordinator's own dead rule (deadAfter: silence after OB)", () => {
  const policy = fleet({
    ups: [{ name: 'ups-a', watcher: 'nas', deadAfter: '60s' }],
    stages: [{ name: 'gone', hosts: ['web1'], trigger: { dead: true }, grace: '1m' }],
  });

  scenario('a UPS last seen on battery and then silent past deadAfter counts as dead', policy, [
    { at: t(0), input: ups('ups-a', 'OB', t(0)), expect: at(t(0), started(1, 'power lost: ups-a')) },
    { at: t(5), input: ups('ups-a', 'OB', t(5)), expect: [] },
    { at: t(10), input: ups('ups-a', 'OB', t(10)), expect: [] },
    // Stale readings are not news: they do not count as hearing from it.
    { at: t(40), input: ups('ups-a', '', t(40)), expect: [] },
    {
      at: t(100),
      expect: at(t(70) + 1, fired('gone', 'ups-a: dead UPS'), order('gone', 'web1', t(130) + 1)),
    },
  ]);

  for (const persist of [false, true]) {
    it(`a watcher reporting every 5 s keeps it alive${persist ? ' (through JSON)' : ''}`, () => {
      const steps: Step[] = [];
      for (let s = 0; s <= 600; s += 5) steps.push({ at: t(s), input: ups('ups-a', 'OB', t(s)), expect: [] });
      const timeline = run(policy, steps, t(600), persist);
      expect(only(timeline.log, 'stage-fired', 'order')).toEqual([]);
      expect(timeline.state.ups['ups-a']?.dead).toBe(false);
    });
  }

  scenario('nothing is dead on mains, however long the silence', policy, [
    { at: t(0), input: ups('ups-a', 'OL', t(0)), expect: [] },
    { at: t(86_400), input: tick, expect: [] },
  ]);
});

describe('power returning', () => {
  const staged = fleet({
    stages: [
      { name: 'early', hosts: ['web1'], trigger: { onBattery: '0s' }, grace: '1m' },
      { name: 'middle', hosts: ['db1'], trigger: { onBattery: '30s' }, grace: '1m' },
      { name: 'late', hosts: ['storage'], trigger: { onBattery: '2m' }, grace: '1m' },
    ],
    restore: { stableFor: '2m', wake: ['web1', 'db1', 'storage'], wakeTimeout: '1m' },
  });

  scenario(
    'before a stage: every stage cancelled, the run restoring, then restored with nobody to wake',
    fleet({
      stages: [
        { name: 'middle', hosts: ['db1'], trigger: { onBattery: '30s' } },
        { name: 'late', hosts: ['storage'], trigger: { onBattery: '2m' } },
      ],
    }),
    [
      {
        at: t(0),
        input: ups('ups-a', 'OB', t(0)),
        expect: at(t(0), started(1, 'power lost: ups-a')),
      },
      {
        at: t(20),
        input: ups('ups-a', 'OL', t(20)),
        expect: at(t(20), cancelled('middle'), cancelled('late'), restoring()),
      },
      { at: t(139), input: tick, expect: [] },
      { at: t(140), expect: at(t(140), ended('restored')) },
    ],
    ({ state }) => {
      expect(state.run).toBeUndefined();
      expect(state.nextRunNumber).toBe(2);
    },
  );

  scenario(
    'mid-run: pending stages cancelled, hosts already down stay down, ordered ones keep their grace',
    staged,
    [
      {
        at: t(0),
        input: ups('ups-a', 'OB', t(0)),
        expect: at(
          t(0),
          started(1, 'power lost: ups-a'),
          fired('early', 'ups-a: on battery 0s'),
          order('early', 'web1', t(60)),
        ),
      },
      { at: t(5), input: report('web1', 'started'), expect: [] },
      {
        at: t(6),
        input: disconnected('web1'),
        expect: at(t(6), down('web1', 'confirmed'), complete('early')),
      },
      {
        at: t(30),
        expect: at(t(30), fired('middle', 'ups-a: on battery 30s'), order('middle', 'db1', t(90))),
      },
      {
        at: t(40),
        input: ups('ups-a', 'OL', t(40)),
        expect: at(t(40), cancelled('late'), restoring()),
      },
      // The stage that had fired completes: the record stays true while restoring.
      { at: t(90), expect: at(t(90), down('db1', 'grace-expired'), complete('middle')) },
      { at: t(160), expect: at(t(160), wake('web1')) },
      { at: t(170), input: connected('web1'), expect: at(t(170), back('web1'), wake('db1')) },
      { at: t(230), expect: at(t(230), missing('db1'), ended('restored')) },
    ],
    (timeline) => {
      expect(only(timeline.log, 'order').map(([, e]) => (e.kind === 'order' ? e.host : ''))).toEqual([
        'web1',
        'db1',
      ]);
    },
  );

  it('mid-run: the run as stored at the moment power came back', () => {
    const timeline = createTimeline(staged);
    timeline.feed(t(0), ups('ups-a', 'OB', t(0)));
    timeline.feed(t(5), report('web1', 'started'));
    timeline.feed(t(6), disconnected('web1'));
    timeline.feed(t(40), ups('ups-a', 'OL', t(40)));
    expect(throughJson(timeline.state).run).toMatchObject({
      phase: 'restoring',
      restore: { since: t(40), woken: {} },
      stages: {
        early: { status: 'complete' },
        middle: { status: 'fired' },
        late: { status: 'cancelled', reason: 'power restored' },
      },
      hosts: {
        web1: { status: 'down', downHow: 'confirmed', downAt: t(6) },
        db1: { status: 'ordered', graceUntil: t(90) },
      },
    });
  });
});

describe('flapping power (OB/OL every 5 s)', () => {
  const policy = fleet({
    stages: [
      { name: 'now', hosts: ['web1'], trigger: { lowBattery: true }, grace: '30s' },
      { name: 'later', hosts: ['db1'], trigger: { onBattery: '30s' }, grace: '30s' },
    ],
    restore: { stableFor: '2m', wake: ['web1', 'db1'], wakeTimeout: '1m' },
  });

  for (const persist of [false, true]) {
    it(`for five minutes never accumulates to a 30 s onBattery stage${persist ? ' (through JSON)' : ''}`, () => {
      // OB at 0, 10, …, 290; OL at 5, 15, …, 295; then mains stays.
      const timeline = run(policy, flapping(0, 295, 5, true), t(600), persist);
      expect(only(timeline.log, 'stage-fired', 'order', 'wake', 'ups-power-off')).toEqual([]);
      expect(only(timeline.log, 'run-started')).toEqual(at(t(0), started(1, 'power lost: ups-a')));
      expect(only(timeline.log, 'run-restoring')).toHaveLength(30);
      expect(only(timeline.log, 'run-resumed')).toHaveLength(29);
      // Stable from the last OL at 295 s: restored 2 minutes later, not before.
      expect(only(timeline.log, 'run-ended')).toEqual(at(t(415), ended('restored')));
    });
  }

  it('(control: without the flapping, the same stage fires at 30 s)', () => {
    const timeline = run(policy, [{ at: t(0), input: ups('ups-a', 'OB', t(0)), expect: [] }], t(60));
    expect(only(timeline.log, 'stage-fired')).toEqual(at(t(30), fired('later', 'ups-a: on battery 30s')));
  });

  for (const persist of [false, true]) {
    it(`with a host already down: no wake until mains has been stable for 2m${persist ? ' (through JSON)' : ''}`, () => {
      const steps: Step[] = [
        { at: t(0), input: ups('ups-a', 'OB LB', t(0)), expect: [] },
        { at: t(1), input: report('web1', 'started'), expect: [] },
        { at: t(2), input: disconnected('web1'), expect: [] },
        ...flapping(5, 295, 5, false),
      ];
      const timeline = run(policy, steps, t(600), persist);
      expect(only(timeline.log, 'order')).toEqual(at(t(0), order('now', 'web1', t(30))));
      expect(only(timeline.log, 'host-down')).toEqual(at(t(2), down('web1', 'confirmed')));
      expect(only(timeline.log, 'run-started', 'run-ended')).toEqual([
        ...at(t(0), started(1, 'power lost: ups-a')),
        ...at(t(475), ended('restored')),
      ]);
      expect(only(timeline.log, 'wake', 'host-missing')).toEqual([
        ...at(t(415), wake('web1')),
        ...at(t(475), missing('web1')),
      ]);
    });
  }
});

describe('a second outage during restore', () => {
  const policy = fleet({
    stages: [
      { name: 'now', hosts: ['web1'], trigger: { onBattery: '0s' }, grace: '1m' },
      { name: 'later', hosts: ['db1'], trigger: { onBattery: '30s' }, grace: '1m' },
    ],
    restore: { stableFor: '2m', wake: ['web1', 'db1'], wakeTimeout: '1m' },
  });
  const firstOutage: Step[] = [
    {
      at: t(0),
      input: ups('ups-a', 'OB', t(0)),
      expect: at(
        t(0),
        started(1, 'power lost: ups-a'),
        fired('now', 'ups-a: on battery 0s'),
        order('now', 'web1', t(60)),
      ),
    },
    { at: t(1), input: report('web1', 'started'), expect: [] },
    {
      at: t(2),
      input: disconnected('web1'),
      expect: at(t(2), down('web1', 'confirmed'), complete('now')),
    },
    {
      at: t(20),
      input: ups('ups-a', 'OL', t(20)),
      expect: at(t(20), cancelled('later'), restoring()),
    },
  ];

  scenario(
    'before any wake: the same run resumes, its cancelled stages pending again',
    policy,
    [
      ...firstOutage,
      {
        at: t(60),
        input: ups('ups-a', 'OB', t(60)),
        expect: at(t(60), resumed('power lost again: ups-a')),
      },
      {
        at: t(90),
        expect: at(t(90), fired('later', 'ups-a: on battery 30s'), order('later', 'db1', t(150))),
      },
    ],
    ({ state }) => {
      expect(state.run).toMatchObject({ number: 1, phase: 'active' });
      expect(state.run?.restore).toBeUndefined();
      expect(state.run?.hosts.web1).toMatchObject({ status: 'down', downHow: 'confirmed' });
    },
  );

  scenario(
    'after a wake: the run ends interrupted and a new run starts from scratch',
    policy,
    [
      ...firstOutage,
      { at: t(140), expect: at(t(140), wake('web1')) },
      {
        at: t(150),
        input: ups('ups-a', 'OB', t(150)),
        expect: at(
          t(150),
          ended('interrupted'),
          started(2, 'power lost again during restore: ups-a'),
          fired('now', 'ups-a: on battery 0s', 2),
          order('now', 'web1', t(210), 2),
        ),
      },
      // The woken host's agent coming back now is just a connection in run 2.
      { at: t(160), input: connected('web1'), expect: [] },
    ],
    ({ state }) => {
      expect(state.run).toMatchObject({ number: 2, phase: 'active', startedAt: t(150) });
      expect(state.nextRunNumber).toBe(3);
    },
  );
});

describe('restore', () => {
  scenario(
    'wakes the down hosts in restore.wake order, one at a time, recording back and missing',
    fleet({
      hosts: [
        { name: 'web1', tags: ['web'], ups: ['ups-a'] },
        { name: 'db1', ups: ['ups-a'] },
        { name: 'storage', ups: ['ups-a'] },
        { name: 'spare', ups: ['ups-a'] },
      ],
      stages: [
        { name: 'all', hosts: ['web1', 'db1', 'storage'], trigger: { onBattery: '0s' }, grace: '30s' },
      ],
      restore: { stableFor: '1m', wake: ['db1', 'tag:web', 'spare', 'storage'], wakeTimeout: '1m' },
    }),
    [
      {
        at: t(0),
        input: ups('ups-a', 'OB', t(0)),
        expect: at(
          t(0),
          started(1, 'power lost: ups-a'),
          fired('all', 'ups-a: on battery 0s'),
          order('all', 'web1', t(30)),
          order('all', 'db1', t(30)),
          order('all', 'storage', t(30)),
        ),
      },
      {
        at: t(30),
        input: tick, // explicit: see 'the decision that issues an order asks to be woken at its deadline'
        expect: at(
          t(30),
          down('web1', 'grace-expired'),
          down('db1', 'grace-expired'),
          down('storage', 'grace-expired'),
          complete('all'),
        ),
      },
      { at: t(40), input: ups('ups-a', 'OL', t(40)), expect: at(t(40), restoring()) },
      { at: t(100), expect: at(t(100), wake('db1')) },
      // A host that is not being woken connecting does not count.
      { at: t(105), input: connected('spare'), expect: [] },
      { at: t(110), input: connected('db1'), expect: at(t(110), back('db1'), wake('web1')) },
      { at: t(170), expect: at(t(170), missing('web1'), wake('storage')) },
      { at: t(200), input: connected('storage'), expect: at(t(200), back('storage'), ended('restored')) },
    ],
  );

  scenario(
    'a charge below minCharge holds the wake back, however long mains has been stable',
    fleet({
      stages: [{ name: 'now', hosts: ['web1'], trigger: { onBattery: '0s' }, grace: '30s' }],
      restore: { stableFor: '1m', minCharge: 80, wake: ['web1'], wakeTimeout: '1m' },
    }),
    [
      {
        at: t(0),
        input: ups('ups-a', 'OB', t(0), { charge: 90 }),
        expect: at(
          t(0),
          started(1, 'power lost: ups-a'),
          fired('now', 'ups-a: on battery 0s'),
          order('now', 'web1', t(30)),
        ),
      },
      { at: t(30), input: tick, expect: at(t(30), down('web1', 'grace-expired'), complete('now')) },
      { at: t(40), input: ups('ups-a', 'OL CHRG', t(40), { charge: 40 }), expect: at(t(40), restoring()) },
      { at: t(200), input: ups('ups-a', 'OL CHRG', t(200), { charge: 79 }), expect: [] },
      { at: t(201), input: tick, expect: [] },
      {
        at: t(300),
        input: ups('ups-a', 'OL', t(300), { charge: 80 }),
        expect: at(t(300), wake('web1')),
      },
    ],
  );
});

describe('UPS power-off after the last stage', () => {
  const policy = fleet({
    ups: [
      { name: 'ups-a', watcher: 'nas', powerOff: 'shutdown.return' },
      { name: 'ups-b', watcher: 'pi', powerOff: 'shutdown.return' },
    ],
    hosts: [
      { name: 'web1', ups: ['ups-a'] },
      { name: 'db1', ups: ['ups-a'] },
      { name: 'lab1', ups: ['ups-b'] },
    ],
    stages: [
      { name: 'first', hosts: ['web1'], trigger: { onBattery: '0s' }, grace: '30s' },
      { name: 'last', hosts: ['db1'], trigger: { onBattery: '1m' }, grace: '30s' },
      { name: 'labs', hosts: ['lab1'], trigger: { onBattery: '0s' }, grace: '30s' },
    ],
  });
  const untilLastFires: Step[] = [
    { at: t(0), input: ups('ups-a', 'OL', t(0)), expect: [] },
    { at: t(0), input: ups('ups-b', 'OL', t(0)), expect: [] },
    {
      at: t(10),
      input: ups('ups-a', 'OB', t(10)),
      expect: at(
        t(10),
        started(1, 'power lost: ups-a'),
        fired('first', 'ups-a: on battery 0s'),
        order('first', 'web1', t(40)),
      ),
    },
    { at: t(15), input: report('web1', 'started'), expect: [] },
    {
      at: t(16),
      input: disconnected('web1'),
      expect: at(t(16), down('web1', 'confirmed'), complete('first')),
    },
    {
      at: t(70),
      expect: at(t(70), fired('last', 'ups-a: on battery 60s'), order('last', 'db1', t(100))),
    },
  ];

  scenario('once every host the UPS feeds is down, once, and only for the UPS in trouble', policy, [
    ...untilLastFires,
    { at: t(80), input: report('db1', 'started'), expect: [] },
    {
      at: t(81),
      input: disconnected('db1'),
      expect: at(t(81), down('db1', 'confirmed'), complete('last'), powerOff('ups-a')),
    },
    { at: t(90), input: ups('ups-a', 'OB LB', t(90)), expect: [] },
    { at: t(95), input: tick, expect: [] },
  ]);

  scenario('not when power is back before the last host is down', policy, [
    ...untilLastFires,
    {
      at: t(75),
      input: ups('ups-a', 'OL', t(75)),
      expect: at(t(75), cancelled('labs'), restoring()),
    },
    { at: t(100), expect: at(t(100), down('db1', 'grace-expired'), complete('last')) },
    { at: t(195), expect: at(t(195), ended('restored')) },
  ]);
});

describe('UPS power-off with a dual-fed host', () => {
  // The engine powers a UPS off once the hosts that *need* it are down: nas, fed by ups-b too
  // (minSupplies 1), is not endangered and stays up. (The brief says "every host a UPS feeds".)
  scenario(
    'a host kept up by its other feed does not hold the power-off back',
    fleet({
      ups: [
        { name: 'ups-a', watcher: 'nas', powerOff: 'shutdown.return' },
        { name: 'ups-b', watcher: 'pi' },
      ],
      hosts: [
        { name: 'web1', ups: ['ups-a'] },
        { name: 'nas', ups: ['ups-a', 'ups-b'] },
      ],
      stages: [{ name: 's', hosts: ['web1', 'nas'], trigger: { onBattery: '0s' }, grace: '30s' }],
    }),
    [
      { at: t(0), input: ups('ups-b', 'OL', t(0)), expect: [] },
      {
        at: t(10),
        input: ups('ups-a', 'OB', t(10)),
        expect: at(
          t(10),
          started(1, 'power lost: ups-a'),
          fired('s', 'ups-a: on battery 0s'),
          order('s', 'web1', t(40)),
        ),
      },
      { at: t(11), input: report('web1', 'succeeded'), expect: [] },
      {
        at: t(12),
        input: disconnected('web1'),
        expect: at(t(12), down('web1', 'confirmed'), complete('s'), powerOff('ups-a')),
      },
    ],
  );
});

describe('drill', () => {
  const policy = fleet({
    ups: [
      { name: 'ups-a', watcher: 'nas', powerOff: 'shutdown.return' },
      { name: 'ups-b', watcher: 'pi' },
    ],
    hosts: [
      { name: 'web1', ups: ['ups-a'] },
      { name: 'db1', ups: ['ups-a'] },
      { name: 'lab1', ups: ['ups-b'] },
    ],
    stages: [
      { name: 'apps', hosts: ['web1'], trigger: { onBattery: '0s' }, grace: '1m' },
      { name: 'db', hosts: ['db1'], after: ['apps'], trigger: { chargeBelow: 30 }, grace: '1m' },
      { name: 'labs', hosts: ['lab1'], trigger: { onBattery: '5m' }, grace: '1m' },
    ],
    restore: { wake: ['web1', 'db1', 'lab1'] },
  });
  const drillStarts: Step = {
    at: t(0),
    input: { kind: 'start-drill' },
    expect: at(
      t(0),
      started(1, 'drill requested', 'drill'),
      fired('apps', 'drill'),
      order('apps', 'web1', t(60), 1, true),
      waiting('db', ['apps']),
      fired('labs', 'drill'),
      order('labs', 'lab1', t(60), 1, true),
    ),
  };

  scenario('fires every stage in dependency order with drill orders, and ends drill-complete', policy, [
    drillStarts,
    { at: t(5), input: report('web1', 'accepted'), expect: [] },
    {
      at: t(6),
      input: report('web1', 'drill'),
      expect: at(
        t(6),
        down('web1', 'drill'),
        complete('apps'),
        fired('db', 'drill'),
        order('db', 'db1', t(66), 1, true),
      ),
    },
    {
      at: t(7),
      input: report('lab1', 'drill'),
      expect: at(t(7), down('lab1', 'drill'), complete('labs')),
    },
    {
      at: t(8),
      input: report('db1', 'drill'),
      expect: at(t(8), down('db1', 'drill'), complete('db'), ended('drill-complete')),
    },
    // Nothing left running: no wake, no power-off, and the next run has the next number.
    { at: t(600), input: tick, expect: [] },
    {
      at: t(601),
      input: ups('ups-a', 'OB', t(601)),
      expect: at(
        t(601),
        started(2, 'power lost: ups-a'),
        fired('apps', 'ups-a: on battery 0s', 2),
        order('apps', 'web1', t(661), 2),
      ),
    },
  ]);

  scenario('a host that never answers the drill counts by its grace; the drill still completes', policy, [
    drillStarts,
    {
      at: t(6),
      input: report('web1', 'drill'),
      expect: [
        ...at(
          t(6),
          down('web1', 'drill'),
          complete('apps'),
          fired('db', 'drill'),
          order('db', 'db1', t(66), 1, true),
        ),
      ],
    },
    {
      at: t(7),
      input: report('db1', 'drill'),
      expect: at(t(7), down('db1', 'drill'), complete('db')),
    },
    {
      at: t(60),
      expect: at(t(60), down('lab1', 'grace-expired'), complete('labs'), ended('drill-complete')),
    },
  ]);

  scenario('real trouble during a drill ends it interrupted and starts an outage run', policy, [
    drillStarts,
    {
      at: t(10),
      input: ups('ups-a', 'OB', t(10)),
      expect: at(
        t(10),
        ended('interrupted'),
        started(2, 'power lost: ups-a'),
        fired('apps', 'ups-a: on battery 0s', 2),
        order('apps', 'web1', t(70), 2),
      ),
    },
  ]);

  scenario('a drill is not started over an active run, and a manual stage does not enter a drill', policy, [
    drillStarts,
    { at: t(1), input: { kind: 'start-drill' }, expect: [] },
    { at: t(2), input: { kind: 'manual', stage: 'db' }, expect: [] },
  ]);
});

describe('manual stages', () => {
  const policy = fleet({
    stages: [
      { name: 'timed', hosts: ['web1'], trigger: { onBattery: '10m' }, grace: '1m' },
      { name: 'maint', hosts: ['db1'], trigger: { manual: true }, grace: '1m' },
    ],
  });

  scenario('a manual-only trigger never fires by itself', policy, [
    {
      at: t(0),
      input: ups('ups-a', 'OB LB', t(0)),
      expect: at(t(0), started(1, 'power lost: ups-a')),
    },
    {
      at: t(600),
      expect: at(t(600), fired('timed', 'ups-a: on battery 600s'), order('timed', 'web1', t(660))),
    },
    { at: t(601), input: report('web1', 'started'), expect: [] },
    {
      at: t(602),
      input: disconnected('web1'),
      expect: at(t(602), down('web1', 'confirmed'), complete('timed')),
    },
    { at: t(3600), expect: [] },
  ]);

  scenario('an admin fires it during an outage: ordered at once', policy, [
    {
      at: t(0),
      input: ups('ups-a', 'OB', t(0)),
      expect: at(t(0), started(1, 'power lost: ups-a')),
    },
    {
      at: t(10),
      input: { kind: 'manual', stage: 'maint' },
      expect: at(t(10), fired('maint', 'manual'), order('maint', 'db1', t(70))),
    },
  ]);

  // Regression: a manual stage during an outage must not keep the run from restoring.
  scenario('power back after a manual stage during an outage: restoring as usual', policy, [
    {
      at: t(0),
      input: ups('ups-a', 'OB', t(0)),
      expect: at(t(0), started(1, 'power lost: ups-a')),
    },
    {
      at: t(10),
      input: { kind: 'manual', stage: 'maint' },
      expect: at(t(10), fired('maint', 'manual'), order('maint', 'db1', t(70))),
    },
    {
      at: t(20),
      input: ups('ups-a', 'OL', t(20)),
      expect: at(t(20), cancelled('timed'), restoring()),
    },
  ]);

  // Regression: on mains no host is threatened, yet an admin's manual stage orders its hosts.
  scenario('an admin fires it on mains: a run starts and the stage’s hosts are ordered', policy, [
    { at: t(0), input: ups('ups-a', 'OL', t(0)), expect: [] },
    {
      at: t(10),
      input: { kind: 'manual', stage: 'maint' },
      expect: at(t(10), started(1, 'manual: maint'), fired('maint', 'manual'), order('maint', 'db1', t(70))),
    },
  ]);
});

describe('UPSes the policy does not know', () => {
  // A UPS removed from the policy while on battery keeps its last view in the state: only the
  // policy's UPSes count, or the run would never see power back.
  it('a UPS removed from the policy while on battery no longer holds the run', () => {
    const withX = fleet({
      ups: [
        { name: 'ups-a', watcher: 'nas' },
        { name: 'ups-x', watcher: 'pi' },
      ],
      stages: [{ name: 's', hosts: ['web1'], trigger: { onBattery: '10m' } }],
    });
    const withoutX = fleet({ stages: [{ name: 's', hosts: ['web1'], trigger: { onBattery: '10m' } }] });
    let state = decide(withX, initialEngineState, ups('ups-x', 'OB', t(0)), t(0)).state;
    state = decide(withX, state, ups('ups-a', 'OB', t(1)), t(1)).state;
    const decision = decide(withoutX, state, ups('ups-a', 'OL', t(20)), t(20));
    expect(decision.effects.filter((effect) => effect.kind !== 'wake-at')).toEqual([
      cancelled('s'),
      restoring(),
    ]);
  });
});

describe('purity and persistence', () => {
  const policy = fleet({
    ups: [
      { name: 'ups-a', watcher: 'nas', powerOff: 'shutdown.return' },
      { name: 'ups-b', watcher: 'pi' },
    ],
    hosts: [
      { name: 'web1', ups: ['ups-a'] },
      { name: 'db1', ups: ['ups-a', 'ups-b'], minSupplies: 2 },
    ],
    stages: [
      { name: 'apps', hosts: ['web1'], trigger: { onBattery: '0s' }, grace: '1m' },
      { name: 'db', hosts: ['db1'], after: ['apps'], trigger: { onBattery: '30s' }, grace: '1m' },
    ],
    restore: { stableFor: '1m', wake: ['web1', 'db1'], wakeTimeout: '1m' },
  });
  const timeline: readonly (readonly [number, EngineInput])[] = [
    [t(0), ups('ups-b', 'OL', t(0), { charge: 100 })],
    [t(0), connected('web1')],
    [t(1), ups('ups-a', 'OB', t(1), { charge: 95, runtime: 900 })],
    [t(2), report('web1', 'accepted')],
    [t(3), report('web1', 'started')],
    [t(4), disconnected('web1')],
    [t(31), tick],
    [t(40), ups('ups-a', '', t(40))],
    [t(100), tick],
    [t(101), ups('ups-a', 'OL', t(101), { charge: 60 })],
    [t(161), tick],
    [t(170), connected('web1')],
    [t(231), tick],
  ];

  it('never mutates the state or input it is given (both deep-frozen), at any point of a run', () => {
    let state: EngineState = initialEngineState;
    for (const [now, input] of timeline) {
      const before = JSON.stringify(state);
      const frozen = deepFreeze(structuredClone(state));
      const decision = decide(policy, frozen, deepFreeze(structuredClone(input)), now);
      expect(JSON.stringify(frozen)).toBe(before);
      expect(decision.state).not.toBe(frozen);
      state = decision.state;
    }
    expect(state.run).toBeUndefined();
    expect(state.nextRunNumber).toBe(2);
  });

  it('a state stored as JSON and read back between every decision gives the same effects and state', () => {
    let inMemory: EngineState = initialEngineState;
    let stored = JSON.stringify(initialEngineState);
    const memoryEffects: Effect[][] = [];
    const storedEffects: Effect[][] = [];
    for (const [now, input] of timeline) {
      const a = decide(policy, inMemory, input, now);
      const b = decide(policy, JSON.parse(stored) as EngineState, input, now);
      memoryEffects.push([...a.effects]);
      storedEffects.push([...b.effects]);
      inMemory = a.state;
      stored = JSON.stringify(b.state);
      expect(JSON.parse(stored)).toEqual(throughJson(inMemory));
    }
    expect(storedEffects).toEqual(memoryEffects);
    expect(memoryEffects.flat().flatMap((e) => (e.kind === 'wake-at' ? [] : [e.kind]))).toEqual([
      'run-started',
      'stage-fired',
      'order',
      'host-down',
      'stage-complete',
      'stage-fired',
      'order',
      'host-down',
      'stage-complete',
      'ups-power-off',
      'run-restoring',
      'wake',
      'host-back',
      'wake',
      'host-missing',
      'run-ended',
    ]);
  });

  it('a run resumes from a stored state with a fresh engine: deadlines kept, nothing ordered twice', () => {
    const first = createTimeline(policy);
    first.feed(t(1), ups('ups-a', 'OB', t(1)));
    first.feed(t(1.5), ups('ups-b', 'OL', t(1.5)));
    const stored = JSON.stringify(first.state);
    // A restarted coordinator: connections are gone, the timer is re-armed by a tick.
    const restarted = createTimeline(policy, {
      state: JSON.parse(stored) as EngineState,
    });
    expect(withoutWakes(restarted.feed(t(20), tick))).toEqual([]);
    expect(restarted.wakeAt).toBe(t(31));
    expect(withoutWakes(restarted.advance(t(61)))).toEqual([
      ...at(t(31), waiting('db', ['apps'])),
      ...at(
        t(61),
        down('web1', 'grace-expired'),
        complete('apps'),
        fired('db', 'ups-a: on battery 30s'),
        order('db', 'db1', t(121)),
      ),
    ]);
    expect(only(restarted.log, 'order')).toHaveLength(1);
  });
});

describe('a stage pulled forward by a later one', () => {
  it('orders only the hosts endangered at that moment; one whose UPS fails later waits for its own trigger', () => {
    const policy = fleet({
      ups: [
        { name: 'ups-a', watcher: 'nas' },
        { name: 'ups-b', watcher: 'pi' },
      ],
      hosts: [
        { name: 'web1', ups: ['ups-a'] },
        { name: 'web2', ups: ['ups-b'] },
        { name: 'db1', ups: ['ups-a'] },
      ],
      stages: [
        { name: 'apps', hosts: ['web1', 'web2'], trigger: { onBattery: '5m' } },
        { name: 'db', hosts: ['db1'], after: ['apps'], trigger: { onBattery: '30s' } },
      ],
    });
    let state = decide(policy, initialEngineState, ups('ups-a', 'OB', t(0)), t(0)).state;
    const pulled = decide(policy, state, tick, t(31));
    state = pulled.state;
    expect(pulled.effects).toContainEqual(
      expect.objectContaining({ kind: 'order', stage: 'apps', host: 'web1' }),
    );
    // Ten minutes later ups-b blips onto battery: web2's own trigger (5 min on battery) does not hold.
    const blip = decide(policy, state, ups('ups-b', 'OB', t(600)), t(600));
    expect(blip.effects).not.toContainEqual(expect.objectContaining({ kind: 'order', host: 'web2' }));
    // (db fires here as it should: web1's grace expired, so apps is complete.)
    expect(blip.effects).toContainEqual(expect.objectContaining({ kind: 'order', stage: 'db', host: 'db1' }));
  });
});

describe('after a coordinator restart', () => {
  it('no stage fires until the settle hold passes; fresh readings in the meantime decide', () => {
    const policy = fleet({ stages: [{ name: 's', hosts: ['web1'], trigger: { onBattery: '5m' } }] });
    // On battery since t0 when the coordinator went down; it restarts at t+400 with a hold of 15 s.
    const before = decide(policy, initialEngineState, ups('ups-a', 'OB', t(0)), t(0)).state;
    const restarted: EngineState = { ...before, holdUntil: t(415) };
    const replayed = decide(policy, restarted, ups('ups-a', 'OB', t(400)), t(400));
    expect(replayed.effects.filter((e) => e.kind === 'order' || e.kind === 'stage-fired')).toEqual([]);
    expect(replayed.effects).toContainEqual({ kind: 'wake-at', at: t(415) });
    // Power had come back while the coordinator was down: the queued OL reading arrives in time.
    const back = decide(policy, replayed.state, ups('ups-a', 'OL', t(403)), t(403));
    expect(back.effects).toContainEqual(expect.objectContaining({ kind: 'run-restoring' }));
    expect(back.effects.filter((e) => e.kind === 'order')).toEqual([]);
    // Had it still been on battery, the stage fires once the hold is over.
    const still = decide(policy, replayed.state, tick, t(415));
    expect(still.effects).toContainEqual(expect.objectContaining({ kind: 'order', host: 'web1' }));
  });
});
