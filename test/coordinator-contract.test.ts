/**
 * The coordinator's contract (test/helpers/coordinator-contract.ts) on the Node runtime: `upsfleet
 * coordinator` as a process, on PostgreSQL when there is one (as the edge always is), else PGlite.
 * The same suite runs against the edge Worker in test/edge/coordinator-contract.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeCoordinatorContract } from './helpers/coordinator-contract.js';
import { createPostgresDatabase, probePostgres } from './helpers/database.js';
import { coordinatorUrl, spawnUpsfleet } from './helpers/processes.js';

const ADMIN_TOKEN = 'contract-node-admin-token-0123456789';
const postgres = await probePostgres();

describeCoordinatorContract('node', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'upsfleet-contract-'));
  const database = postgres.ok ? await createPostgresDatabase() : undefined;
  const coordinator = spawnUpsfleet(
    'coordinator',
    [
      'coordinator',
      '--listen',
      '127.0.0.1:0',
      ...(database === undefined ? ['--data-dir', join(dir, 'data')] : ['--database-url', database.url]),
    ],
    { UPSFLEET_ADMIN_TOKEN: ADMIN_TOKEN },
  );
  const url = await coordinatorUrl(coordinator);
  return {
    url,
    adminToken: ADMIN_TOKEN,
    async stop() {
      await coordinator.stop();
      await database?.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
