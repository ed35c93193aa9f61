/**
 * A private PostgreSQL server for one test, so that it can be stopped and started without touching
 * the machine's shared server (other suites use that one in parallel): initdb in a temp dir, a free
 * loopback port, a random password, pg_ctl to start and stop it. Run as the `postgres` user when
 * the tests run as root (initdb refuses root). Stopped and removed by `close()`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, logTail, lookupUser } from '../nut/daemon.js';

const run = promisify(execFile);
const RUN_AS = 'postgres';
const isRoot = process.getuid?.() === 0;

/** The newest /usr/lib/postgresql/<version>/bin holding initdb and pg_ctl, if any. */
function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(b) - Number(a));
  return versions
    .map((version) => join(root, version, 'bin'))
    .find((bin) => existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl')));
}

/** Why a private PostgreSQL cannot run here, or undefined when it can. */
export function privatePostgresMissingReason(): string | undefined {
  if (postgresBin() === undefined) return 'no /usr/lib/postgresql/*/bin/initdb (apt-get install postgresql)';
  if (isRoot && lookupUser(RUN_AS) === undefined) return `user ${RUN_AS} missing (install postgresql)`;
  if (isRoot && !existsSync('/usr/sbin/runuser') && !existsSync('/sbin/runuser')) return 'runuser not found';
  return undefined;
}

export interface PrivatePostgres {
  /** `postgres://postgres:<password>@127.0.0.1:<port>/postgres` */
  readonly url: string;
  /** pg_ctl stop -m fast: every connection is terminated, as in a server restart. */
  stop(): Promise<void>;
  /** pg_ctl start, waiting until it accepts connections. */
  start(): Promise<void>;
  /** The tail of the server log, for failure messages. */
  log(): string;
  close(): Promise<void>;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = postgresBin();
  if (bin === undefined) throw new Error(privatePostgresMissingReason());
  const dir = await mkdtemp(join(tmpdir(), 'upsfleet-pg-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const password = randomBytes(18).toString('base64url');
  const port = await freePort();
  const account = isRoot ? lookupUser(RUN_AS) : undefined;
  if (account !== undefined) await chown(dir, account.uid, account.gid);
  await writeFile(join(dir, 'pwfile'), `${password}\n`, { mode: 0o600 });
  if (account !== undefined) await chown(join(dir, 'pwfile'), account.uid, account.gid);

  const as = async (program: string, args: string[]): Promise<void> => {
    const [file, argv] =
      account === undefined ? [program, args] : ['runuser', ['-u', RUN_AS, '--', program, ...args]];
    await run(file, argv, { cwd: dir, timeout: 60_000 });
  };
  const pgCtl = (args: string[]) => as(join(bin, 'pg_ctl'), ['-D', data, ...args]);

  await as(join(bin, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth=scram-sha-256',
    `--pwfile=${join(dir, 'pwfile')}`,
    '--no-sync',
    '--no-instructions',
  ]);
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c full_page_writes=off`;
  const start = () => pgCtl(['-w', '-t', '30', '-l', logFile, '-o', options, 'start']);
  try {
    await start();
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  let running = true;
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    async stop() {
      await pgCtl(['-w', '-t', '30', '-m', 'fast', 'stop']);
      running = false;
    },
    async start() {
      await start();
      running = true;
    },
    log: () => logTail(logFile),
    async close() {
      if (running) await pgCtl(['-w', '-t', '30', '-m', 'immediate', 'stop']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
