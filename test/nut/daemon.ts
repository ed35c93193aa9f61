import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Process and polling helpers for test/helpers/upsd.ts. Daemons are only ever signalled by their own PID. */

export function lookupUser(user: string): { uid: number; gid: number } | undefined {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith(`${user}:`));
  const [, , uid, gid] = line?.split(':') ?? [];
  return uid && gid ? { uid: Number(uid), gid: Number(gid) } : undefined;
}

export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

export interface Daemon {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  readonly alive: boolean;
}

/** Spawns in its own session (setsid), stdio to `log`; resolves once the process exists. */
export async function launch(
  bin: string,
  args: string[],
  log: string,
  env: NodeJS.ProcessEnv,
): Promise<Daemon> {
  const fd = openSync(log, 'a');
  try {
    const child = spawn(bin, args, { detached: true, stdio: ['ignore', fd, fd], env });
    let alive = true;
    // If the test process goes away first, take the daemon along (it runs in its own session).
    const orphanGuard = (): void => {
      child.kill('SIGKILL');
    };
    process.once('exit', orphanGuard);
    const exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        alive = false;
        process.off('exit', orphanGuard);
        resolve();
      }),
    );
    await new Promise<void>((resolve, reject) => child.once('spawn', resolve).once('error', reject));
    child.unref();
    return {
      child,
      exited,
      get alive() {
        return alive;
      },
    };
  } finally {
    closeSync(fd);
  }
}

/** SIGTERM (and SIGCONT, in case it is stopped) to the recorded PID; SIGKILL after 5 s. */
export async function terminate(daemon: Daemon | undefined): Promise<void> {
  if (!daemon?.alive) return;
  daemon.child.kill('SIGTERM');
  daemon.child.kill('SIGCONT');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), 5_000);
  });
  try {
    if (await Promise.race([daemon.exited.then(() => false), timedOut])) daemon.child.kill('SIGKILL');
  } finally {
    clearTimeout(timer);
  }
  await daemon.exited;
}

export function logTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-8).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Polls `probe` every 50 ms until it returns a value (not undefined); after `waitMs`, throws `describeFailure()`. */
export async function until<T>(
  probe: () => Promise<T | undefined>,
  describeFailure: () => string,
  waitMs: number,
): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(describeFailure());
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
