/**
 * The peer: a real upsmon secondary from Debian's nut-client, in its own config dir, whose
 * SHUTDOWNCMD only writes a timestamp. Safety, after NUT 2.8.0's clients/upsmon.c, which executes
 * exactly three things:
 * - SHUTDOWNCMD via system(): our script, checked below to do nothing but `date +%s%N >> FILE`;
 * - NOTIFYCMD: none configured, and every NOTIFYFLAG is SYSLOG only;
 * - popen("wall") in doshutdown(): found through PATH, which starts with a `wall` that only records.
 * No POWERDOWNFLAG is configured, so no killpower file is ever written; NUT_CONFPATH points at our
 * dir, so the packaged /etc/nut/upsmon.conf (SHUTDOWNCMD "/sbin/shutdown -h +0") is never read.
 * upsmon 2.8.0 always writes /run/nut/upsmon.pid, ignoring NUT_ALTPIDPATH: as root it runs in a
 * private mount namespace with its own dir bind-mounted there, so it never touches the real one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lookupUser, until } from '../nut/daemon.js';
import { numLogins } from './nut-wire.js';
import { cpuSeconds, rssMiB, ussMiB } from './proc.js';

export const UPSMON_BIN = '/lib/nut/upsmon';
const RUN_AS = 'nut';
const isRoot = process.getuid?.() === 0;

/** Why no upsmon can run here, or undefined. */
export function upsmonMissingReason(): string | undefined {
  try {
    accessSync(UPSMON_BIN, constants.X_OK);
  } catch {
    return `${UPSMON_BIN} not found: install NUT's client (apt-get install nut-client)`;
  }
  if (isRoot && lookupUser(RUN_AS) === undefined)
    return `user ${RUN_AS} missing (apt-get install nut-client)`;
  return undefined;
}

/** NUT's defaults, which the comparison uses; --quick shortens them (and says so). */
export interface UpsmonTimers {
  readonly pollFreq: number;
  readonly pollFreqAlert: number;
  readonly hostSync: number;
  readonly deadTime: number;
  readonly finalDelay: number;
}
export const NUT_DEFAULT_TIMERS: UpsmonTimers = {
  pollFreq: 5,
  pollFreqAlert: 5,
  hostSync: 15,
  deadTime: 15,
  finalDelay: 5,
};

export function describeTimers(t: UpsmonTimers): string {
  return `POLLFREQ ${t.pollFreq}, HOSTSYNC ${t.hostSync}, FINALDELAY ${t.finalDelay}`;
}

const NOTIFY_EVENTS = [
  'ONLINE',
  'ONBATT',
  'LOWBATT',
  'FSD',
  'COMMOK',
  'COMMBAD',
  'SHUTDOWN',
  'REPLBATT',
  'NOCOMM',
  'NOPARENT',
];

export interface Upsmon {
  readonly pid: number;
  /** Resolves when upsmon exited (it does so by itself after running SHUTDOWNCMD). */
  readonly exited: Promise<void>;
  /** When SHUTDOWNCMD ran, ms since the epoch, once it has. */
  shutdownAt(): Promise<number | undefined>;
  /** RSS of the privileged parent plus the monitoring child, MiB. */
  rss(): number;
  /** Their private memory (USS), MiB. */
  uss(): number;
  cpuSeconds(): number;
  stop(): Promise<void>;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((text) => text !== '')
      .map(Number);
  } catch {
    return [];
  }
}

/** The upsd account upsmon logs in with (default: the test upsd's secondary). */
export interface UpsmonAccount {
  readonly username: string;
  readonly password: string;
}
const TEST_SECONDARY: UpsmonAccount = { username: 'monsec', password: 'secpass' };

