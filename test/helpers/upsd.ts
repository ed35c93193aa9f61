import { accessSync, constants } from 'node:fs';
import {
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readFile,
  rename,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNutClient, type NutClient } from '../../agent/src/nut/client.js';
import { NutConnectionError } from '../../agent/src/nut/errors.js';
import { type Daemon, freePort, launch, logTail, lookupUser, terminate, until } from '../nut/daemon.js';
import { ups, upsConf, upsdConf, upsdUsers, writeDevFile } from '../nut/upsd-config.js';
import { describeRequiring } from './requirements.js';

/**
 * A real upsd + dummy-ups (Debian's nut-server) on a free loopback port, in a fresh temp dir.
 * Debian's /usr/sbin/upsd is a wrapper that exits while nut.conf says MODE=none: call /lib/nut/*.
 */
export const NUT_LIBDIR = '/lib/nut';
export const UPSD_BIN = join(NUT_LIBDIR, 'upsd');
export const DRIVER_BIN = join(NUT_LIBDIR, 'dummy-ups');
export const RUN_AS = 'nut';
const isRoot = process.getuid?.() === 0;
const WAIT_MS = 10_000;

/** Why the real-upsd tests cannot run here, or undefined when they can. */
export function upsdMissingReason(): string | undefined {
  for (const bin of [UPSD_BIN, DRIVER_BIN]) {
    try {
      accessSync(bin, constants.X_OK);
    } catch {
      return `${bin} not found (apt-get install nut-server nut-client)`;
    }
  }
  if (isRoot && lookupUser(RUN_AS) === undefined) return `user ${RUN_AS} missing (install nut-server)`;
  return undefined;
}

export function upsdAvailable(): boolean {
  return upsdMissingReason() === undefined;
}

/** `describe` for real-upsd suites: skipped with the reason shown when NUT is missing, but a failure under CI=true. */
export function describeUpsd(name: string, body: () => void): void {
  describeRequiring(name, upsdMissingReason(), body);
}

export interface UpsdHarness {
  readonly host: string;
  readonly port: number;
  readonly ups: string;
  readonly dir: string;
  /** Rewrites the .dev file (strictly newer whole-second mtime) and waits until upsd serves the values. */
  setStatus(status: string, vars?: Readonly<Record<string, string>>): Promise<void>;
  stopDriver(): Promise<void>;
  /** Starts the driver again and waits until upsd serves a status other than WAIT. */
  startDriver(): Promise<void>;
  /** SIGSTOP upsd: it keeps its sockets but answers nothing. */
  pauseUpsd(): void;
  /** SIGKILL upsd and wait for it to exit. */
  killUpsd(): Promise<void>;
  /** Stops upsd (SIGTERM), starts it again on the same port, and waits until it serves data. */
  restartUpsd(): Promise<void>;
  /** SIGSTOP the driver: upsd keeps the last values until MAXAGE (5 s), then answers DATA-STALE. */
  pauseDriver(): void;
  /** SIGCONT the driver. */
  resumeDriver(): void;
  /** Stops upsd and the driver by recorded PID and removes the temp dir. */
  stop(): Promise<void>;
}

