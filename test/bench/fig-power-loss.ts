/**
 * Figure 1, power loss → order: from `ups.status` changing at a real upsd (dummy-ups) to the host
 * agent `web1` holding a verified order for a zero-delay stage and to its (timestamp-writing)
 * shutdown command running, with 1,000 simulated hosts connected in the same stage (the SPEC's
 * bar). Beside it, in the same trial against the same upsd, a real upsmon secondary with NUT's
 * defaults: on the FSD path (FSD raised as a primary upsmon raises it) and on the OB LB path.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WatchedProcess } from '../helpers/processes.js';
import { startUpsd, type UpsdHarness, upsdMissingReason } from '../helpers/upsd.js';
import type { BenchContext } from './context.js';
import { type BenchCoordinator, startCoordinator, startEnrolledAgent, tempDir } from './coordinator.js';
import { hostNames, UPS, WATCHER, zeroDelayPolicy } from './fleet-policy.js';
import { raiseFsd } from './nut-wire.js';
import { figureLabel } from './options.js';
import { type Scope, withScope } from './scope.js';
import { seedFleet } from './seed.js';
import { summarize } from './stats.js';
import { type Swarm, startSwarm } from './swarm/swarm.js';
import { type Row, ratioOf } from './table.js';
import { watchUpsd } from './upsd-watch.js';
import {
  describeTimers,
  NUT_DEFAULT_TIMERS,
  startUpsmon,
  type Upsmon,
  type UpsmonTimers,
  upsmonMissingReason,
} from './upsmon.js';
import { within } from './within.js';

const FIGURE = figureLabel('power-loss');
const HOST = 'web1';
/** The watcher's pollInterval: the agent's default. */
const POLL_INTERVAL = '1s';
/** --quick: shortened upsmon timers, so that one trial takes seconds, not half a minute. */
/** The longest wait for any one step of a trial. */
const WAIT_MS = 120_000;
const QUICK_TIMERS: UpsmonTimers = {
  pollFreq: 1,
  pollFreqAlert: 1,
  hostSync: 3,
  deadTime: 15,
  finalDelay: 1,
};

/**
 * upsmon at upsfleet's own settings: POLLFREQ 1 (as pollInterval 1s), FINALDELAY 0 (the stage has no
 * delay). HOSTSYNC stays NUT's default: a secondary still waits that long for the primary's FSD on
 * the OB LB path, and a shorter one would be a setting NUT's documentation warns against.
 */
export const EQUAL_TIMERS: UpsmonTimers = {
  ...NUT_DEFAULT_TIMERS,
  pollFreq: 1,
  pollFreqAlert: 1,
  finalDelay: 0,
};

/** The upsmon secondaries of each trial: NUT's defaults (or --quick's) and upsfleet's settings. */
type Peer = 'defaults' | 'equal';

type Path = 'FSD' | 'OB LB';

interface Fleet {
  readonly upsd: UpsdHarness;
  readonly coordinator: BenchCoordinator;
  readonly host: WatchedProcess;
  readonly record: string;
  readonly swarm: Swarm;
  readonly dir: string;
}

interface Trial {
  readonly path: Path;
  /** ms from the status change at upsd. */
  readonly stored: number;
  readonly order: number;
  readonly command: number;
  readonly lastSimulated: number | undefined;
  readonly upsmon: Partial<Record<Peer, number>>;
}

/** Milliseconds since the epoch from the ISO time an agent log line starts with. */
function loggedAt(line: string): number {
  const at = Date.parse(line.slice(0, line.indexOf(' ')));
  if (Number.isNaN(at)) throw new Error(`no timestamp in "${line}"`);
  return at;
}

async function lastRecorded(record: string): Promise<number> {
  const lines = (await readFile(record, 'utf8')).trim().split('\n');
  const last = lines.at(-1)?.trim() ?? '';
  if (!/^\d+$/.test(last)) throw new Error(`no timestamp in ${record}`);
  return Number(BigInt(last) / 1000n) / 1000;
}

