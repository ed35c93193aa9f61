/**
 * The whole admin flow through the `upsfleet` binary against a coordinator process: tokens,
 * enrollment, policy validate/apply/show/plan, a drill with live progress from a real agent, events
 * (also followed live), runs, status, the audit log — and the exit codes scripts rely on.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotifyEvent } from '../../shared/src/protocol.js';
import { generateSigningKey, type SigningKeyPair } from '../../shared/src/signing.js';
import { signUpsEvent } from '../../shared/src/tokens.js';
import { coordinatorUrl, spawnUpsfleet, type WatchedProcess } from '../helpers/processes.js';
import { type Receiver, startReceiver, wechatOk } from '../notify/receiver.js';

const ADMIN_TOKEN = 'cli-e2e-admin-token-0123456789abcdef';

interface CliResult {
  readonly code: number | NodeJS.Signals;
  readonly stdout: string;
}

/** Appends `line` to the record: the harmless "shutdown". */
const recorder = (record: string, line: string): string[] => [
  process.execPath,
  '-e',
  `require('node:fs').appendFileSync(process.argv[1], '${line}\\n')`,
  record,
];

// Every step spawns the CLI (a Node process each): generous per-test time on a loaded 2-core machine.
describe('the upsfleet CLI against a coordinator process', { timeout: 180_000 }, () => {
  let dir: string;
  let base: string;
  let coordinator: WatchedProcess;
  let agent: WatchedProcess | undefined;
  let watcher: { agentId: string; keyPair: SigningKeyPair };
  let seq = 0;
  let opsToken: string;
  let receiver: Receiver;

  /** Runs `upsfleet ARGS` to completion; the token comes from UPSFLEET_TOKEN unless given. */
  async function cli(args: string[], token = ADMIN_TOKEN): Promise<CliResult> {
    const proc = spawnUpsfleet(`cli ${args[0]}`, args, { UPSFLEET_URL: base, UPSFLEET_TOKEN: token });
    const code = await proc.exited;
    return { code, stdout: proc.lines.join('\n') };
  }

  async function cliJson<T>(args: string[], token?: string): Promise<T> {
    const result = await cli([...args, '--json'], token);
    expect(result.code, result.stdout).toBe(0);
    return JSON.parse(result.stdout) as T;
  }

  async function pushEvent(events: NotifyEvent[], status: string[], charge: string): Promise<void> {
    const now = Date.now();
    const token = await signUpsEvent(
      watcher.keyPair,
      watcher.agentId,
      { seq: ++seq, ups: 'nas-ups', observedAt: now, status, events, vars: { 'battery.charge': charge } },
      now,
    );
    const pushed = await fetch(`${base}/agent/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events: [token] }),
    });
    expect(pushed.status).toBe(200);
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'upsfleet-cli-'));
    coordinator = spawnUpsfleet(
      'coordinator',
      ['coordinator', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data')],
      {
        UPSFLEET_ADMIN_TOKEN: ADMIN_TOKEN,
      },
    );
    base = await coordinatorUrl(coordinator);
    receiver = await startReceiver({ respond: wechatOk });
  });

  afterAll(async () => {
    await agent?.stop();
    await coordinator?.stop();
    await receiver?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('says clearly when it cannot reach the coordinator (3) or has no valid token (4)', async () => {
    const unreachable = spawnUpsfleet('cli', ['status', '--url', 'http://127.0.0.1:9'], {
      UPSFLEET_TOKEN: 'x',
    });
    expect(await unreachable.exited).toBe(3);
    expect(unreachable.lines.join('\n')).toMatch(
      /cannot reach the coordinator at http:\/\/127\.0\.0\.1:9 .*is it running\?/,
    );
    const none = await cli(['status'], '');
    expect(none.code).toBe(4);
    expect(none.stdout).toContain('401 missing bearer token');
    expect(none.stdout).toContain('check --token or UPSFLEET_TOKEN');
    const wrong = await cli(['hosts'], 'ufa_wrong');
    expect(wrong.code).toBe(4);
  });

  it('tokens: an admin creates a scoped token, shown once; wrong usage exits 2', async () => {
    const created = await cliJson<{ token: string; scopes: string[] }>([
      'tokens',
      'create',
      'ops',
      '--scopes',
      'write',
    ]);
    expect(created.scopes).toEqual(['write']);
    opsToken = created.token;
    const listed = await cli(['tokens']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^ops\s+write\s+admin\s+/m);
    expect(listed.stdout).not.toContain(opsToken);
    const usage = await cli(['tokens', 'create', 'nobody']);
    expect(usage.code).toBe(2);
    expect(usage.stdout).toContain('--scopes is required');
    const notAdmin = await cli(['tokens'], opsToken);
    expect(notAdmin.code).toBe(4);
    expect(notAdmin.stdout).toContain('this operation needs "admin"');
  });

  it('enrollment, then a real agent connects', async () => {
    const web = await cliJson<{ token: string }>(['enrollments', 'create', 'web1'], opsToken);
    const stateDir = join(dir, 'state-web1');
    const enroll = spawnUpsfleet(
      'enroll',
      ['enroll', '--coordinator', base, '--name', 'web1', '--state-dir', stateDir],
      {
        UPSFLEET_ENROLL_TOKEN: web.token,
      },
    );
    expect(await enroll.exited).toBe(0);
    const config = join(dir, 'agent.yaml');
    await writeFile(
      config,
      [
        `coordinator: ${base}`,
        `stateDir: ${stateDir}`,
        'host:',
        `  shutdown: ${JSON.stringify(recorder(join(dir, 'record.log'), 'shutdown'))}`,
      ].join('\n'),
      { mode: 0o600 },
    );
    agent = spawnUpsfleet('agent', ['agent', '--config', config]);
    await agent.waitForLine(/connected to .* as web1/, 'connected');

    const nas = await cliJson<{ token: string }>(['enrollments', 'create', 'nas'], opsToken);
    const { keyPair } = await generateSigningKey();
    const enrolled = await fetch(`${base}/agent/v1/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: nas.token, name: 'nas', publicKey: keyPair.publicJwk }),
    });
    expect(enrolled.status).toBe(201);
    watcher = { agentId: ((await enrolled.json()) as { agentId: string }).agentId, keyPair };

    const hosts = await cli(['hosts']);
    expect(hosts.stdout).toMatch(/^web1\s+active\s+yes\s/m);
    expect(hosts.stdout).toMatch(/^nas\s+active\s+no\s/m);
  });

  it('policy: validate lists every error (1), apply refuses it listing them (5), a good one applies', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(
      bad,
      [
        'ups:',
        '  - name: nas-ups',
        '    watcher: nas',
        'stages:',
        '  - name: apps',
        '    hosts: [ghost]',
        '    trigger: { onBattery: soon }',
      ].join('\n'),
    );
    const validated = await cli(['policy', 'validate', bad]);
    expect(validated.code).toBe(1);
    expect(validated.stdout).toContain(`${bad}: invalid`);
    const errors = validated.stdout.split('\n').filter((line) => line.startsWith('  error: '));
    expect(errors.length).toBeGreaterThanOrEqual(2);
    const refused = await cli(['policy', 'apply', bad], opsToken);
    expect(refused.code).toBe(5);
    expect(refused.stdout).toContain('422');
    for (const error of errors) expect(refused.stdout).toContain(error.replace('  error: ', '  - '));

    const good = join(dir, 'policy.yaml');
    await writeFile(
      good,
      [
        'ups:',
        '  - name: nas-ups',
        '    watcher: nas',
        'hosts:',
        '  - name: web1',
        '    ups: [nas-ups]',
        'stages:',
        '  - name: apps',
        '    hosts: [web1]',
        '    trigger: { onBattery: 1h }',
        'restore:',
        '  stableFor: 0s',
      ].join('\n'),
    );
    const viewer = await cliJson<{ token: string }>(['tokens', 'create', 'viewer', '--scopes', 'read']);
    const readOnly = await cli(['policy', 'apply', good], viewer.token);
    expect(readOnly.code).toBe(4);
    expect(await cli(['policy', 'apply', good], opsToken)).toMatchObject({ code: 0 });
    const shown = await cliJson<{ document: { stages: { name: string }[] } }>(
      ['policy', 'show'],
      viewer.token,
    );
    expect(shown.document.stages.map((s) => s.name)).toEqual(['apps']);
    const plan = await cli(['policy', 'plan'], viewer.token);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('apps');
  });

  it('drill: live progress per stage and host, then a verdict per host, nothing run', async () => {
    const drill = await cli(['drill'], opsToken);
    expect(drill.code, drill.stdout).toBe(0);
    expect(drill.stdout).toMatch(/^Drill \d+ started/m);
    expect(drill.stdout).toMatch(/stage-fired\s+apps/);
    expect(drill.stdout).toMatch(/order\s+apps\s+web1/);
    expect(drill.stdout).toMatch(/^\s+web1\s+drill\s/m);
    expect(await readFile(join(dir, 'record.log'), 'utf8').catch(() => '')).toBe('');
  });

  it('notify: a WeChat Work channel is saved (its key masked) and its test message arrives', async () => {
    const file = join(dir, 'channel.yaml');
    await writeFile(
      file,
      [
        'name: phone',
        'type: wechat-work',
        `url: ${receiver.url('/cgi-bin/webhook/send?key=robot-key-0123456789')}`,
        'events: [onbatt, online, test]',
      ].join('\n'),
    );
    expect((await cli(['notify', 'apply', file], opsToken)).code).toBe(0);
    const listed = await cli(['notify', 'list'], opsToken);
    expect(listed.stdout).toMatch(/^phone\s+wechat-work\s+onbatt,online,test\s+all\s+all\s+yes\s+ok/m);
    expect(listed.stdout).not.toContain('robot-key-0123456789');

    const tested = cli(['notify', 'test', 'phone'], opsToken);
    const request = await receiver.next();
    expect((await tested).code).toBe(0);
    expect(request.path).toBe('/cgi-bin/webhook/send?key=robot-key-0123456789');
    expect(JSON.parse(request.body)).toMatchObject({
      msgtype: 'text',
      text: { content: expect.stringContaining('phone') },
    });
    const unknown = await cli(['notify', 'test', 'nobody'], opsToken);
    expect(unknown.code).toBe(5);
  });

  it('events --follow prints new events as they arrive and ends cleanly on Ctrl-C', async () => {
    await pushEvent(['ONLINE'], ['OL'], '100');
    const follow = spawnUpsfleet('events', ['events', '--follow'], {
      UPSFLEET_URL: base,
      UPSFLEET_TOKEN: opsToken,
    });
    await follow.waitForLine(/nas-ups\s+ONLINE\s+OL/, 'the existing event');
    const from = follow.mark();
    await pushEvent(['ONBATT'], ['OB', 'DISCHRG'], '97');
    await follow.waitForLine(/nas-ups\s+ONBATT\s+OB DISCHRG\s+97%/, 'the new event', from);
    expect(await follow.stop('SIGINT')).toBe(0);

    // The phone channel heard both: back on mains first, then on battery, in WeChat Work's format.
    const online = JSON.parse((await receiver.next()).body) as { text: { content: string } };
    expect(online.text.content).toMatch(/nas-ups/);
    expect(JSON.parse((await receiver.next()).body)).toEqual({
      msgtype: 'text',
      text: {
        content: expect.stringMatching(/^UPS nas-ups on battery — charge 97 %, stage 'apps' in 1 h$/),
      },
    });

    const onBattery = await cliJson<{ items: { events: string[]; host: string }[] }>([
      'events',
      '--type',
      'onbatt',
    ]);
    expect(onBattery.items.map((e) => [e.events, e.host])).toEqual([[['ONBATT'], 'nas']]);
    await pushEvent(['ONLINE'], ['OL', 'CHRG'], '97');
  });

  it('status, runs and one run, the audit log; an unknown run exits 5', async () => {
    const status = await cli(['status'], opsToken);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^nas-ups\s+online\s+OL CHRG\s+97%/m);
    expect(status.stdout).toContain('Hosts: 1 of 2 enrolled connected');
    expect(status.stdout).toContain('Policy: stages apps');

    const runs = await cli(['runs'], opsToken);
    expect(runs.stdout).toMatch(/^1\s+drill\s+ended\s/m);
    const one = await cli(['runs', '1'], opsToken);
    expect(one.stdout).toContain('Drill 1');
    expect(one.stdout).toMatch(/^apps\s+web1\s+shutdown\s+accepted\s+drill\s/m);
    const missing = await cli(['runs', '999'], opsToken);
    expect(missing.code).toBe(5);
    expect(missing.stdout).toContain('404 no run 999');

    const audit = await cliJson<{ items: { actor: string; action: string; status: number }[] }>(['audit']);
    const actions = audit.items.map((e) => `${e.actor} ${e.action} ${e.status}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        'admin tokens.create 201',
        'ops enrollments.create 201',
        'ops policy.apply 422',
        'ops policy.apply 200',
        'ops drills.start 202',
      ]),
    );
  });

  it('a revoked token is refused from then on (4)', async () => {
    expect((await cli(['tokens', 'revoke', 'ops'])).code).toBe(0);
    const after = await cli(['hosts'], opsToken);
    expect(after.code).toBe(4);
    expect(after.stdout).toContain('unknown, expired or revoked token');
  });
});
