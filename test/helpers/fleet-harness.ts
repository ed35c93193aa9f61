/**
 * A whole fleet on loopback for fault tests: the coordinator as a real process on a fixed port (so
 * that it can be killed and restarted at the same address), agents enrolled the way `upsfleet
 * enroll` does it (done in-process, to save a process start per agent) and run as real processes
 * from the single-file bundle (as installed; it starts far faster than the sources under tsx), and
 * an HTTP-pushing watcher whose signed readings the test sends when it wants them.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { z } from 'zod';
import { writeEnrollment } from '../../agent/src/state-dir.js';
import { EnrollResponseSchema } from '../../shared/src/protocol.js';
import { generateSigningKey, type SigningKeyPair } from '../../shared/src/signing.js';
import { signUpsEvent } from '../../shared/src/tokens.js';
import { freePort } from '../nut/daemon.js';
import { createAdminApi } from './admin-api.js';
import { buildAgentBundle, spawnBundledAgent } from './agent-bundle.js';
import { createPostgresDatabase, probePostgres, TEST_PG_URL } from './database.js';
import { coordinatorUrl, spawnUpsfleet, type WatchedProcess } from './processes.js';

const TimelineEntry = z.looseObject({
  kind: z.string(),
  stage: z.string().nullable(),
  host: z.string().nullable(),
  detail: z.string().nullable(),
});
const OrderEntry = z.looseObject({
  id: z.string(),
  host: z.string(),
  stage: z.string(),
  kind: z.string(),
  ackStatus: z.string().nullable(),
  outcome: z.string().nullable(),
});
const RunSummary = z.looseObject({
  id: z.string(),
  number: z.number().nullable(),
  state: z.string(),
  endReason: z.string().nullable(),
  firedStages: z.array(z.string()),
});
export const RunViewSchema = RunSummary.extend({
  timeline: z.array(TimelineEntry),
  orders: z.array(OrderEntry),
});
export type RunView = z.infer<typeof RunViewSchema>;
export type RunSummary = z.infer<typeof RunSummary>;

export interface EnrolledAgent {
  readonly name: string;
  readonly agentId: string;
  readonly stateDir: string;
  readonly keyPair: SigningKeyPair;
}

/** A watcher that the test speaks for: signed readings pushed over `/agent/v1/events`. */
export interface PushingWatcher extends EnrolledAgent {
  /** Signs the next reading of `ups` and pushes it; resolves once the coordinator stored it. */
  push(ups: string, status: string[], vars?: Record<string, string>): Promise<void>;
}

export interface FleetHarness {
  readonly dir: string;
  readonly adminToken: string;
  /** `http://127.0.0.1:<port>`, the same across coordinator restarts. */
  readonly base: string;
  readonly port: number;
  /** The coordinator process running now. */
  readonly coordinator: WatchedProcess;
  /** Stops the coordinator with `signal` (SIGKILL: no goodbye) and starts it again on the same data. */
  restartCoordinator(signal: NodeJS.Signals): Promise<WatchedProcess>;
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** Enrolls `name` through `via` (default: the coordinator itself), as `upsfleet enroll` would. */
  enroll(name: string, via?: string): Promise<EnrolledAgent>;
  enrollWatcher(name: string): Promise<PushingWatcher>;
  /** Writes the agent's YAML config (coordinator URL and state dir first, then `lines`). */
  writeAgentConfig(agent: EnrolledAgent, lines: readonly string[], coordinator?: string): Promise<void>;
  /** Starts the agent from its config; resolves once the coordinator welcomed it (unless `connected: false`). */
  startAgent(
    name: string,
    options?: { connected?: boolean; logLevel?: 'debug' | 'info' },
  ): Promise<WatchedProcess>;
  /** Every run, newest first. */
  runs(): Promise<RunSummary[]>;
  run(id: string): Promise<RunView>;
  /** Stops every process this harness started. */
  close(): Promise<void>;
}

/** Why the shared test PostgreSQL server cannot be used, or undefined when it can. */
export async function sharedPostgresMissingReason(): Promise<string | undefined> {
  const probe = await probePostgres();
  return probe.ok ? undefined : `PostgreSQL unreachable at ${TEST_PG_URL}: ${probe.reason}`;
}