async function setUp(context: BenchContext, scope: Scope, simulated: number): Promise<Fleet> {
  const dir = await tempDir(scope, 'power-loss');
  const upsd = await startUpsd();
  scope.defer('upsd', () => upsd.stop());
  const dataDir = await context.embeddedDataDir(dir, 'data');
  const sims = hostNames(simulated);
  const fleet = await seedFleet({ kind: 'pglite', dataDir }, sims, zeroDelayPolicy([HOST, ...sims]));
  const coordinator = await startCoordinator(scope, 'coordinator-power-loss', { dataDir });
  await startEnrolledAgent(scope, coordinator, dir, WATCHER, [
    'ups:',
    `  - id: ${UPS}`,
    `    upsd: 127.0.0.1:${upsd.port}`,
    `    name: ${upsd.ups}`,
    '    username: monsec',
    '    password: secpass',
    `    pollInterval: ${POLL_INTERVAL}`,
  ]);
  const record = join(dir, 'web1-shutdowns.log');
  const host = await startEnrolledAgent(scope, coordinator, dir, HOST, [
    'host:',
    `  shutdown: ${JSON.stringify(['/bin/sh', '-c', `date +%s%N >> ${record}`])}`,
  ]);
  await within(
    coordinator.proc.waitForLine(new RegExp(`UPS event ups=${UPS} status=OL`), 'the first reading'),
    WAIT_MS,
    "the watcher's first reading",
  );
  const swarm = await startSwarm(scope, {
    url: coordinator.url,
    fleet,
    agents: fleet.agents,
    processes: 1,
    dir,
  });
  if (swarm.connected < simulated)
    throw new Error(`only ${swarm.connected} of ${simulated} simulated hosts connected: ${swarm.error}`);
  context.log(`power-loss: upsd, coordinator, watcher, ${HOST} and ${swarm.connected} simulated hosts up`);
  return { upsd, coordinator, host, record, swarm, dir };
}

async function trial(
  context: BenchContext,
  fleet: Fleet,
  path: Path,
  index: number,
  peers: Partial<Record<Peer, UpsmonTimers>>,
): Promise<Trial> {
  const { upsd, coordinator, host, swarm } = fleet;
  return withScope(async (scope) => {
    const upsmons: [Peer, Upsmon][] = [];
    for (const [peer, timers] of Object.entries(peers) as [Peer, UpsmonTimers][]) {
      const dir = join(fleet.dir, `upsmon-${index}-${peer}`);
      const upsmon = await startUpsmon(dir, { port: upsd.port, ups: upsd.ups }, timers);
      scope.defer(`upsmon ${peer}`, () => upsmon.stop());
      upsmons.push([peer, upsmon]);
    }
    const watch = await watchUpsd(upsd.port, upsd.ups);
    scope.defer('upsd watch', () => watch.stop());
    // A random phase against every poll loop involved (upsmon's, the watcher's).
    const longestPoll = Math.max(1, ...Object.values(peers).map((timers) => timers.pollFreq));
    await new Promise((resolve) => setTimeout(resolve, Math.random() * longestPoll * 1_000));
    await swarm.arm();
    const hostFrom = host.mark();
    const runFrom = coordinator.proc.mark();
    const changed = watch.change((status) =>
      path === 'FSD' ? status.startsWith('FSD') : status.includes('LB'),
    );
    if (path === 'FSD')
      await raiseFsd('127.0.0.1', upsd.port, upsd.ups, { username: 'admin', password: 'adminpass' });
    else await upsd.setStatus('OB LB', { 'battery.charge': '10', 'battery.runtime': '120' });
    const { at } = await changed;
    const accepted = await within(
      host.waitForLine(/order \S+ accepted/, `${HOST} accepting the order`, hostFrom),
      WAIT_MS,
      `${HOST} accepting its order`,
    );
    await within(
      host.waitForLine(/shutdown command/, `${HOST} running its shutdown command`, hostFrom),
      WAIT_MS,
      `${HOST} running its shutdown command`,
    );
    const command = await lastRecorded(fleet.record);
    // Logged once the watcher's event is stored, before the engine decides: the watcher's share.
    const stored = await coordinator.proc.waitForLine(
      new RegExp(`UPS event ups=${UPS} status="${path}`),
      'the event stored',
      runFrom,
    );
    const orders = await swarm.orders(WAIT_MS);
    const upsmonAt: Partial<Record<Peer, number>> = {};
    for (const [peer, upsmon] of upsmons) {
      // It runs SHUTDOWNCMD once, then exits by itself.
      await within(upsmon.exited, WAIT_MS, `upsmon (${peer}) shutting down`);
      const at = await upsmon.shutdownAt();
      if (at !== undefined) upsmonAt[peer] = at;
    }
    await watch.stop();
    // Back to normal for the next trial: upsd keeps FSD latched until it restarts.
    if (path === 'FSD') await upsd.restartUpsd();
    else await upsd.setStatus('OL', { 'battery.charge': '100', 'battery.runtime': '3600' });
    await within(
      coordinator.proc.waitForLine(/run \d+ ended/, 'the run to end', runFrom),
      WAIT_MS,
      'the run ending',
    );
    const result: Trial = {
      path,
      stored: loggedAt(stored) - at,
      order: loggedAt(accepted) - at,
      command: command - at,
      lastSimulated: orders.complete ? orders.lastVerified - at : undefined,
      upsmon: Object.fromEntries(Object.entries(upsmonAt).map(([peer, when]) => [peer, when - at])),
    };
    context.log(
      `power-loss ${path} trial ${index}: event stored ${result.stored.toFixed(0)} ms, order ${result.order.toFixed(0)} ms, command ${result.command.toFixed(0)} ms, ` +
        `last simulated ${result.lastSimulated?.toFixed(0) ?? 'incomplete'} ms, upsmon ` +
        `${result.upsmon.defaults?.toFixed(0) ?? '—'} ms (defaults), ${result.upsmon.equal?.toFixed(0) ?? '—'} ms (POLLFREQ 1, FINALDELAY 0)`,
    );
    return result;
  });
}

