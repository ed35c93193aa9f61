/**
 * Real processes for end-to-end tests: the upsfleet CLI spawned through tsx, with its stderr/stdout
 * read line by line so a test can await a log line (an event) instead of sleeping.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createWatchedList, type WatchedList } from './watched-list.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = fileURLToPath(new URL('../../bin/upsfleet.ts', import.meta.url));

export interface WatchedProcess {
  readonly child: ChildProcess;
  /** Every line printed so far (stdout and stderr interleaved). */
  readonly lines: readonly string[];
  /**
   * Resolves with the first line matching `pattern`, printed at or after line `from` (default: any
   * line, past or future); rejects if the process exits first.
   */
  waitForLine(pattern: RegExp, what?: string, from?: number): Promise<string>;
  /** The number of lines printed so far: a `from` for waitForLine that ignores the past. */
  mark(): number;
  /** Resolves with the exit code (or the signal name) once the process tree's output is closed. */
  readonly exited: Promise<number | NodeJS.Signals>;
  /** SIGTERM (to the whole process group) and await the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | NodeJS.Signals>;
}

export function watchProcess(child: ChildProcess, name: string): WatchedProcess {
  // 'close' (not 'exit'): it waits for the stdio pipes, which grandchildren (npm → node) share,
  // so every line the tree printed has been read when it fires.
  const exited = new Promise<number | NodeJS.Signals>((resolve) => {
    child.once('close', (code, signal) => resolve(code ?? signal ?? -1));
  });
  const lines: WatchedList<string> = createWatchedList<string>({
    ended: exited,
    endedMessage: (what, code): string =>
      `${name} exited (${String(code)}) before printing ${what}; output:\n${lines.items.slice(-30).join('\n')}`,
  });
  const onData = (() => {
    let partial = '';
    return (chunk: Buffer) => {
      partial += chunk.toString('utf8');
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        if (process.env.UPSFLEET_TEST_VERBOSE === '1') process.stderr.write(`[${name}] ${line}\n`);
        lines.push(line);
      }
    };
  })();
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  return {
    child,
    lines: lines.items,
    exited,
    mark: lines.mark,
    waitForLine: (pattern, what = String(pattern), from = 0) =>
      lines.waitFor((line) => pattern.test(line), what, from),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try {
          process.kill(-child.pid, signal);
        } catch {
          child.kill(signal);
        }
      }
      return exited;
    },
  };
}

/** Spawns `upsfleet <args>` in its own process group. */
export function spawnUpsfleet(
  name: string,
  args: readonly string[],
  env: Record<string, string> = {},
): WatchedProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  return watchProcess(child, name);
}

/** Spawns an npm script exactly as the README says to run it. */
export function spawnNpm(
  name: string,
  args: readonly string[],
  env: Record<string, string> = {},
): WatchedProcess {
  const child = spawn('npm', [...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  return watchProcess(child, name);
}

/** The coordinator's URL from its "listening" log line (it is started on port 0). */
export async function coordinatorUrl(proc: WatchedProcess): Promise<string> {
  const line = await proc.waitForLine(/coordinator listening url=\S+/, 'its listening address');
  const match = /url=(\S+)/.exec(line);
  if (match?.[1] === undefined) throw new Error(`no url in "${line}"`);
  return match[1];
}
