/**
 * The walking skeleton, end to end on real parts: coordinator and host agent as separate processes
 * on loopback, a signed on-battery event, a signed order over the WebSocket, the agent's harmless
 * shutdown command run exactly once — and not again after the agent restarts.
 *
 * The "shutdown" appends a line to a file and then SIGKILLs its parent (the agent), the way a real
 * poweroff takes the agent down before it can report. On restart the coordinator re-sends the order
 * it never got a result for, and the agent must recognise it as already executed.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateSigningKey } from '../../shared/src/signing.js';
import { signUpsEvent } from '../../shared/src/tokens.js';
import { createAdminApi } from '../helpers/admin-api.js';
import { createPostgresDatabase, postgresRequired, probePostgres, TEST_PG_URL } from '../helpers/database.js';
import { coordinatorUrl, spawnNpm, spawnUpsfleet, type WatchedProcess } from '../helpers/processes.js';

const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

interface OrderView {
  id: string;
  host: string;
  stage: string;
  ackStatus: string | null;
  outcome: string | null;
}

const pg = await probePostgres();
const legs = [
  { name: 'embedded PGlite (started with npm start)', kind: 'pglite' as const },
  { name: 'PostgreSQL', kind: 'postgres' as const },
];

describe.each(legs)('walking skeleton on $name', ({ kind }) => {
  const available = kind === 'pglite' || pg.ok;
  let dir: string;
  let coordinator: WatchedProcess | undefined;
  let dropDatabase: (() => Promise<void>) | undefined;
  const agents: WatchedProcess[] = [];

  beforeAll(async () => {
    if (!available) return;
    dir = await mkdtemp(join(tmpdir(), 'upsfleet-e2e-'));
    const env = { UPSFLEET_ADMIN_TOKEN: ADMIN_TOKEN, UPSFLEET_HEARTBEAT: '5s' };
    if (kind === 'pglite') {
      // Exactly the README's command, with a private data dir and a free port.
      coordinator = spawnNpm(
        'coordinator',
        ['start', '--', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data')],
        env,
      );
    } else {
      const database = await createPostgresDatabase();
      dropDatabase = database.drop;
      coordinator = spawnUpsfleet(
        'coordinator',
        ['coordinator', '--listen', '127.0.0.1:0', '--database-url', database.url],
        env,
      );
    }
  });

  afterAll(async () => {
    for (const agent of agents) await agent.stop();
    await coordinator?.stop();
    await dropDatabase?.();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    // npm itself dies by the signal; the coordinator under it must stop gracefully.
    if (coordinator !== undefined) expect(coordinator.lines.join('\n')).toContain('coordinator stopped');
  });

  it.runIf(available || postgresRequired)(
    'signed ONBATT → signed order → shutdown runs exactly once, even after an agent restart',
    async () => {
      if (!available)
        throw new Error(
          `PostgreSQL is required (CI=true) but unreachable at ${TEST_PG_URL}: ${pg.ok ? '' : pg.reason}`,
        );
      if (coordinator === undefined) throw new Error('coordinator not started');
      const base = await coordinatorUrl(coordinator);
      const { call: api } = createAdminApi({ base, token: ADMIN_TOKEN });

      // The coordinator answers /healthz and refuses an unauthenticated admin call.
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const anonymous = await fetch(`${base}/api/v1/hosts`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('content-type')).toBe('application/problem+json');

      // Policy: one UPS watched by "nas", one host "web1" shut down after 1 s on battery.
      await api('PUT', '/api/v1/policy', {
        ups: [{ name: 'nas-ups', watcher: 'nas' }],
        hosts: [{ name: 'web1', ups: ['nas-ups'] }],
        stages: [{ name: 'apps', hosts: ['web1'], trigger: { onBattery: '1s' } }],
      });

      // Enroll the host with the CLI, exactly as an admin would.
      const hostEnrollment = await api<{ token: string }>('POST', '/api/v1/enrollments', { name: 'web1' });
      const stateDir = join(dir, 'web1-state');
      const enroll = spawnUpsfleet('enroll', [
        'enroll',
        '--coordinator',
        base,
        '--token',
        hostEnrollment.token,
        '--name',
        'web1',
        '--state-dir',
        stateDir,
      ]);
      expect(await enroll.exited).toBe(0);

      // The watcher "nas" enrolls over the API with its own key (the watcher role itself is issue 3).
      const watcherEnrollment = await api<{ token: string }>('POST', '/api/v1/enrollments', { name: 'nas' });
      const { keyPair: watcherKey } = await generateSigningKey();
      const enrolled = await fetch(`${base}/agent/v1/enroll`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          token: watcherEnrollment.token,
          name: 'nas',
          publicKey: watcherKey.publicJwk,
        }),
      });
      expect(enrolled.status).toBe(201);
      const { agentId: watcherId } = (await enrolled.json()) as { agentId: string };

      // The host agent, whose "shutdown" records itself and then takes the agent down like a poweroff would.
      const record = join(dir, 'shutdowns.log');
      const config = join(dir, 'agent.yaml');
      const script =
        "require('node:fs').appendFileSync(process.argv[1], 'shutdown ' + process.pid + '\\n'); process.kill(process.ppid, 'SIGKILL')";
      await writeFile(
        config,
        [
          `coordinator: ${base}`,
          `stateDir: ${stateDir}`,
          'host:',
          `  shutdown: ${JSON.stringify([process.execPath, '-e', script, record])}`,
        ].join('\n'),
      );
      const agent = spawnUpsfleet('agent', ['agent', '--config', config]);
      agents.push(agent);
      await agent.waitForLine(/connected to .* as web1/, 'connected');
      await coordinator.waitForLine(/INFO .* hello agent=web1/, 'the agent hello');

      // A signed "on battery" event, pushed over HTTP by the watcher.
      const token = await signUpsEvent(
        watcherKey,
        watcherId,
        {
          seq: 1,
          ups: 'nas-ups',
          observedAt: Date.now(),
          status: ['OB', 'DISCHRG'],
          events: ['ONBATT'],
          vars: { 'battery.charge': '97' },
        },
        Date.now(),
      );
      const pushed = await fetch(`${base}/agent/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ events: [token] }),
      });
      expect(pushed.status).toBe(200);

      // The shutdown ran (and killed the agent); the coordinator recorded the acknowledgement.
      expect(await agent.exited).toBe('SIGKILL');
      await coordinator.waitForLine(/ack accepted agent=\S+ order=/, 'the ack');
      expect((await readFile(record, 'utf8')).trim().split('\n')).toHaveLength(1);
      const runs = await api<{
        items: { id: string; reason: string; state: string; firedStages: string[] }[];
      }>('GET', '/api/v1/runs');
      expect(runs.items).toEqual([
        expect.objectContaining({ reason: 'power lost: nas-ups', state: 'active', firedStages: ['apps'] }),
      ]);
      const runId = runs.items[0]?.id ?? '';
      const before = await api<{ items: OrderView[] }>('GET', `/api/v1/orders?run=${runId}`);
      expect(before.items).toEqual([
        expect.objectContaining({ host: 'web1', stage: 'apps', ackStatus: 'accepted' }),
      ]);

      // The agent comes back (the host rebooted): the coordinator re-sends the order it never got a
      // result for, and the agent refuses to run it twice.
      const restarted = spawnUpsfleet('agent-restarted', ['agent', '--config', config]);
      agents.push(restarted);
      await restarted.waitForLine(/order \S+ is a duplicate/, 'the duplicate order refusal');
      await coordinator.waitForLine(/ack duplicate agent=\S+ order=/, 'the duplicate ack');
      // The line is logged inside the batch's transaction (group commit): read once it has committed.
      await vi.waitFor(
        async () => {
          const after = await api<{ items: OrderView[] }>('GET', `/api/v1/orders?run=${runId}`);
          expect(after.items).toEqual([
            expect.objectContaining({ id: before.items[0]?.id, ackStatus: 'duplicate' }),
          ]);
        },
        { timeout: 10_000, interval: 100 },
      );
      expect((await readFile(record, 'utf8')).trim().split('\n')).toHaveLength(1);
    },
  );
});
