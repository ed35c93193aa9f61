/**
 * The CLI as a user installs it: `npm pack` makes the tarball, `npm i -g` installs it into a prefix of
 * its own, and the installed `upsfleet` (the bundle, no tsx, no TypeScript) prints its help, and
 * `npx upsfleet demo` runs the whole demonstration from it: the coordinator on its embedded
 * database, the NUT server, the agents and the admin client, all from the bundle.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/processes.js';

const run = promisify(execFile);

describe('the npm package', () => {
  let dir: string;
  let prefix: string;
  let upsfleet: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'upsfleet-package-'));
    prefix = join(dir, 'prefix');
    const { stdout } = await run('npm', ['pack', '--pack-destination', dir], { cwd: REPO_ROOT });
    const tarball = stdout.trim().split('\n').at(-1) ?? '';
    expect(tarball).toMatch(/^upsfleet-.*\.tgz$/);
    await run(
      'npm',
      [
        'install',
        '--global',
        '--prefix',
        prefix,
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        `./${tarball}`,
      ],
      { cwd: dir },
    );
    upsfleet = join(prefix, 'bin', 'upsfleet');
    // What a user's shell has: the prefix's bin on PATH, and no checkout anywhere near.
    env = { PATH: `${join(prefix, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: dir };
  });

  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('installs with PGlite as its only dependency (everything else is in the bundle)', async () => {
    const installed = join(prefix, 'lib', 'node_modules', 'upsfleet');
    expect(await readdir(join(installed, 'node_modules'))).toEqual(['@electric-sql']);
    expect(await readdir(installed)).not.toContain('coordinator');
    // The embedded database's template, for the very PGlite installed beside it: no initdb on a
    // first start (a template of another PGlite version would not be used).
    const pglite = JSON.parse(
      await readFile(join(installed, 'node_modules', '@electric-sql', 'pglite', 'package.json'), 'utf8'),
    ) as { version: string };
    expect(await readdir(join(installed, 'dist', 'cli', 'pglite'))).toEqual([
      expect.stringMatching(
        new RegExp(`^pgdata-${pglite.version.replaceAll('.', '\\.')}-[0-9a-f]{12}\\.tar\\.gz$`),
      ),
    ]);
  });

  it('`upsfleet --help` prints the commands', async () => {
    const { stdout } = await run(upsfleet, ['--help'], { cwd: dir, env });
    expect(stdout).toMatch(/^upsfleet — staged fleet shutdown/);
    expect(stdout).toContain('upsfleet policy plan');
  });

  it('`upsfleet agent --help` and `upsfleet status --help` print their usage and exit 0', async () => {
    // execFile rejects on a non-zero exit: resolving is exit code 0.
    const agent = await run(upsfleet, ['agent', '--help'], { cwd: dir, env });
    expect(agent.stdout).toMatch(/^usage: upsfleet agent --config FILE/);
    const status = await run(upsfleet, ['status', '--help'], { cwd: dir, env });
    expect(status.stdout).toMatch(/^Admin commands/);
  });

  it('`npx upsfleet demo` runs from the installed package', async () => {
    const { stdout } = await run('npx', ['--no-install', 'upsfleet', 'demo'], {
      cwd: dir,
      env: { ...env, npm_config_prefix: prefix },
    });
    expect(stdout).toMatch(/run-ended {2}restored/);
    expect(stdout).toContain('shutdowns recorded (nothing was powered off): web1, app1, db1');
  });
});
