import { spawn } from 'node:child_process';
import { formatDuration } from '../../shared/src/duration.js';
import { errorMessage } from '../../shared/src/errors.js';

/** How much of the combined stdout/stderr is kept (the tail), in bytes. */
export const OUTPUT_TAIL_BYTES = 4096;

export interface RunOptions {
  /** Kill the command (SIGTERM, then SIGKILL) after this many ms. */
  readonly timeoutMs: number;
  /** Time between SIGTERM and SIGKILL, ms. */
  readonly killGraceMs?: number;
  /** Aborting kills the command like a timeout. */
  readonly signal?: AbortSignal;
}

export interface RunResult {
  /** null when the command was killed by a signal or never started. */
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** The last OUTPUT_TAIL_BYTES of stdout and stderr, interleaved as they arrived. */
  readonly output: string;
  readonly timedOut: boolean;
  /** Set when the command could not be started (ENOENT, EACCES, …). */
  readonly error?: string;
}

export type RunCommand = (argv: readonly string[], options: RunOptions) => Promise<RunResult>;

/** How a command ended: exit 0; killed by its timeout; anything else (non-zero, a signal, not started). */
export type RunOutcome = 'succeeded' | 'timed-out' | 'failed';

export function toRunOutcome(result: RunResult): RunOutcome {
  if (result.error !== undefined) return 'failed';
  if (result.timedOut) return 'timed-out';
  return result.exitCode === 0 ? 'succeeded' : 'failed';
}

/** What happened, for a log line: "exited 3", "was killed after 1m", "could not start: …". */
export function describeRunResult(result: RunResult, timeoutMs: number): string {
  if (result.error !== undefined) return `could not start: ${result.error}`;
  if (result.timedOut) return `was killed after ${formatDuration(timeoutMs)}`;
  return result.exitCode !== null ? `exited ${result.exitCode}` : `was killed by ${result.signal}`;
}

/** Keeps the last `limit` bytes written to it. */
function createTail(limit: number) {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    push(chunk: Buffer): void {
      chunks.push(chunk);
      size += chunk.length;
      while (chunks.length > 1 && size - (chunks[0]?.length ?? 0) >= limit)
        size -= chunks.shift()?.length ?? 0;
    },
    text(): string {
      const all = Buffer.concat(chunks);
      return all.subarray(Math.max(0, all.length - limit)).toString('utf8');
    },
  };
}

/**
 * Runs argv without a shell, stdin closed, output captured. Never throws: a non-zero exit, a kill on
 * timeout and a command that cannot start all resolve, with what happened.
 */
export const runCommand: RunCommand = (argv, options) => {
  const tail = createTail(OUTPUT_TAIL_BYTES);
  const [program, ...args] = argv;
  if (program === undefined) {
    return Promise.resolve({
      exitCode: null,
      signal: null,
      output: '',
      timedOut: false,
      error: 'empty argv',
    });
  }
  return new Promise<RunResult>((resolve) => {
    let timedOut = false;
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    const child = spawn(program, args, { shell: false, stdio: ['ignore', 'pipe', 'pipe'] });

    const finish = (result: RunResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      clearTimeout(killTimer);
      clearTimeout(drainTimer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const stop = (): void => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      timedOut = true;
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), options.killGraceMs ?? 5_000);
    };
    const onAbort = (): void => stop();

    const timeout = setTimeout(stop, options.timeoutMs);
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout.on('data', (chunk: Buffer) => tail.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => tail.push(chunk));
    child.on('error', (error) => {
      finish({ exitCode: null, signal: null, output: tail.text(), timedOut, error: errorMessage(error) });
    });
    // A command that leaves a daemon holding its stdout would keep 'close' from firing: stop waiting soon after exit.
    child.on('exit', () => {
      drainTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, 1_000);
    });
    child.on('close', (exitCode, signal) => {
      finish({ exitCode, signal, output: tail.text(), timedOut });
    });
  });
};
