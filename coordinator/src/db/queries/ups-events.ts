import { and, asc, desc, eq, gt, gte, lt, sql } from 'drizzle-orm';
import type { PowerState } from '../../../../shared/src/protocol.js';
import type { Db } from '../client.js';
import { parseStored, StoredDataError } from '../errors.js';
import { agents, upsEvents, upsStates } from '../schema.js';
import { type UpsVars, UpsVarsSchema } from '../stored-values.js';
import { recordReading } from './ups-readings.js';

export interface NewUpsEvent {
  readonly agentId: string;
  readonly ups: string;
  readonly seq: number;
  /** Events the watcher dropped just before this one: they explain a gap of that size. */
  readonly dropped: number;
  readonly events: readonly string[];
  readonly status: readonly string[] | null;
  readonly power: PowerState;
  readonly dead: boolean;
  readonly vars: Readonly<Record<string, string>>;
  readonly observedAt: Date;
  readonly receivedAt: Date;
  /** sha256 of the signed event, to tell a re-send from a different event with a re-used seq. */
  readonly tokenHash?: string;
}

/** The `ups_events` row of an event (one at a time here, or a batch's in ups-event-batch.ts). */
export function upsEventRow(event: NewUpsEvent): typeof upsEvents.$inferInsert {
  return {
    ups: event.ups,
    agentId: event.agentId,
    seq: event.seq,
    dropped: event.dropped,
    dead: event.dead,
    tokenHash: event.tokenHash ?? null,
    events: [...event.events],
    status: event.status === null ? null : [...event.status],
    vars: event.vars,
    observedAt: event.observedAt,
    receivedAt: event.receivedAt,
  };
}

export type RecordOutcome =
  | { readonly stored: true }
  /** This very event is already stored (a re-send after a lost ack): nothing changes. */
  | { readonly stored: false; readonly reason: 'duplicate'; readonly lastSeq: number }
  /** seq at or below the last one, and not this event: a replay, or a watcher whose journal was reset. */
  | { readonly stored: false; readonly reason: 'replayed'; readonly lastSeq: number }
  /** seq beyond last + 1 + dropped: events went missing and the watcher does not say why. */
  | { readonly stored: false; readonly reason: 'gap'; readonly lastSeq: number };

/**
 * Stores one signed event and the UPS's current state, in one transaction. Sequence numbers are
 * contiguous per agent: the first event may start anywhere; after that seq must be last + 1 + dropped.
 */
export function recordUpsEvent(
  db: Db,
  event: NewUpsEvent,
  options: { readonly unreadable?: (ups: string, error: StoredDataError) => void } = {},
): Promise<RecordOutcome> {
  return db.transaction(async (tx) => {
    const expected = event.seq - 1 - event.dropped;
    const advanced = await tx
      .update(agents)
      .set({ lastEventSeq: event.seq })
      .where(
        and(
          eq(agents.id, event.agentId),
          sql`(${agents.lastEventSeq} is null or ${agents.lastEventSeq} = ${expected})`,
        ),
      )
      .returning({ id: agents.id });
    if (advanced.length === 0) {
      const [row] = await tx
        .select({ lastSeq: agents.lastEventSeq })
        .from(agents)
        .where(eq(agents.id, event.agentId));
      const lastSeq = row?.lastSeq ?? -1;
      if (event.seq > lastSeq) return { stored: false, reason: 'gap', lastSeq };
      const [stored] = await tx
        .select({ tokenHash: upsEvents.tokenHash })
        .from(upsEvents)
        .where(and(eq(upsEvents.agentId, event.agentId), eq(upsEvents.seq, event.seq)));
      const same =
        stored !== undefined &&
        (stored.tokenHash === null || event.tokenHash === undefined || stored.tokenHash === event.tokenHash);
      return { stored: false, reason: same ? 'duplicate' : 'replayed', lastSeq };
    }
    await tx.insert(upsEvents).values(upsEventRow(event));
    const [previous] = await tx.select().from(upsStates).where(eq(upsStates.ups, event.ups));
    const powerSince =
      previous !== undefined && previous.power === event.power ? previous.powerSince : event.observedAt;
    const state = {
      power: event.power,
      powerSince,
      dead: event.dead,
      status: event.status === null ? null : [...event.status],
      vars: {
        ...(previous === undefined ? {} : baseVars(previous.vars, event.ups, options.unreadable)),
        ...event.vars,
      },
      lastEvents: event.events.length > 0 ? [...event.events] : (previous?.lastEvents ?? []),
      observedAt: event.observedAt,
      reportedBy: event.agentId,
    };
    await tx
      .insert(upsStates)
      .values({ ups: event.ups, ...state })
      .onConflictDoUpdate({ target: upsStates.ups, set: state });
    await recordReading(tx, {
      ups: event.ups,
      at: event.observedAt,
      vars: event.vars,
      onBattery: event.power === 'battery',
    });
    return { stored: true };
  });
}

