/**
 * The edge coordinator in local workerd, through Miniflare's API (no wrangler, no network):
 * `npm run edge:dev` and the edge tests start it the same way, with the same bindings a deployment
 * gets as secrets and vars.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Miniflare } from 'miniflare';
import { buildEdge } from '../../../../infra/build-edge.mjs';

/** The newest date workerd 2026-04-26 (miniflare 4.20260426.0) accepts is 2026-05-03 (STACK.md). */
export const COMPATIBILITY_DATE = '2026-04-01';
export const COMPATIBILITY_FLAGS = ['nodejs_compat'];
/** The Durable Object binding and class, as in infra/edge/wrangler.jsonc. */
export const FLEET_BINDING = 'FLEET';
export const FLEET_CLASS = 'FleetObject';

export interface LocalEdgeOptions {
  readonly port?: number;
  /** Where Durable Object state (alarms, stored fleet name) persists across restarts; in memory when absent. */
  readonly persistDir?: string;
  /** Secrets and vars: DATABASE_URL, UPSFLEET_ADMIN_TOKEN, UPSFLEET_FLEETS, UPSFLEET_ADMIN_TOKEN_<FLEET>, … */
  readonly bindings: Readonly<Record<string, string>>;
  /** workerd's output, line by line (default: printed). */
  readonly onLine?: (line: string) => void;
  /** An already built bundle (default: built now into dist/edge/worker.mjs). */
  readonly scriptPath?: string;
}

export interface LocalEdge {
  readonly url: string;
  stop(): Promise<void>;
}

function pipeLines(stream: Readable, onLine: (line: string) => void): void {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (line !== '') onLine(line);
  });
}

/** The bindings of a deployment that are ours, from an environment (process.env for edge:dev). */
export function edgeBindingsFrom(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined && (entry[0] === 'DATABASE_URL' || entry[0].startsWith('UPSFLEET_')),
    ),
  );
}

export async function startLocalEdge(options: LocalEdgeOptions): Promise<LocalEdge> {
  const scriptPath = options.scriptPath ?? (await buildEdge({ quiet: true })).outfile;
  const onLine = options.onLine ?? ((line: string) => console.log(line));
  if (options.persistDir !== undefined) mkdirSync(options.persistDir, { recursive: true });
  // Miniflare puts its temporary folder in os.tmpdir() (read once, in its constructor) and leaves
  // it behind when killed. Each instance gets a parent folder of its own, removed on stop: guessing
  // "the folders that appeared since" removed another instance's live folder when two ran at once.
  const parent = mkdtempSync(join(tmpdir(), 'upsfleet-workerd-'));
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = parent;
  let mf: Miniflare;
  try {
    mf = new Miniflare({
      modules: true,
      scriptPath,
      compatibilityDate: COMPATIBILITY_DATE,
      compatibilityFlags: COMPATIBILITY_FLAGS,
      durableObjects: { [FLEET_BINDING]: { className: FLEET_CLASS, useSQLite: true } },
      ...(options.persistDir === undefined ? {} : { durableObjectsPersist: options.persistDir }),
      bindings: { ...options.bindings },
      host: '127.0.0.1',
      port: options.port ?? 0,
      cf: false,
      handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
        pipeLines(stdout, onLine);
        pipeLines(stderr, onLine);
      },
    });
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
  const cleanup = () => rmSync(parent, { recursive: true, force: true });
  let url: URL;
  try {
    url = await mf.ready;
  } catch (error) {
    await mf.dispose().catch(() => undefined);
    cleanup();
    throw error;
  }
  return {
    url: url.toString().replace(/\/$/, ''),
    async stop() {
      await mf.dispose();
      cleanup();
    },
  };
}
