import { and, asc, eq } from 'drizzle-orm';
import type { Ed25519PublicJwk } from '../../../../shared/src/protocol.js';
import type { Db } from '../client.js';
import { parseStored } from '../errors.js';
import { agents } from '../schema.js';
import { AgentPublicKeySchema } from '../stored-values.js';

export interface AgentRow {
  readonly id: string;
  readonly name: string;
  readonly publicKey: Ed25519PublicJwk;
  readonly kid: string;
  readonly status: 'active' | 'revoked';
  readonly enrolledAt: Date;
  readonly lastSeenAt: Date | null;
  readonly lastEventSeq: number | null;
}

/** A row as read: its public key checked (StoredDataError when this version cannot read it). */
function agentRow(row: typeof agents.$inferSelect): AgentRow {
  return {
    ...row,
    publicKey: parseStored(AgentPublicKeySchema, row.publicKey, `The public key of agent ${row.name}`),
  };
}

export async function findActiveAgent(db: Db, id: string): Promise<AgentRow | undefined> {
  const [row] = await db
    .select()
    .from(agents)
    .where(and(eq(agents.id, id), eq(agents.status, 'active')));
  return row === undefined ? undefined : agentRow(row);
}

export async function findActiveAgentByName(db: Db, name: string): Promise<AgentRow | undefined> {
  const [row] = await db
    .select()
    .from(agents)
    .where(and(eq(agents.name, name), eq(agents.status, 'active')));
  return row === undefined ? undefined : agentRow(row);
}

/** An agent as the admin views list it: everything but its public key. */
export type AgentSummary = Omit<AgentRow, 'publicKey'>;

/**
 * Every agent, for the admin views (hosts, the live feed, the dashboard). Their stored keys are
 * not read: none of these shows one, and one key this version cannot read must not hide the whole
 * fleet from its operators (the agent's own connection still refuses it).
 */
export async function listAgents(db: Db): Promise<AgentSummary[]> {
  return db
    .select({
      id: agents.id,
      name: agents.name,
      kid: agents.kid,
      status: agents.status,
      enrolledAt: agents.enrolledAt,
      lastSeenAt: agents.lastSeenAt,
      lastEventSeq: agents.lastEventSeq,
    })
    .from(agents)
    .orderBy(asc(agents.name));
}

/**
 * The active agents' ids and names: all that issuing orders needs. Their stored keys are not read,
 * so one key this version cannot read (StoredDataError) stops no order to anyone.
 */
export async function listActiveAgentIds(db: Db): Promise<{ id: string; name: string }[]> {
  return db
    .select({ id: agents.id, name: agents.name })
    .from(agents)
    .where(eq(agents.status, 'active'))
    .orderBy(asc(agents.name));
}

export async function insertAgent(
  db: Db,
  agent: { name: string; publicKey: Ed25519PublicJwk; kid: string; enrolledAt: Date },
): Promise<AgentRow> {
  const [row] = await db.insert(agents).values(agent).returning();
  if (row === undefined) throw new Error('insert into agents returned no row');
  return agentRow(row);
}

export async function touchAgent(db: Db, id: string, at: Date): Promise<void> {
  await db.update(agents).set({ lastSeenAt: at }).where(eq(agents.id, id));
}

/** Revokes an active agent; false if there was none with that id. */
export async function revokeAgent(db: Db, id: string): Promise<boolean> {
  const rows = await db
    .update(agents)
    .set({ status: 'revoked' })
    .where(and(eq(agents.id, id), eq(agents.status, 'active')))
    .returning({ id: agents.id });
  return rows.length === 1;
}

/** Replaces an active agent's public key (key rotation). */
export async function replaceAgentKey(
  db: Db,
  id: string,
  publicKey: Ed25519PublicJwk,
  kid: string,
): Promise<boolean> {
  const rows = await db
    .update(agents)
    .set({ publicKey, kid })
    .where(and(eq(agents.id, id), eq(agents.status, 'active')))
    .returning({ id: agents.id });
  return rows.length === 1;
}
