/**
 * Figure 2, fan-out: N simulated agents (swarm processes, each verifying its order's signature)
 * connected to ONE coordinator; a signed on-battery event from a simulated watcher fires a
 * zero-delay stage holding all of them. Measured: event sent → last agent holding its verified
 * order, the coordinator's CPU for it, and its RSS and CPU while it holds the connections.
 *
 * The simulated agents verify but do not acknowledge their orders in the timed trials: each
 * acknowledgement is one more decision in the coordinator's serial queue, which would hold up the
 * end of the run and so the next trial for minutes. What acknowledgements cost is measured apart,
 * in one last trial where they do acknowledge.
 */
import { availableParallelism } from 'node:os';
import type { BenchContext } from './context.js';
import { type BenchCoordinator, startCoordinator, tempDir } from './coordinator.js';
import { DATABASE_LABEL, type DatabaseKind, prepareDatabase } from './databases.js';
import { raiseFdLimit } from './fd-limit.js';
import { hostNames, reading, WATCHER, zeroDelayPolicy } from './fleet-policy.js';
import { figureLabel } from './options.js';
import { postgresMissingReason } from './postgres.js';
import { cpuPercentOver, cpuSeconds, rssMiB, wallNow } from './proc.js';
import { type Scope, withScope } from './scope.js';
import { seedFleet } from './seed.js';
import { summarize } from './stats.js';
import { connectSimWatcher, type SimWatcher } from './swarm/sim-watcher.js';
import { type Swarm, startSwarm } from './swarm/swarm.js';
import type { Row } from './table.js';
import { within } from './within.js';

const FIGURE = figureLabel('fan-out');

interface Setup {
  readonly coordinator: BenchCoordinator;
  readonly watcher: SimWatcher;
  readonly swarm: Swarm;
}

/** Power back, then the coordinator's "run N ended": the next trial starts a fresh run. */
async function endRun(setup: Setup, from: number): Promise<void> {
  await setup.watcher.send(reading('OL'));
  await within(
    setup.coordinator.proc.waitForLine(/run \d+ ended/, 'the run to end', from),
    600_000,
    'the run ending',
  );
}

