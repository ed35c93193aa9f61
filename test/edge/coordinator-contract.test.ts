/**
 * The coordinator's contract (test/helpers/coordinator-contract.ts) on the edge runtime: the Worker
 * and its fleet Durable Object in local workerd. The same suite runs against the Node coordinator
 * in test/coordinator-contract.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeCoordinatorContract } from '../helpers/coordinator-contract.js';
import { describeEdge, startEdgeCoordinator } from '../helpers/edge.js';

const ADMIN_TOKEN = 'contract-edge-admin-token-0123456789';

describeEdge('the edge runtime', () => {
  describeCoordinatorContract(
    'edge',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'upsfleet-contract-edge-'));
      const edge = await startEdgeCoordinator({ dir, bindings: { UPSFLEET_ADMIN_TOKEN: ADMIN_TOKEN } });
      return {
        url: edge.url,
        adminToken: ADMIN_TOKEN,
        restart: () => edge.restart(),
        async stop() {
          await edge.stop();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
    // In the fleet object's storage: an eviction or a workerd restart does not forget them.
    { durableGuards: true },
  );
});