export async function startFleet(options: {
  dir: string;
  adminToken: string;
  /**
   * `pglite` (default): the embedded database in `<dir>/data`, as `npm start` runs it. `postgres`:
   * a fresh database on the shared test server, dropped by close() (the coordinator starts faster).
   * `{ url }`: that PostgreSQL database.
   */
  database?: 'pglite' | 'postgres' | { url: string };
  env?: Record<string, string>;
}): Promise<FleetHarness> {
  const { dir, adminToken } = options;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const processes: WatchedProcess[] = [];
  const database = options.database ?? 'pglite';
  const created = database === 'postgres' ? await createPostgresDatabase() : undefined;
  const storage =
    database === 'pglite'
      ? ['--data-dir', join(dir, 'data')]
      : ['--database-url', created?.url ?? (database as { url: string }).url];
  let starts = 0;

  async function startCoordinator(): Promise<WatchedProcess> {
    starts += 1;
    const proc = spawnUpsfleet(
      starts === 1 ? 'coordinator' : `coordinator#${starts}`,
      ['coordinator', '--listen', `127.0.0.1:${port}`, ...storage],
      { UPSFLEET_ADMIN_TOKEN: adminToken, UPSFLEET_HEARTBEAT: '2s', ...options.env },
    );
    processes.push(proc);
    await coordinatorUrl(proc);
    return proc;
  }

  let bundle: string;
  let coordinator: WatchedProcess;
  try {
    [bundle, coordinator] = await Promise.all([buildAgentBundle(dir), startCoordinator()]);
  } catch (error) {
    for (const proc of processes) await proc.stop();
    await created?.drop();
    throw error;
  }

  const { call: api } = createAdminApi({ base, token: adminToken });

  async function enroll(name: string, via = base): Promise<EnrolledAgent> {
    const { token } = await api<{ token: string }>('POST', '/api/v1/enrollments', { name });
    const { keyPair, stored } = await generateSigningKey();
    const response = await fetch(`${via}/agent/v1/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, name, publicKey: keyPair.publicJwk }),
    });
    expect(response.status, `enrolling ${name}`).toBe(201);
    const enrolled = EnrollResponseSchema.parse(await response.json());
    const stateDir = join(dir, `${name}-state`);
    await writeEnrollment(stateDir, {
      identity: {
        agentId: enrolled.agentId,
        name,
        coordinatorUrl: via,
        enrolledAt: new Date().toISOString(),
      },
      privateKey: stored,
      coordinatorKey: enrolled.coordinatorKey,
    });
    return { name, agentId: enrolled.agentId, stateDir, keyPair };
  }

  async function enrollWatcher(name: string): Promise<PushingWatcher> {
    const agent = await enroll(name);
    let seq = 0;
    return {
      ...agent,
      async push(ups, status, vars = {}) {
        seq += 1;
        const now = Date.now();
        const token = await signUpsEvent(
          agent.keyPair,
          agent.agentId,
          { seq, ups, observedAt: now, status, events: [], vars },
          now,
        );
        const response = await fetch(`${base}/agent/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ events: [token] }),
        });
        if (response.status !== 200)
          throw new Error(`event push: ${response.status} ${await response.text()}`);
      },
    };
  }

  function configPath(name: string): string {
    return join(dir, `${name}.yaml`);
  }

  return {
    dir,
    adminToken,
    base,
    port,
    get coordinator() {
      return coordinator;
    },
    async restartCoordinator(signal) {
      await coordinator.stop(signal);
      coordinator = await startCoordinator();
      return coordinator;
    },
    api,
    enroll,
    enrollWatcher,
    async writeAgentConfig(agent, lines, via = base) {
      await writeFile(
        configPath(agent.name),
        [`coordinator: ${via}`, `stateDir: ${agent.stateDir}`, ...lines, ''].join('\n'),
      );
    },
    async startAgent(name, options = {}) {
      const logLevel = options.logLevel === undefined ? [] : ['--log-level', options.logLevel];
      const proc = spawnBundledAgent(name, bundle, ['agent', '--config', configPath(name), ...logLevel]);
      processes.push(proc);
      if (options.connected !== false)
        await proc.waitForLine(new RegExp(`connected to \\S+ as ${name}\\b`), `${name} connected`);
      return proc;
    },
    async runs() {
      const { items } = await api<{ items: unknown[] }>('GET', '/api/v1/runs');
      return z.array(RunSummary).parse(items);
    },
    async run(id) {
      return RunViewSchema.parse(await api('GET', `/api/v1/runs/${id}`));
    },
    async close() {
      for (const proc of processes.reverse()) await proc.stop();
      await created?.drop();
    },
  };
}

/** The timeline as `[kind, stage or host]` pairs, the way a person reads it. */
export function timelineOf(run: RunView): [string, string | null][] {
  return run.timeline.map((entry) => [entry.kind, entry.stage ?? entry.host]);
}

/** YAML lines of a host section whose shutdown is `argv`, with optional before hooks. */
export function hostSection(
  argv: readonly string[],
  before: { name: string; run: string[] }[] = [],
): string[] {
  return [
    'host:',
    `  shutdown: ${JSON.stringify(argv)}`,
    ...(before.length === 0 ? [] : ['  before:']),
    ...before.map((hook) => `    - { name: ${hook.name}, run: ${JSON.stringify(hook.run)}, timeout: 30s }`),
  ];
}

/** YAML lines of a watcher's `ups:` section reading `upsd`'s UPS as `id`, with extra per-UPS settings. */
export function watcherSection(
  upsd: { host: string; port: number; ups: string },
  id: string,
  extra: readonly string[] = ['pollInterval: 250ms'],
): string[] {
  return [
    'ups:',
    `  - id: ${id}`,
    `    upsd: ${upsd.host}:${upsd.port}`,
    `    name: ${upsd.ups}`,
    ...extra.map((line) => `    ${line}`),
  ];
}