export async function startUpsd(): Promise<UpsdHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'upsfleet-upsd-'));
  const paths = {
    etc: join(dir, 'etc'),
    run: join(dir, 'run'),
    state: join(dir, 'state'),
    log: join(dir, 'log'),
  };
  const dev = join(paths.state, `${ups}.dev`);
  const socketPath = join(paths.run, `dummy-ups-${ups}`);
  const logs = { upsd: join(paths.log, 'upsd.log'), driver: join(paths.log, 'driver.log') };
  const port = await freePort();
  for (const path of Object.values(paths)) await mkdir(path);
  await writeFile(join(paths.etc, 'ups.conf'), upsConf(dev));
  await writeFile(join(paths.etc, 'upsd.conf'), upsdConf(port));
  await writeFile(join(paths.etc, 'upsd.users'), upsdUsers());
  await writeDevFile(dev, { 'ups.status': 'OL' });
  await chmod(dir, 0o711);
  await chmod(paths.state, 0o777);
  const account = isRoot ? lookupUser(RUN_AS) : undefined;
  if (account) {
    await chown(paths.etc, 0, account.gid);
    await chmod(paths.etc, 0o750);
    for (const file of ['ups.conf', 'upsd.conf', 'upsd.users']) {
      await chown(join(paths.etc, file), 0, account.gid);
      await chmod(join(paths.etc, file), 0o640);
    }
    await chown(paths.run, account.uid, account.gid);
    await chmod(paths.run, 0o770);
  }
  const asUser = account ? ['-u', RUN_AS] : [];
  const env = {
    ...process.env,
    NUT_CONFPATH: paths.etc,
    NUT_STATEPATH: paths.run,
    NUT_ALTPIDPATH: paths.run,
  };

  let driver: Daemon | undefined;
  let upsd: Daemon | undefined;
  let probe: NutClient | undefined;
  let lastSeen = 'nothing yet';

  /** The variable as upsd serves it now, or undefined on any error (kept in lastSeen). */
  async function read(variable: string): Promise<string | undefined> {
    try {
      probe ??= await createNutClient({ host: '127.0.0.1', port, timeoutMs: 2_000, keepAliveMs: 0 });
      const value = await probe.getVar(ups, variable);
      lastSeen = `${variable}=${JSON.stringify(value)}`;
      return value;
    } catch (error) {
      if (error instanceof NutConnectionError) probe = undefined;
      lastSeen = error instanceof Error ? error.message : String(error);
      return undefined;
    }
  }

  async function waitServing(): Promise<void> {
    await until(
      async () => {
        if (!upsd?.alive) throw new Error(`upsd exited; ${logs.upsd}:\n${logTail(logs.upsd)}`);
        const status = await read('ups.status');
        return status === undefined || status === 'WAIT' ? undefined : true;
      },
      () =>
        `upsd on 127.0.0.1:${port} not serving ups.status after ${WAIT_MS} ms (last: ${lastSeen}); see ${logs.upsd}`,
      WAIT_MS,
    );
  }

  async function startDriver(): Promise<void> {
    await rm(socketPath, { force: true });
    driver = await launch(DRIVER_BIN, ['-a', ups, '-F', ...asUser], logs.driver, env);
    const started = driver;
    await until(
      async () => {
        if (!started.alive) throw new Error(`dummy-ups exited; ${logs.driver}:\n${logTail(logs.driver)}`);
        return (await stat(socketPath).catch(() => undefined)) ? true : undefined;
      },
      () => `dummy-ups made no socket ${socketPath} in ${WAIT_MS} ms; see ${logs.driver}`,
      WAIT_MS,
    );
  }

  let queue: Promise<unknown> = Promise.resolve();
  async function setStatus(status: string, vars: Readonly<Record<string, string>> = {}): Promise<void> {
    const want: Record<string, string> = { 'ups.status': status, ...vars };
    const turn = queue.then(async () => {
      const old = Math.floor((await stat(dev)).mtimeMs / 1000);
      const seconds = Math.max(Math.floor(Date.now() / 1000), old + 1);
      const text = await readFile(dev, 'utf8');
      const tmp = `${dev}.${process.pid}.tmp`;
      await writeDevFile(tmp, want, text);
      // dummy-ups re-reads only when the mtime's whole seconds change: never reuse a second.
      await utimes(tmp, seconds, seconds);
      await rename(tmp, dev);
      await until(
        async () => {
          for (const [key, value] of Object.entries(want)) {
            const got = await read(key);
            if (got !== value && !(key === 'ups.status' && got === `FSD ${value}`)) return undefined;
          }
          return true;
        },
        () =>
          `upsd did not show ${JSON.stringify(want)} within ${WAIT_MS} ms (last: ${lastSeen}); see ${logs.driver}`,
        WAIT_MS,
      );
    });
    queue = turn.catch(() => undefined);
    await turn;
  }

  const harness: UpsdHarness = {
    host: '127.0.0.1',
    port,
    ups,
    dir,
    setStatus,
    stopDriver: () => terminate(driver),
    startDriver: async () => {
      await startDriver();
      await waitServing();
    },
    pauseUpsd: () => upsd?.child.kill('SIGSTOP'),
    pauseDriver: () => driver?.child.kill('SIGSTOP'),
    resumeDriver: () => driver?.child.kill('SIGCONT'),
    killUpsd: async () => {
      upsd?.child.kill('SIGKILL');
      await upsd?.exited;
    },
    restartUpsd: async () => {
      await terminate(upsd);
      await probe?.close();
      probe = undefined;
      upsd = await launch(UPSD_BIN, ['-F', ...asUser], logs.upsd, env);
      await waitServing();
    },
    stop: async () => {
      await probe?.close();
      await terminate(upsd);
      await terminate(driver);
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await startDriver();
    upsd = await launch(UPSD_BIN, ['-F', ...asUser], logs.upsd, env);
    await waitServing();
  } catch (error) {
    await harness.stop();
    throw error;
  }
  return harness;
}
