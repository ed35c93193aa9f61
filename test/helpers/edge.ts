/**
 * The edge coordinator for tests: `npm run edge:dev` as a real process (workerd through Miniflare,
 * offline, on 127.0.0.1), against a fresh PostgreSQL database, with its Durable Object state kept in
 * a folder so that it can be killed and started again on the same port. Skipped locally when workerd
 * or PostgreSQL is missing; a failure under CI=true.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { freePort } from '../nut/daemon.js';
import { createPostgresDatabase, probePostgres, TEST_PG_URL } from './database.js';
import { spawnNpm, type WatchedProcess } from './processes.js';
import { describeRequiring } from './requirements.js';

export function workerdMissingReason(): string | undefined {
  try {
    const bin = createRequire(import.meta.url).resolve('@cloudflare/workerd-linux-64/bin/workerd');
    return existsSync(bin) ? undefined : `${bin} is missing`;
  } catch {
    return 'workerd (@cloudflare/workerd-linux-64, through miniflare) is not installed: npm ci';
  }
}

const postgres = await probePostgres();

/** `describe` for suites that run the edge coordinator: needs workerd and PostgreSQL. */
export function describeEdge(name: string, body: () => void): void {
  const missing =
    workerdMissingReason() ??
    (postgres.ok ? undefined : `PostgreSQL unreachable at ${TEST_PG_URL}: ${postgres.reason}`);
  describeRequiring(name, missing, body);
}

export interface EdgeCoordinator {
  /** The default fleet's URL (other fleets: `${url}/fleets/<name>`). */
  readonly url: string;
  /** workerd's output (every fleet's coordinator log), across restarts. */
  readonly process: () => WatchedProcess;
  /** SIGKILL workerd (as a crash would) and start it again on the same port and state. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startEdgeCoordinator(options: {
  readonly dir: string;
  readonly bindings: Readonly<Record<string, string>>;
}): Promise<EdgeCoordinator> {
  const database = await createPostgresDatabase();
  const port = await freePort();
  const persist = join(options.dir, 'edge-state');
  // Its temporary folders (Miniflare leaves them behind when killed) go under the test's own dir.
  const tmp = join(options.dir, 'tmp');
  mkdirSync(tmp, { recursive: true });
  const env = { ...options.bindings, DATABASE_URL: database.url, TMPDIR: tmp };
  let current: WatchedProcess | undefined;
  const start = async () => {
    current = spawnNpm(
      'edge',
      ['run', '--silent', 'edge:dev', '--', '--port', String(port), '--persist', persist],
      env,
    );
    await current.waitForLine(/edge coordinator \(workerd\) listening on/, 'its listening line');
  };
  await start();
  return {
    url: `http://127.0.0.1:${port}`,
    process: () => {
      if (current === undefined) throw new Error('the edge coordinator is not running');
      return current;
    },
    async restart() {
      await current?.stop('SIGKILL');
      await start();
    },
    async stop() {
      await current?.stop();
      current = undefined;
      rmSync(tmp, { recursive: true, force: true });
      await database.drop();
    },
  };
}
