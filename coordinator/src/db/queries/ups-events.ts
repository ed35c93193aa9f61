import { and, desc, eq, lt, sql } from 'drizzle-orm';
import type { PowerState } from '../../../../shared/src/protocol.js';
import type { Db } from '../client.js';
import { agents, upsEvents, upsStates } from '../schema.js';

export interface NewUpsEvent {
  readonly agentId: string;
  readonly ups: string;
  readonly seq: number;
  readonly events: readonly string[];
  readonly status: readonly string[] | null;
  readonly power: PowerState;
  readonly vars: Readonly<Record<string, string>>;
  readonly observedAt: Date;
  readonly receivedAt: Date;
}

export type RecordOutcome = { readonly stored: true } | { readonly stored: false; readonly lastSeq: number };

/**
 * Stores one signed event and the UPS's current state, in one transaction, only if its sequence
 * number is above the agent's last one (a replay or a reordered duplicate stores nothing).
 */
export function recordUpsEvent(db: Db, event: NewUpsEvent): Promise<RecordOutcome> {
  return db.transaction(async (tx) => {
    const advanced = await tx
      .update(agents)
      .set({ lastEventSeq: event.seq })
      .where(
        and(
          eq(agents.id, event.agentId),
          sql`(${agents.lastEventSeq} is null or ${agents.lastEventSeq} < ${event.seq})`,
        ),
      )
      .returning({ id: agents.id });
    if (advanced.length === 0) {
      const [row] = await tx
        .select({ lastSeq: agents.lastEventSeq })
        .from(agents)
        .where(eq(agents.id, event.agentId));
      return { stored: false, lastSeq: row?.lastSeq ?? -1 };
    }
    await tx.insert(upsEvents).values({
      ups: event.ups,
      agentId: event.agentId,
      seq: event.seq,
      events: [...event.events],
      status: event.status === null ? null : [...event.status],
      vars: event.vars,
      observedAt: event.observedAt,
      receivedAt: event.receivedAt,
    });
    const [previous] = await tx.select().from(upsStates).where(eq(upsStates.ups, event.ups));
    const powerSince =
      previous !== undefined && previous.power === event.power ? previous.powerSince : event.observedAt;
    const state = {
      power: event.power,
      powerSince,
      status: event.status === null ? null : [...event.status],
      vars: { ...((previous?.vars as Record<string, string> | undefined) ?? {}), ...event.vars },
      lastEvents: event.events.length > 0 ? [...event.events] : (previous?.lastEvents ?? []),
      observedAt: event.observedAt,
      reportedBy: event.agentId,
    };
    await tx
      .insert(upsStates)
      .values({ ups: event.ups, ...state })
      .onConflictDoUpdate({ target: upsStates.ups, set: state });
    return { stored: true };
  });
}

export function listUpsStates(db: Db) {
  return db.select().from(upsStates).orderBy(upsStates.ups);
}

export function listUpsEvents(db: Db, filter: { ups?: string; beforeId?: number; limit: number }) {
  const conditions = [
    filter.ups === undefined ? undefined : eq(upsEvents.ups, filter.ups),
    filter.beforeId === undefined ? undefined : lt(upsEvents.id, filter.beforeId),
  ].filter((c) => c !== undefined);
  return db
    .select()
    .from(upsEvents)
    .where(and(...conditions))
    .orderBy(desc(upsEvents.id))
    .limit(filter.limit);
}
