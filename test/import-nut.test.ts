/**
 * `upsfleet import-nut` on a Synology secondary's files, then the admin commands a user runs next
 * against a coordinator process: `policy validate`, `policy plan --policy`, `notify apply`.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseAgentConfig } from '../agent/src/config.js';
import { adminCommand } from '../cli/src/admin-commands.js';
import { importNutCommand } from '../cli/src/import-nut/command.js';
import { coordinatorUrl, spawnUpsfleet, type WatchedProcess } from './helpers/processes.js';

const FIXTURES = new URL('../cli/src/import-nut/fixtures/synology/', import.meta.url).pathname;

const ADMIN_TOKEN = 'import-nut-admin-token-0123456789';
let coordinator: WatchedProcess | undefined;
let env: NodeJS.ProcessEnv;
let out: string;
let printed = '';
beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'upsfleet-import-nut-'));
  coordinator = spawnUpsfleet(
    'coordinator',
    ['coordinator', '--listen', '127.0.0.1:0', '--data-dir', join(out, 'data')],
    { UPSFLEET_ADMIN_TOKEN: ADMIN_TOKEN },
  );
  env = { UPSFLEET_URL: await coordinatorUrl(coordinator), UPSFLEET_TOKEN: ADMIN_TOKEN };
  const code = await importNutCommand(
    [
      '--upsmon',
      join(FIXTURES, 'upsmon.conf'),
      '--notify-script',
      join(FIXTURES, 'notify-wechat.sh'),
      '--out',
      out,
      '--name',
      'web1',
    ],
    (text) => {
      printed += text;
    },
  );
  expect(code).toBe(0);
});
afterAll(async () => {
  await coordinator?.stop();
  if (out !== undefined) await rm(out, { recursive: true, force: true });
});

const readYaml = async (file: string) => parse(await readFile(join(out, file), 'utf8'));

/** `upsfleet <command> <args>` in process: its exit code and what it printed. */
async function upsfleet(command: string, args: string[]): Promise<{ code: number; output: string }> {
  let output = '';
  const code = await adminCommand(command, args, env, { write: (text) => (output += text) });
  return { code, output };
}

describe('upsfleet import-nut, then the coordinator', () => {
  it('prints what it mapped and what it could not, with file and line', () => {
    expect(printed).toContain('Wrote ');
    expect(printed).toMatch(/Not mapped:\n.*upsmon\.conf:11: POWERDOWNFLAG \/etc\/killpower/);
  });

  it('the written policy validates and plans: web1 goes down when the battery runs low', async () => {
    const policy = join(out, 'policy.yaml');
    expect(await upsfleet('policy', ['validate', policy])).toEqual({ code: 0, output: `${policy}: valid\n` });

    const scenario = join(out, 'scenario.yaml');
    await writeFile(
      scenario,
      [
        'kind: timeline',
        'events:',
        '  - { at: 0s, ups: ups-192.168.1.7, status: OB DISCHRG }',
        '  - { at: 5m, ups: ups-192.168.1.7, status: OB DISCHRG LB }',
      ].join('\n'),
    );
    const plan = await upsfleet('policy', ['plan', '--policy', policy, '--scenario', scenario]);
    expect(plan.code).toBe(0);
    expect(plan.output).toMatch(/\+5:00 +web1 ← shutdown order \(stage shutdown/);
  });

  it('the written channel file applies', async () => {
    const applied = await upsfleet('notify', ['apply', join(out, 'channels.yaml')]);
    expect(applied).toEqual({ code: 0, output: 'Channel "wechat-work" (wechat-work) saved.\n' });
    const listed = await upsfleet('notify', ['list']);
    expect(listed.output).toMatch(
      /wechat-work +wechat-work +online,onbatt,lowbatt,fsd,commok,commbad,stage-fired,/,
    );
  });

  it('the agent file holds the host, its shutdown argv and its own upsd reading', async () => {
    expect(await readYaml('agent.yaml')).toMatchObject({
      host: {
        name: 'web1',
        shutdown: ['/sbin/shutdown', '-h', '+0'],
        upsd: [{ upsd: '192.168.1.7', name: 'ups', username: 'monuser', password: 'secret' }],
      },
    });
    // And the agent itself reads it: host role with its own reading of the NAS's upsd.
    const config = parseAgentConfig(await readFile(join(out, 'agent.yaml'), 'utf8'), 'agent.yaml');
    expect(config.host?.shutdown).toEqual(['/sbin/shutdown', '-h', '+0']);
    expect(config.host?.upsd).toEqual([
      expect.objectContaining({ name: 'ups', username: 'monuser', password: 'secret' }),
    ]);
  });
});
