/**
 * Figure 3, event intake: signed watcher events verified and stored per second, on the embedded
 * database and on PostgreSQL. Events go the way the watcher sends them (agent/src/watcher/
 * delivery.ts): over the agent WebSocket, one in flight per watcher, the next sent when the
 * coordinator's event-ack arrives. One watcher shows what a single UPS's watcher gets; several show
 * the coordinator's capacity. Events are signed beforehand, so only the coordinator's work is timed.
 */
import type { BenchContext } from './context.js';
import { startCoordinator, tempDir } from './coordinator.js';
import { DATABASE_LABEL, type DatabaseKind, prepareDatabase } from './databases.js';
import { figureLabel } from './options.js';
import { postgresMissingReason } from './postgres.js';
import { wallNow } from './proc.js';
import { type Scope, withScope } from './scope.js';
import { seedFleet } from './seed.js';
import { summarize } from './stats.js';
import { connectSimWatcher, type SignedEvent, type SimWatcher } from './swarm/sim-watcher.js';
import type { Row } from './table.js';

const FIGURE = figureLabel('intake');
const WATCHERS = [1, 8, 100] as const;

/** A periodic snapshot on mains: stored and fed to the engine, as every event is. */
const snapshot = (ups: string, i: number) => ({
  ups,
  observedAt: Date.now(),
  status: ['OL'],
  events: [],
  vars: { 'battery.charge': String(100 - (i % 3)), 'battery.runtime': '3600', 'ups.load': '20' },
});

async function oneTrial(watchers: readonly SimWatcher[], perWatcher: number): Promise<number> {
  const signed: SignedEvent[][] = await Promise.all(
    watchers.map(async (watcher, w) => {
      const events: SignedEvent[] = [];
      for (let i = 0; i < perWatcher; i++) events.push(await watcher.sign(snapshot(`ups-${w + 1}`, i)));
      return events;
    }),
  );
  const start = wallNow();
  await Promise.all(
    watchers.map(async (watcher, w) => {
      for (const event of signed[w] ?? []) await watcher.deliver(event);
    }),
  );
  return (watchers.length * perWatcher) / ((wallNow() - start) / 1000);
}

async function intake(context: BenchContext, scope: Scope, kind: DatabaseKind): Promise<Row[]> {
  const dir = await tempDir(scope, `intake-${kind}`);
  const most = Math.max(...WATCHERS);
  const names = Array.from({ length: most }, (_, i) => `watcher-${i + 1}`);
  const policy = {
    ups: names.map((watcher, i) => ({ name: `ups-${i + 1}`, watcher })),
    hosts: [],
    stages: [],
  };
  const database = await prepareDatabase(context, scope, dir, kind);
  const fleet = await seedFleet(database.target, names, policy);
  // At its default log level: one "UPS event" line per event is part of what it costs.
  const coordinator = await startCoordinator(scope, `coordinator-intake-${kind}`, database.coordinator);
  const watchers: SimWatcher[] = [];
  for (const credentials of fleet.agents) {
    const watcher = await connectSimWatcher(coordinator.url, credentials);
    scope.defer(`watcher ${credentials.name}`, () => watcher.close());
    watchers.push(watcher);
  }
  const { quick } = context.options;
  const trials = context.options.trials ?? (quick ? 1 : 3);
  // Enough events for a trial of a second or more at the goal's rate, at least a few per watcher.
  const totalFor = (count: number) => (quick ? Math.max(40, count) : Math.max(400, count * 20));
  // Warm-up: the first events of each watcher pay for key import and JIT.
  await oneTrial(watchers, 5);
  const rows: Row[] = [];
  // --quick leaves out the middle size: the smoke run only has to show the figure still works.
  for (const count of quick ? [WATCHERS[0], WATCHERS[2]] : WATCHERS) {
    const rates: number[] = [];
    for (let trial = 0; trial < trials; trial++)
      rates.push(await oneTrial(watchers.slice(0, count), Math.ceil(totalFor(count) / count)));
    context.log(`intake ${kind}, ${count} watcher(s): ${rates.map((r) => r.toFixed(0)).join(', ')} events/s`);
    rows.push({
      figure: FIGURE,
      measurement: `${DATABASE_LABEL[kind]}: signed events verified and stored, ${count} watcher${count === 1 ? '' : 's'} over WebSocket`,
      value: summarize(rates),
      unit: 'events/s',
      note: `${Math.ceil(totalFor(count) / count) * count} events per trial, one in flight per watcher (as the agent sends them)`,
      key: `intake-${count}-${kind}`,
    });
  }
  return rows;
}

export async function runEventIntake(context: BenchContext): Promise<Row[]> {
  const rows = await withScope((scope) => intake(context, scope, 'pglite'));
  const missing = await postgresMissingReason();
  if (missing !== undefined) {
    context.log(`intake on PostgreSQL skipped: ${missing}`);
    return [
      ...rows,
      {
        figure: FIGURE,
        measurement: 'PostgreSQL: signed events verified and stored',
        value: `skipped: ${missing}`,
        unit: '',
      },
    ];
  }
  return [...rows, ...(await withScope((scope) => intake(context, scope, 'postgres')))];
}