export async function runPowerLoss(context: BenchContext): Promise<Row[]> {
  const missing = upsdMissingReason();
  if (missing !== undefined) throw new Error(`needs a real upsd: ${missing}`);
  const { quick } = context.options;
  const peerMissing = upsmonMissingReason();
  const timers = quick ? QUICK_TIMERS : NUT_DEFAULT_TIMERS;
  const simulated = quick ? 50 : 1_000;
  const plan: Path[] = quick ? ['FSD', 'OB LB'] : ['FSD', 'OB LB', 'FSD', 'OB LB', 'FSD'];
  const peers: Partial<Record<Peer, UpsmonTimers>> =
    peerMissing === undefined ? { defaults: timers, equal: EQUAL_TIMERS } : {};
  const trials = await withScope(async (scope) => {
    const fleet = await setUp(context, scope, simulated);
    const results: Trial[] = [];
    for (const [index, path] of plan.entries())
      results.push(await trial(context, fleet, path, index + 1, peers));
    return results;
  });

  const of = (path: Path | 'any', pick: (t: Trial) => number | undefined) =>
    summarize(
      trials
        .filter((t) => path === 'any' || t.path === path)
        .map(pick)
        .filter((v): v is number => v !== undefined),
    );
  const peerNote =
    peerMissing ??
    `upsmon secondary, ${describeTimers(timers)}${quick ? ' (--quick: NOT NUT defaults)' : ''}`;
  const rows: Row[] = [
    {
      figure: FIGURE,
      measurement: `status change at upsd → the watcher's signed event stored by the coordinator (pollInterval ${POLL_INTERVAL})`,
      value: of('any', (t) => t.stored),
      unit: 'ms',
      note: "the watcher's share: its poll, signing, the WebSocket, verification and storage",
    },
    {
      figure: FIGURE,
      measurement: `status change at upsd → ${HOST} holds its verified order (watcher pollInterval ${POLL_INTERVAL})`,
      value: of('any', (t) => t.order),
      unit: 'ms',
      note: `${simulated.toLocaleString('en')} simulated hosts (seeded into the database; they verify, they do not acknowledge) in the same zero-delay stage; SPEC bar: median ≤ poll interval + 50 ms`,
    },
    {
      figure: FIGURE,
      measurement: `status change at upsd → last of ${simulated.toLocaleString('en')} simulated hosts holds its verified order`,
      value: of('any', (t) => t.lastSimulated),
      unit: 'ms',
      note: 'the SPEC bar counts every host of the stage',
      key: `power-loss-last-${simulated}`,
    },
  ];
  for (const peer of ['defaults', 'equal'] as const) {
    for (const path of ['FSD', 'OB LB'] as const) {
      const ours = of(path, (t) => t.command);
      const theirs = peerMissing === undefined ? of(path, (t) => t.upsmon[peer]) : `n/a: ${peerMissing}`;
      const ratio = ratioOf(ours, theirs);
      const settings =
        peer === 'equal'
          ? `same settings: upsmon ${describeTimers(EQUAL_TIMERS)} beside pollInterval ${POLL_INTERVAL}, a zero-delay stage`
          : peerNote;
      rows.push({
        figure: FIGURE,
        measurement:
          `${path === 'FSD' ? 'FSD raised at upsd' : 'OL → OB LB at upsd'} → shutdown command ran` +
          (peer === 'equal' ? ', same settings as upsmon' : ''),
        value: ours,
        unit: 'ms',
        peer: theirs,
        ...(ratio === undefined ? {} : { ratio }),
        note:
          path === 'FSD'
            ? `FSD set with upsd's FSD command, as a primary upsmon does; ${settings}`
            : settings,
        ...(peer === 'equal' ? { key: `equal-settings-${path}` } : {}),
      });
    }
  }
  return rows;
}