/** Waits until `pattern` was printed `count` times since `from`, or `timeoutMs` passed; returns the matching lines. */
async function linesMatching(setup: Setup, pattern: RegExp, from: number, count: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = setup.coordinator.proc.lines.slice(from).filter((line) => pattern.test(line));
    if (found.length >= count || Date.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function trial(setup: Setup, timeoutMs: number, ack: boolean) {
  const { coordinator, watcher, swarm } = setup;
  await swarm.arm({ ack });
  const from = coordinator.proc.mark();
  const cpuBefore = cpuSeconds(coordinator.pid);
  const sentAt = wallNow();
  await watcher.send(reading('OB'));
  const orders = await swarm.orders(timeoutMs);
  return { orders, sentAt, from, cpu: cpuSeconds(coordinator.pid) - cpuBefore, rss: rssMiB(coordinator.pid) };
}

async function setUp(context: BenchContext, scope: Scope, agents: number, kind: DatabaseKind, label: string) {
  const dir = await tempDir(scope, `fanout-${agents}`);
  const database = await prepareDatabase(context, scope, dir, kind);
  const hosts = hostNames(agents);
  const seedStart = wallNow();
  const fleet = await seedFleet(database.target, [WATCHER, ...hosts], zeroDelayPolicy(hosts));
  context.log(`${label}: seeded the database in ${((wallNow() - seedStart) / 1000).toFixed(1)} s`);
  const coordinator = await startCoordinator(scope, `coordinator-fanout-${agents}`, database.coordinator);
  await raiseFdLimit(coordinator.pid, agents + 1_024);
  const [watcherCredentials, ...hostCredentials] = fleet.agents;
  if (watcherCredentials === undefined) throw new Error('no watcher seeded');
  const watcher = await connectSimWatcher(coordinator.url, watcherCredentials);
  scope.defer('simulated watcher', () => watcher.close());
  await watcher.send(reading('OL', true));
  const budgetMs = context.options.quick ? 60_000 : 90_000;
  const connectStart = wallNow();
  const swarm = await startSwarm(scope, {
    url: coordinator.url,
    fleet,
    agents: hostCredentials,
    processes: Math.max(1, Math.min(2, availableParallelism() - 1)),
    dir,
    budgetMs,
  });
  const connectSeconds = (wallNow() - connectStart) / 1000;
  context.log(
    `${label}: ${swarm.connected} connected in ${connectSeconds.toFixed(1)} s` +
      (swarm.failed > 0 ? `, ${swarm.failed} failed (${swarm.error})` : ''),
  );
  const reached =
    swarm.connected >= agents
      ? ''
      : `reached ${swarm.connected.toLocaleString('en')} of ${agents.toLocaleString('en')}: ${
          swarm.failed > 0
            ? `${swarm.failed} refused (${swarm.error})`
            : `connecting stopped after the ${budgetMs / 1000} s budget (each hello is a serial, stored decision in the coordinator)`
        }; `;
  return { setup: { coordinator, watcher, swarm }, connectSeconds, reached };
}

async function fanOut(
  context: BenchContext,
  scope: Scope,
  agents: number,
  kind: DatabaseKind,
  measureAcks: boolean,
): Promise<Row[]> {
  const { quick } = context.options;
  const label = `${agents.toLocaleString('en')} agents, ${DATABASE_LABEL[kind]}`;
  const { setup, connectSeconds, reached } = await setUp(context, scope, agents, kind, label);
  const { coordinator, swarm } = setup;
  const holdingRss = rssMiB(coordinator.pid);
  const idleWindow = quick ? 1_000 : 10_000;
  const idleCpu = await cpuPercentOver(coordinator.pid, idleWindow);

  // The largest fleets get one trial: each costs minutes.
  const trials = context.options.trials ?? (quick || agents > 2_000 ? 1 : 3);
  const timeoutMs = 60_000 + swarm.connected * 30;
  const latencies: number[] = [];
  const arrivals: number[] = [];
  const cpus: number[] = [];
  let peakRss = holdingRss;
  let incomplete = '';
  for (let i = 0; i < trials; i++) {
    const result = await trial(setup, timeoutMs, false);
    if (!result.orders.complete) {
      incomplete = `trial ${i + 1}: only ${result.orders.count} of ${swarm.connected} held an order within ${timeoutMs / 1000} s; `;
    }
    latencies.push(result.orders.lastVerified - result.sentAt);
    arrivals.push(result.orders.lastArrived - result.sentAt);
    cpus.push(result.cpu);
    peakRss = Math.max(peakRss, result.rss);
    context.log(
      `${label}: trial ${i + 1}/${trials}: last verified order after ${(result.orders.lastVerified - result.sentAt).toFixed(0)} ms`,
    );
    if (i < trials - 1 || measureAcks) await endRun(setup, result.from);
  }
  const allConnected = swarm.connected >= agents;
  const rows: Row[] = [
    {
      figure: FIGURE,
      measurement: `${label}: connected (from the first connection attempt to the last welcome)`,
      value: allConnected
        ? connectSeconds
        : `${swarm.connected.toLocaleString('en')} of ${agents.toLocaleString('en')} within ${connectSeconds.toFixed(0)} s`,
      unit: 's',
      note: 'simulated agents in two swarm processes, each authenticating with its own key as the agent does',
      key: `connect-${agents}-${kind}`,
    },
    {
      figure: FIGURE,
      measurement: `${label}: on-battery event sent → last agent holds its verified order`,
      value: summarize(latencies),
      unit: 'ms',
      key: `fan-out-${agents}-${kind}`,
      note:
        `${reached}${incomplete}last order frame arrived after ${summarize(arrivals)?.median.toFixed(0)} ms (median); ` +
        'agents seeded into the database, not enrolled through the API; SPEC bar: 10,000 in < 1 s',
    },
    {
      figure: FIGURE,
      measurement: `${label}: coordinator CPU per fan-out`,
      value: summarize(cpus),
      unit: 'CPU s',
      note: 'user+system time from the event to the last verified order',
    },
    {
      figure: FIGURE,
      measurement: `${label}: coordinator RSS holding the connections`,
      value: holdingRss,
      unit: 'MiB',
      note: `${peakRss.toFixed(0)} MiB after the fan-out; ${swarm.connected.toLocaleString('en')} connected in ${connectSeconds.toFixed(1)} s`,
    },
    {
      figure: FIGURE,
      measurement: `${label}: coordinator CPU while idle, holding them`,
      value: idleCpu,
      unit: '% of a core',
      note: `over ${idleWindow / 1000} s (heartbeat ping every 15 s)`,
    },
  ];
  if (measureAcks) {
    // One more fan-out, acknowledged as real agents do: how fast the run's record keeps up.
    const result = await trial(setup, timeoutMs, true);
    // Every acknowledgement, up to a minute: the run's record is complete when the last is stored.
    const acks = await linesMatching(setup, /ack accepted/, result.from, result.orders.count, 60_000);
    const first = Date.parse(acks[0]?.slice(0, 24) ?? '');
    const last = Date.parse(acks.at(-1)?.slice(0, 24) ?? '');
    // Acks logged within the same millisecond would make the rate infinite: count at least 1 ms.
    const rate = acks.length > 1 ? (acks.length - 1) / (Math.max(1, last - first) / 1000) : Number.NaN;
    const complete = last - result.orders.lastVerified;
    context.log(
      `${label}: with acknowledgements, last verified order after ${(result.orders.lastVerified - result.sentAt).toFixed(0)} ms; ` +
        `${acks.length} acknowledgements recorded at ${rate.toFixed(0)}/s`,
    );
    rows.push({
      figure: FIGURE,
      measurement: `${label}: acknowledgements recorded per second, after a fan-out`,
      value: rate,
      unit: 'acks/s',
      note:
        `${acks.length.toLocaleString('en')} of ${result.orders.count.toLocaleString('en')} acks stored, the last ` +
        `${(complete / 1000).toFixed(1)} s after the last agent held its order (first to last ack logged)`,
      key: `acks-${agents}-${kind}`,
    });
  }
  // A graceful stop would first work through the queue left behind (acks, grace expiries): minutes
  // at this size, and of no interest. Its database is thrown away with the temp dir.
  await coordinator.proc.stop('SIGKILL');
  return rows;
}

/**
 * Every size on the coordinator's default, embedded database, and the largest also on PostgreSQL
 * (`--database pglite` or `postgres` for one of them only). Acknowledgements are measured on the
 * first size of each database.
 */
export async function runFanOut(context: BenchContext): Promise<Row[]> {
  const { agents, database } = context.options;
  const largest = Math.max(...agents);
  const plan: [number, DatabaseKind][] = [];
  if (database !== 'postgres') for (const size of agents) plan.push([size, 'pglite']);
  if (database !== 'pglite') {
    const missing = await postgresMissingReason();
    if (missing !== undefined) {
      if (database === 'postgres') throw new Error(missing);
      context.log(`fan-out on PostgreSQL skipped: ${missing}`);
    } else plan.push([largest, 'postgres']);
  }
  const rows: Row[] = [];
  const measured = new Set<DatabaseKind>();
  // One coordinator at a time: each is gone before the next fleet connects.
  for (const [size, kind] of plan) {
    const acks = !measured.has(kind);
    measured.add(kind);
    rows.push(...(await withScope((scope) => fanOut(context, scope, size, kind, acks))));
  }
  return rows;
}
