import type { CryptoKey } from 'jose';
import { importPublicKey } from '../../../shared/src/signing.js';
import type { Db } from '../db/client.js';
import { findActiveAgent } from '../db/queries/agents.js';

/**
 * Public keys of active agents, imported once and cached (importing on every verify costs a third
 * of the throughput). `forget` drops an agent's key, e.g. after revocation.
 */
export function createAgentKeys(db: Db) {
  const cache = new Map<string, CryptoKey>();
  return {
    async keyOf(agentId: string): Promise<CryptoKey | undefined> {
      const cached = cache.get(agentId);
      if (cached !== undefined) return cached;
      if (!/^[0-9a-f-]{36}$/i.test(agentId)) return undefined;
      const agent = await findActiveAgent(db, agentId);
      if (agent === undefined) return undefined;
      const key = await importPublicKey(agent.publicKey);
      cache.set(agentId, key);
      return key;
    },
    forget(agentId: string): void {
      cache.delete(agentId);
    },
  };
}
export type AgentKeys = ReturnType<typeof createAgentKeys>;
