/**
 * Rotating the coordinator's own key: an agent connected at the time re-pins at once, an agent that
 * was offline re-pins from the chain when it says hello, and both then accept orders signed by the
 * new key (a drill proves it end to end, over real WebSockets).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgentConfig } from '../agent/src/config.js';
import { enroll } from '../agent/src/enroll.js';
import { type RunningAgent, runAgent } from '../agent/src/run-agent.js';
import type { CoordinatorConfig } from '../coordinator/src/config.js';
import { type RunningCoordinator, startCoordinator } from '../coordinator/src/main.js';
import { createAdminApi } from './helpers/admin-api.js';
import { createWatchedLogger } from './helpers/watched-logger.js';

const ADMIN = 'rotation-test-admin-token-0123456789';
const config: CoordinatorConfig = {
  host: '127.0.0.1',
  port: 0,
  database: { kind: 'memory' },
  policyFile: undefined,
  adminToken: ADMIN,
  orderTtlMs: 600_000,
  heartbeatMs: 5_000,
  logLevel: 'error',
  metricsPublic: false,
  resumeSettleMs: 15_000,
  leaseIntervalMs: 5_000,
};

describe('coordinator key rotation', () => {
  let coordinator: RunningCoordinator;
  let dir: string;
  const coordinatorLog = createWatchedLogger();
  const agents: RunningAgent[] = [];

  const { call: admin } = createAdminApi({ base: () => coordinator.url, token: ADMIN });

  async function enrollHost(name: string): Promise<string> {
    const { token } = await admin<{ token: string }>('POST', '/api/v1/enrollments', { name });
    const stateDir = join(dir, name);
    await enroll({ coordinatorUrl: coordinator.url, token, name, stateDir });
    const file = join(dir, `${name}.yaml`);
    await writeFile(
      file,
      `coordinator: ${coordinator.url}\nstateDir: ${stateDir}\nhost:\n  shutdown: ["${process.execPath}", "-e", "0"]\n`,
    );
    return file;
  }

  /** Starts a host agent in this process; resolves once it is connected. */
  async function startHost(file: string) {
    const log = createWatchedLogger();
    const agent = await runAgent({ config: await loadAgentConfig(file), logger: log.logger });
    agents.push(agent);
    await log.waitFor(/connected to .* as /);
    return { agent, log };
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'upsfleet-rekey-'));
    coordinator = await startCoordinator(config, {
      logger: coordinatorLog.logger,
      announceAdminToken: () => {},
    });
    await admin('PUT', '/api/v1/policy', {
      ups: [{ name: 'nas-ups', watcher: 'nas' }],
      hosts: [
        { name: 'web1', ups: ['nas-ups'] },
        { name: 'web2', ups: ['nas-ups'] },
      ],
      stages: [{ name: 'all', hosts: ['web1', 'web2'], trigger: { onBattery: '10m' }, grace: '30s' }],
    });
  });

  afterAll(async () => {
    for (const agent of agents) await agent.stop();
    await coordinator?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('a connected agent re-pins at once, an offline one from the chain on hello; both accept the new key', async () => {
    const web1File = await enrollHost('web1');
    const web2File = await enrollHost('web2');
    const web1 = await startHost(web1File);
    const pinned = join(dir, 'web2', 'coordinator-key.jwk');
    const web2Before = await readFile(pinned, 'utf8');

    // web2 is offline while the coordinator rotates its key twice.
    const first = await admin<{ kid: string; previousKid: string }>('POST', '/api/v1/coordinator/key/rotate');
    expect(first.kid).not.toBe(first.previousKid);
    await web1.log.waitFor(new RegExp(`rotated its key: now trusting ${first.kid}`));
    const second = await admin<{ kid: string }>('POST', '/api/v1/coordinator/key/rotate');
    await web1.log.waitFor(new RegExp(`now trusting ${second.kid}`));

    // web2 comes back: it follows the chain from the key it pinned at enrollment.
    const web2 = await startHost(web2File);
    await web2.log.waitFor(new RegExp(`now trusting ${second.kid}`));
    expect(await readFile(pinned, 'utf8')).not.toBe(web2Before);

    // A drill: every host verifies an order signed by the newest key.
    const drill = await admin<{ runId: string; number: number }>('POST', '/api/v1/drills');
    await coordinatorLog.waitFor(new RegExp(`run ${drill.number} ended: drill-complete`));
    const run = await admin<{ orders: { host: string; outcome: string | null }[] }>(
      'GET',
      `/api/v1/runs/${drill.runId}`,
    );
    expect(run.orders.map((o) => [o.host, o.outcome]).sort()).toEqual([
      ['web1', 'drill'],
      ['web2', 'drill'],
    ]);
  });
});
