/**
 * Simulated agents written straight into a coordinator's database before it starts. Enrolling
 * 10,000 agents through the API one by one would take longer than the figures themselves; the rows
 * are the same ones enrollment writes (name, Ed25519 public key, its thumbprint), and the
 * coordinator's own key is made here the way its first start makes it, so that the simulated agents
 * can pin it. The bench says so in its output.
 */

import { loadOrCreateSigningKey } from '../../coordinator/src/bootstrap.js';
import { type Database, type DatabaseTarget, openDatabase } from '../../coordinator/src/db/client.js';
import { insertPolicy } from '../../coordinator/src/db/queries/policies.js';
import { agents } from '../../coordinator/src/db/schema.js';
import type { Ed25519PublicJwk } from '../../shared/src/protocol.js';
import { generateSigningKey, type StoredPrivateKey } from '../../shared/src/signing.js';

export interface SimAgentCredentials {
  readonly id: string;
  readonly name: string;
  readonly key: StoredPrivateKey;
}

export interface SeededFleet {
  /** The coordinator's public key, as enrollment would have handed it to each agent. */
  readonly coordinatorKey: Ed25519PublicJwk;
  readonly agents: readonly SimAgentCredentials[];
}

const BATCH = 500;

async function insertAgents(database: Database, names: readonly string[]): Promise<SimAgentCredentials[]> {
  const credentials: SimAgentCredentials[] = [];
  for (let start = 0; start < names.length; start += BATCH) {
    const batch = await Promise.all(
      names.slice(start, start + BATCH).map(async (name) => ({ name, ...(await generateSigningKey()) })),
    );
    const rows = await database.db
      .insert(agents)
      .values(
        batch.map(({ name, keyPair }) => ({
          name,
          publicKey: keyPair.publicJwk,
          kid: keyPair.kid,
          enrolledAt: new Date(),
        })),
      )
      .returning({ id: agents.id, name: agents.name });
    const keyOf = new Map(batch.map(({ name, stored }) => [name, stored]));
    for (const row of rows) {
      const key = keyOf.get(row.name);
      if (key !== undefined) credentials.push({ id: row.id, name: row.name, key });
    }
  }
  return credentials;
}

/** Migrates `target`, makes the coordinator key, inserts one agent per name and, if given, the policy. */
export async function seedFleet(
  target: DatabaseTarget,
  names: readonly string[],
  policy?: unknown,
): Promise<SeededFleet> {
  const database = await openDatabase(target);
  try {
    const coordinator = await loadOrCreateSigningKey(database.db);
    const seeded = await insertAgents(database, names);
    if (policy !== undefined) await insertPolicy(database.db, policy, 'bench seed', new Date());
    return { coordinatorKey: coordinator.publicJwk, agents: seeded };
  } finally {
    await database.close();
  }
}