/** Stored NUT variables, checked; StoredDataError when this version cannot read them. */
function storedVars(vars: unknown, of: string): UpsVars {
  return parseStored(UpsVarsSchema, vars, `The variables of ${of}`);
}

/**
 * The stored UPS states. A row whose variables this version cannot read throws StoredDataError,
 * unless `unreadable` is given: then that row is left out and handed to it (a path that must go on
 * for the other UPSes, such as resuming a run, logs it and skips only that UPS).
 */
export async function listUpsStates(
  db: Db,
  options: { readonly unreadable?: (ups: string, error: StoredDataError) => void } = {},
) {
  const rows = await db.select().from(upsStates).orderBy(upsStates.ups);
  return rows.flatMap((row) => {
    try {
      return [{ ...row, vars: storedVars(row.vars, `UPS ${row.ups}`) }];
    } catch (error) {
      if (options.unreadable === undefined || !(error instanceof StoredDataError)) throw error;
      options.unreadable(row.ups, error);
      return [];
    }
  });
}

/**
 * A UPS's stored variables as the base its next event is folded onto. Ones this version cannot
 * read are handed to `unreadable` and replaced by the event's (the next write heals the row): an
 * event, and the batch it came in, is never refused for them.
 */
export function baseVars(
  vars: unknown,
  ups: string,
  unreadable: ((ups: string, error: StoredDataError) => void) | undefined,
): UpsVars {
  try {
    return storedVars(vars, `UPS ${ups}`);
  } catch (error) {
    if (!(error instanceof StoredDataError)) throw error;
    unreadable?.(ups, error);
    return {};
  }
}

export interface UpsEventFilter {
  readonly ups?: string;
  /** The watcher host that reported the events. */
  readonly host?: string;
  /** A NUT event name (ONBATT, LOWBATT, …): events whose list contains it. */
  readonly type?: string;
  /** Observed at or after / before. */
  readonly since?: Date;
  readonly until?: Date;
  /** Older than this id (newest first), or newer than this id (oldest first: following). */
  readonly beforeId?: number;
  readonly afterId?: number;
  readonly limit: number;
}

/** UPS events with the reporting host's name; newest first, or oldest first after `afterId`. */
export function listUpsEvents(db: Db, filter: UpsEventFilter) {
  const conditions = [
    filter.ups === undefined ? undefined : eq(upsEvents.ups, filter.ups),
    filter.host === undefined ? undefined : eq(agents.name, filter.host),
    filter.type === undefined ? undefined : sql`${filter.type} = any(${upsEvents.events})`,
    filter.since === undefined ? undefined : gte(upsEvents.observedAt, filter.since),
    filter.until === undefined ? undefined : lt(upsEvents.observedAt, filter.until),
    filter.beforeId === undefined ? undefined : lt(upsEvents.id, filter.beforeId),
    filter.afterId === undefined ? undefined : gt(upsEvents.id, filter.afterId),
  ].filter((c) => c !== undefined);
  return db
    .select({
      id: upsEvents.id,
      ups: upsEvents.ups,
      host: agents.name,
      seq: upsEvents.seq,
      events: upsEvents.events,
      status: upsEvents.status,
      vars: upsEvents.vars,
      dead: upsEvents.dead,
      dropped: upsEvents.dropped,
      observedAt: upsEvents.observedAt,
      receivedAt: upsEvents.receivedAt,
    })
    .from(upsEvents)
    .innerJoin(agents, eq(agents.id, upsEvents.agentId))
    .where(and(...conditions))
    .orderBy(filter.afterId === undefined ? desc(upsEvents.id) : asc(upsEvents.id))
    .limit(filter.limit)
    .then((rows) => rows.map((row) => ({ ...row, vars: storedVars(row.vars, `UPS event ${row.id}`) })));
}

/** The newest event id (where `events --follow` starts). */
export async function latestUpsEventId(db: Db): Promise<number> {
  const [row] = await db.select({ id: sql<number>`coalesce(max(${upsEvents.id}), 0)::int` }).from(upsEvents);
  return row?.id ?? 0;
}
