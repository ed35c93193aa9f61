/**
 * Figure 5, the coordinator's start: spawn → "listening" (database open and migrated, signing key
 * loaded, HTTP and WebSocket up; /readyz answers from then on) and its RSS at that moment, on the
 * embedded database and on PostgreSQL. A first start creates the database (PGlite: initdb in a new
 * data dir; PostgreSQL: migrations on an empty database); a restart opens it again. Started as
 * `npm start` starts it: bin/upsfleet.ts through tsx.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchContext } from './context.js';
import { type CoordinatorDatabase, startCoordinator, tempDir } from './coordinator.js';
import { DATABASE_LABEL, type DatabaseKind } from './databases.js';
import { figureLabel } from './options.js';
import { createBenchDatabase, postgresMissingReason } from './postgres.js';
import { cpuSeconds, rssMiB, wallNow } from './proc.js';
import { type Scope, withScope } from './scope.js';
import { summarize } from './stats.js';
import type { Row } from './table.js';

const FIGURE = figureLabel('coordinator');

interface Start {
  readonly ms: number;
  readonly rss: number;
  /** CPU the coordinator used to get there: less sensitive to a loaded machine than `ms`. */
  readonly cpu: number;
}

/** Starts a coordinator on `database`, measures, and stops it again. */
async function timedStart(name: string, database: CoordinatorDatabase): Promise<Start> {
  return withScope(async (scope) => {
    const spawnedAt = wallNow();
    const coordinator = await startCoordinator(scope, name, database);
    const line = await coordinator.proc.waitForLine(/coordinator listening/, 'listening');
    const ms = Date.parse(line.slice(0, line.indexOf(' '))) - spawnedAt;
    return { ms, rss: rssMiB(coordinator.pid), cpu: cpuSeconds(coordinator.pid) };
  });
}

async function starts(context: BenchContext, scope: Scope, kind: DatabaseKind): Promise<Row[]> {
  const trials = context.options.trials ?? (context.options.quick ? 1 : 3);
  const dir = await tempDir(scope, `start-${kind}`);
  const first: Start[] = [];
  const again: Start[] = [];
  for (let i = 0; i < trials; i++) {
    let database: CoordinatorDatabase;
    if (kind === 'pglite') {
      const dataDir = join(dir, `data-${i}`);
      await mkdir(dataDir);
      database = { dataDir };
    } else {
      database = { url: await createBenchDatabase(scope) };
    }
    first.push(await timedStart(`coordinator-first-${kind}`, database));
    again.push(await timedStart(`coordinator-restart-${kind}`, database));
    context.log(
      `coordinator on ${kind}: first start ${first.at(-1)?.ms.toFixed(0)} ms, restart ${again.at(-1)?.ms.toFixed(0)} ms`,
    );
  }
  const label = DATABASE_LABEL[kind];
  const creates =
    kind === 'pglite'
      ? 'a new data dir unpacked from the initialised template (initdb when there is none)'
      : 'migrations on an empty database';
  const cpu = (starts: Start[]) =>
    `${summarize(starts.map((s) => s.cpu))?.median.toFixed(2)} CPU s (median) to get there`;
  return [
    {
      figure: FIGURE,
      measurement: `${label}: first start → ready`,
      value: summarize(first.map((s) => s.ms)),
      unit: 'ms',
      note: `${creates}; includes tsx (~0.4 s); ${cpu(first)}`,
      key: `first-start-${kind}`,
    },
    {
      figure: FIGURE,
      measurement: `${label}: restart → ready`,
      value: summarize(again.map((s) => s.ms)),
      unit: 'ms',
      note: `existing database; ${cpu(again)}`,
    },
    {
      figure: FIGURE,
      measurement: `${label}: coordinator RSS when ready (first start)`,
      value: summarize(first.map((s) => s.rss)),
      unit: 'MiB',
      note: `restart: ${summarize(again.map((s) => s.rss))?.median.toFixed(0)} MiB (median)`,
      key: `first-start-rss-${kind}`,
    },
  ];
}

export async function runCoordinatorStart(context: BenchContext): Promise<Row[]> {
  const rows = await withScope((scope) => starts(context, scope, 'pglite'));
  const missing = await postgresMissingReason();
  if (missing !== undefined) {
    context.log(`coordinator on PostgreSQL skipped: ${missing}`);
    return [
      ...rows,
      { figure: FIGURE, measurement: 'PostgreSQL start', value: `skipped: ${missing}`, unit: '' },
    ];
  }
  return [...rows, ...(await withScope((scope) => starts(context, scope, 'postgres')))];
}