async function writeFiles(
  dir: string,
  upsd: { port: number; ups: string },
  timers: UpsmonTimers,
  account: UpsmonAccount,
) {
  const paths = {
    conf: join(dir, 'conf'),
    run: join(dir, 'run'),
    bin: join(dir, 'bin'),
    out: join(dir, 'out'),
  };
  for (const path of Object.values(paths)) await mkdir(path, { recursive: true });
  const record = join(paths.out, 'shutdown.log');
  const shutdownScript = join(paths.bin, 'fake-shutdown');
  await writeFile(
    shutdownScript,
    `#!/bin/sh\n# upsmon's SHUTDOWNCMD in the bench: records the time, nothing else.\n/bin/date +%s%N >> ${record}\n`,
  );
  await writeFile(
    join(paths.bin, 'wall'),
    `#!/bin/sh\n# shadows wall(1) for upsmon: record, never broadcast.\n/bin/cat >> ${join(paths.out, 'wall.log')}\n`,
  );
  for (const file of ['fake-shutdown', 'wall']) await chmod(join(paths.bin, file), 0o755);
  const conf = join(paths.conf, 'upsmon.conf');
  await writeFile(
    conf,
    [
      '# written by test/bench/upsmon.ts: a harmless secondary',
      `MONITOR ${upsd.ups}@127.0.0.1:${upsd.port} 1 ${account.username} ${account.password} secondary`,
      'MINSUPPLIES 1',
      `SHUTDOWNCMD "${shutdownScript}"`,
      `POLLFREQ ${timers.pollFreq}`,
      `POLLFREQALERT ${timers.pollFreqAlert}`,
      `HOSTSYNC ${timers.hostSync}`,
      `DEADTIME ${timers.deadTime}`,
      `FINALDELAY ${timers.finalDelay}`,
      ...NOTIFY_EVENTS.map((event) => `NOTIFYFLAG ${event} SYSLOG`),
      '',
    ].join('\n'),
  );
  assertHarmless(conf, shutdownScript);
  if (isRoot) {
    const account = lookupUser(RUN_AS);
    if (account === undefined) throw new Error(`user ${RUN_AS} missing`);
    await chown(paths.conf, 0, account.gid);
    await chmod(paths.conf, 0o750);
    await chown(conf, 0, account.gid);
    await chmod(conf, 0o640);
    await chown(paths.run, account.uid, account.gid);
    await chmod(paths.run, 0o770);
  }
  return { ...paths, record };
}

/** Refuses to go on unless upsmon can only ever run our timestamp script. */
function assertHarmless(conf: string, shutdownScript: string): void {
  const lines = readFileSync(conf, 'utf8').split('\n');
  const commands = lines.filter((line) => /^\s*SHUTDOWNCMD/i.test(line));
  const script = readFileSync(shutdownScript, 'utf8');
  const ok =
    commands.length === 1 &&
    commands[0] === `SHUTDOWNCMD "${shutdownScript}"` &&
    !lines.some((line) => /^\s*(POWERDOWNFLAG|NOTIFYCMD)/i.test(line)) &&
    !/shutdown -|poweroff|halt|reboot|systemctl|init /.test(script);
  if (!ok) throw new Error(`safety check of ${conf} failed: not starting upsmon`);
}

/** Starts upsmon (secondary) against upsd and resolves once it has logged in. */
export async function startUpsmon(
  dir: string,
  upsd: { port: number; ups: string },
  timers: UpsmonTimers = NUT_DEFAULT_TIMERS,
  account: UpsmonAccount = TEST_SECONDARY,
): Promise<Upsmon> {
  if (!/^[A-Za-z0-9._@-]+$/.test(account.username + account.password))
    throw new Error('upsmon account: letters, digits and ._@- only (it goes into upsmon.conf unquoted)');
  const paths = await writeFiles(dir, upsd, timers, account);
  const before = await numLogins('127.0.0.1', upsd.port, upsd.ups);
  const env = {
    PATH: `${paths.bin}:/usr/sbin:/usr/bin:/sbin:/bin`,
    NUT_CONFPATH: paths.conf,
    NUT_STATEPATH: paths.run,
    NUT_ALTPIDPATH: paths.run,
  };
  const asUser = isRoot ? ['-u', RUN_AS] : [];
  const command = isRoot
    ? [
        'unshare',
        '-m',
        '--propagation',
        'private',
        'sh',
        '-c',
        'mount --bind "$0" /run/nut && exec "$@"',
        paths.run,
        UPSMON_BIN,
        '-F',
        ...asUser,
      ]
    : [UPSMON_BIN, '-F'];
  const log = openSync(join(dir, 'upsmon.log'), 'a');
  let child: ChildProcess;
  try {
    child = spawn(command[0] as string, command.slice(1), {
      detached: true,
      stdio: ['ignore', log, log],
      env,
    });
  } finally {
    closeSync(log);
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid;
  if (pid === undefined) throw new Error('upsmon did not start');
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 5_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await until(
      async () => {
        if (child.exitCode !== null)
          throw new Error(
            `upsmon exited (${child.exitCode}): ${readFileSync(join(dir, 'upsmon.log'), 'utf8').slice(-500)}`,
          );
        return (await numLogins('127.0.0.1', upsd.port, upsd.ups)) > before ? true : undefined;
      },
      () => 'upsmon did not log in to upsd within 10 s',
      10_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const tree = () => [pid, ...childrenOf(pid)];
  return {
    pid,
    exited,
    async shutdownAt() {
      const text = await readFile(paths.record, 'utf8').catch(() => '');
      const first = text.split('\n').find((line) => /^\d+$/.test(line.trim()));
      return first === undefined ? undefined : Number(BigInt(first.trim()) / 1000n) / 1000;
    },
    rss: () => tree().reduce((sum, p) => sum + rssMiB(p), 0),
    uss: () => tree().reduce((sum, p) => sum + ussMiB(p), 0),
    cpuSeconds: () => tree().reduce((sum, p) => sum + cpuSeconds(p), 0),
    stop,
  };
}
