import { and, asc, eq, gt, inArray, isNull, or, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { orders, runs } from '../schema.js';

export type OrderRow = typeof orders.$inferSelect;
export type NewOrder = Pick<
  typeof orders.$inferInsert,
  'id' | 'runId' | 'agentId' | 'kind' | 'host' | 'stage' | 'drill' | 'token' | 'createdAt' | 'expiresAt'
>;

/** Inserts the order unless this run already has one for that stage and agent; returns the stored one. */
export async function insertOrder(db: Db, order: NewOrder): Promise<OrderRow> {
  await db.insert(orders).values(order).onConflictDoNothing();
  const [row] = await db
    .select()
    .from(orders)
    .where(
      and(eq(orders.runId, order.runId), eq(orders.stage, order.stage), eq(orders.agentId, order.agentId)),
    );
  if (row === undefined) throw new Error('order vanished after insert');
  return row;
}

/**
 * Many orders at once (a stage's hosts): one multi-row insert that skips those this run already has
 * for that stage and agent, then one read; returns the stored orders in the order given.
 */
export async function insertOrders(db: Db, batch: readonly NewOrder[]): Promise<OrderRow[]> {
  if (batch.length === 0) return [];
  for (let i = 0; i < batch.length; i += 500)
    await db
      .insert(orders)
      .values(batch.slice(i, i + 500).map((order) => ({ ...order })))
      .onConflictDoNothing();
  const runIds = [...new Set(batch.map((order) => order.runId))];
  const agentIds = [...new Set(batch.map((order) => order.agentId))];
  const rows = await db
    .select()
    .from(orders)
    .where(and(inArray(orders.runId, runIds), inArray(orders.agentId, agentIds)));
  const key = (o: { runId: string; stage: string; agentId: string }) => `${o.runId} ${o.stage} ${o.agentId}`;
  const stored = new Map(rows.map((row) => [key(row), row]));
  return batch.map((order) => {
    const row = stored.get(key(order));
    if (row === undefined) throw new Error('order vanished after insert');
    return row;
  });
}

/**
 * Orders still owed to an agent: of the run still in progress, not expired, not refused, and with no
 * final outcome. An order the host acknowledged but whose result never came (the host went down
 * mid-way) is owed too: the agent recognises it as a duplicate, which is how a rebooted host proves
 * it will not run it twice. Once its run has ended, an order is owed to nobody: a host that boots
 * after the outage never hears of it again.
 */
export function pendingOrdersFor(db: Db, agentId: string, now: Date): Promise<OrderRow[]> {
  return db
    .select()
    .from(orders)
    .where(
      and(
        eq(orders.agentId, agentId),
        // Shutdown and UPS power-off orders are owed only while the run is still in its active phase:
        // once power is back (restoring), one delivered late would take a restored host (or the UPS)
        // down. Wake orders belong to the restore itself.
        or(
          inArray(
            orders.runId,
            db
              .select({ id: runs.id })
              .from(runs)
              .where(and(eq(runs.state, 'active'), eq(runs.phase, 'active'))),
          ),
          and(
            eq(orders.kind, 'wake'),
            inArray(orders.runId, db.select({ id: runs.id }).from(runs).where(eq(runs.state, 'active'))),
          ),
        ),
        gt(orders.expiresAt, now),
        or(isNull(orders.ackStatus), eq(orders.ackStatus, 'accepted')),
        or(isNull(orders.outcome), eq(orders.outcome, 'started')),
      ),
    )
    .orderBy(asc(orders.createdAt));
}

export async function findOrder(db: Db, id: string): Promise<OrderRow | undefined> {
  if (!UUID.test(id)) return undefined;
  const [row] = await db.select().from(orders).where(eq(orders.id, id));
  return row;
}

export async function markOrdersSent(db: Db, ids: readonly string[], at: Date): Promise<void> {
  if (ids.length === 0) return;
  await db
    .update(orders)
    .set({ lastSentAt: at })
    .where(inArray(orders.id, [...ids]));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Records an acknowledgement; returns the order, or undefined if it does not exist or belongs to another agent. */
export async function recordAck(
  db: Db,
  ack: {
    orderId: string;
    agentId: string;
    status: 'accepted' | 'duplicate' | 'rejected';
    reason?: string;
    at: Date;
  },
): Promise<OrderRow | undefined> {
  // Order ids come from agents' frames: anything that is not a UUID is simply unknown.
  if (!UUID.test(ack.orderId)) return undefined;
  const [row] = await db
    .update(orders)
    .set({ ackStatus: ack.status, ackReason: ack.reason ?? null, ackedAt: ack.at })
    .where(and(eq(orders.id, ack.orderId), eq(orders.agentId, ack.agentId)))
    .returning();
  return row;
}

/** Records a result; returns the order, or undefined if it does not exist or belongs to another agent. */
export async function recordResult(
  db: Db,
  result: {
    orderId: string;
    agentId: string;
    outcome: 'started' | 'succeeded' | 'failed' | 'drill';
    exitCode?: number | null;
    output?: string;
    error?: string;
    at: Date;
  },
): Promise<OrderRow | undefined> {
  if (!UUID.test(result.orderId)) return undefined;
  const [row] = await db
    .update(orders)
    .set({
      outcome: result.outcome,
      outcomeAt: result.at,
      exitCode: result.exitCode ?? null,
      output: result.output ?? null,
      error: result.error ?? null,
    })
    .where(and(eq(orders.id, result.orderId), eq(orders.agentId, result.agentId)))
    .returning();
  return row;
}

/** What a host said of an order: an acknowledgement or a result (recordAck, recordResult). */
export type OrderReport =
  | ({ readonly type: 'ack' } & Parameters<typeof recordAck>[1])
  | ({ readonly type: 'result' } & Parameters<typeof recordResult>[1]);

const CHUNK = 500;

/**
 * Many reports at once (a batch's acks and results): at most one multi-row UPDATE for the acks and
 * one for the results (per 500 orders). For an order reported twice the later report wins, as if
 * recorded one after another. The caller has checked that each order exists and is the agent's;
 * the agent is matched again here, so a report never touches another agent's order.
 */
export async function recordReports(db: Db, reports: readonly OrderReport[]): Promise<void> {
  const acks = new Map<string, Extract<OrderReport, { type: 'ack' }>>();
  const results = new Map<string, Extract<OrderReport, { type: 'result' }>>();
  for (const report of reports) {
    if (!UUID.test(report.orderId) || !UUID.test(report.agentId)) continue;
    if (report.type === 'ack') acks.set(report.orderId, report);
    else results.set(report.orderId, report);
  }
  const ackRows = [...acks.values()];
  for (let i = 0; i < ackRows.length; i += CHUNK) {
    const values = ackRows
      .slice(i, i + CHUNK)
      .map(
        (ack) =>
          sql`(${ack.orderId}::uuid, ${ack.agentId}::uuid, ${ack.status}::ack_status, ${ack.reason ?? null}::text, ${ack.at.toISOString()}::timestamptz)`,
      );
    await db.execute(sql`update ${orders}
      set ack_status = v.status, ack_reason = v.reason, acked_at = v.at
      from (values ${sql.join(values, sql`, `)}) as v(id, agent_id, status, reason, at)
      where ${orders.id} = v.id and ${orders.agentId} = v.agent_id`);
  }
  const resultRows = [...results.values()];
  for (let i = 0; i < resultRows.length; i += CHUNK) {
    const values = resultRows
      .slice(i, i + CHUNK)
      .map(
        (result) =>
          sql`(${result.orderId}::uuid, ${result.agentId}::uuid, ${result.outcome}::order_outcome, ${result.at.toISOString()}::timestamptz, ${result.exitCode ?? null}::integer, ${result.output ?? null}::text, ${result.error ?? null}::text)`,
      );
    await db.execute(sql`update ${orders}
      set outcome = v.outcome, outcome_at = v.at, exit_code = v.exit_code, output = v.output, error = v.error
      from (values ${sql.join(values, sql`, `)}) as v(id, agent_id, outcome, at, exit_code, output, error)
      where ${orders.id} = v.id and ${orders.agentId} = v.agent_id`);
  }
}

/** Oldest first; `offset`/`limit` page through them. */
export function listOrders(
  db: Db,
  filter: { runId?: string; agentId?: string; host?: string; offset?: number; limit?: number } = {},
): Promise<OrderRow[]> {
  const conditions: SQL[] = [];
  if (filter.runId !== undefined) conditions.push(eq(orders.runId, filter.runId));
  if (filter.agentId !== undefined) conditions.push(eq(orders.agentId, filter.agentId));
  if (filter.host !== undefined) conditions.push(eq(orders.host, filter.host));
  const query = db
    .select()
    .from(orders)
    .where(and(...conditions))
    .orderBy(asc(orders.createdAt), asc(orders.id))
    .offset(filter.offset ?? 0);
  return filter.limit === undefined ? query : query.limit(filter.limit);
}
