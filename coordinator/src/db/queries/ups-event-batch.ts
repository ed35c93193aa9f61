/**
 * UPS events of one group-commit batch: each is checked as it arrives (its watcher's sequence, as
 * recordUpsEvent checks it) and queued; just before the commit they are stored together: one
 * multi-row insert of the events, one update of the watchers' sequence numbers, one upsert of the
 * UPS states and one of the minute readings (per 500 rows). Only the batch's single writer (the
 * fleet's serial queue) may use it; a watcher's sequence changed by anyone else fails the batch.
 */
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import type { StoredDataError } from '../errors.js';
import { agents, upsEvents, upsReadings, upsStates } from '../schema.js';
import { baseVars, type NewUpsEvent, type RecordOutcome, upsEventRow } from './ups-events.js';
import { foldIntoStoredMinute, minuteOf, readingOf } from './ups-readings.js';

const CHUNK = 500;

/** The batch's queued events, in arrival order, and each watcher's sequence as first read. */
export interface QueuedUpsEvents {
  readonly events: NewUpsEvent[];
  readonly storedSeqs: Map<string, number | null>;
}

export function queuedUpsEvents(): QueuedUpsEvents {
  return { events: [], storedSeqs: new Map() };
}

/** Checks `event` against its watcher's sequence (stored, then queued) and queues it if it fits. */
export async function queueUpsEvent(
  db: Db,
  queue: QueuedUpsEvents,
  event: NewUpsEvent,
): Promise<RecordOutcome> {
  const queued = queue.events.filter((e) => e.agentId === event.agentId);
  let lastSeq: number | null;
  if (queued.length > 0) lastSeq = queued[queued.length - 1]?.seq ?? null;
  else {
    if (!queue.storedSeqs.has(event.agentId)) {
      const [row] = await db
        .select({ lastSeq: agents.lastEventSeq })
        .from(agents)
        .where(eq(agents.id, event.agentId));
      // An unknown agent: every seq is a gap after -1, as recordUpsEvent answers.
      if (row === undefined) return { stored: false, reason: 'gap', lastSeq: -1 };
      queue.storedSeqs.set(event.agentId, row.lastSeq);
    }
    lastSeq = queue.storedSeqs.get(event.agentId) ?? null;
  }
  if (lastSeq === null || lastSeq === event.seq - 1 - event.dropped) {
    queue.events.push(event);
    return { stored: true };
  }
  if (event.seq > lastSeq) return { stored: false, reason: 'gap', lastSeq };
  const inQueue = queued.find((e) => e.seq === event.seq);
  const stored =
    inQueue !== undefined
      ? { tokenHash: inQueue.tokenHash ?? null }
      : (
          await db
            .select({ tokenHash: upsEvents.tokenHash })
            .from(upsEvents)
            .where(and(eq(upsEvents.agentId, event.agentId), eq(upsEvents.seq, event.seq)))
        )[0];
  const same =
    stored !== undefined &&
    (stored.tokenHash === null || event.tokenHash === undefined || stored.tokenHash === event.tokenHash);
  return { stored: false, reason: same ? 'duplicate' : 'replayed', lastSeq };
}

function chunks<T>(rows: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += CHUNK) out.push(rows.slice(i, i + CHUNK));
  return out;
}

/**
 * Stores the queued events, the watchers' sequences, the UPS states and the minute readings. A
 * UPS whose stored variables this version cannot read is handed to `unreadable` and its variables
 * start again from its events': the batch (other UPSes' events, acks, decisions) is not refused.
 */
export async function storeQueuedUpsEvents(
  db: Db,
  queue: QueuedUpsEvents,
  options: { readonly unreadable?: (ups: string, error: StoredDataError) => void } = {},
): Promise<void> {
  const { events } = queue;
  if (events.length === 0) return;

  // The watchers' sequences: each moves from what was read to its last queued event's.
  const lastSeqs = new Map<string, number>();
  for (const event of events) lastSeqs.set(event.agentId, event.seq);
  for (const part of chunks([...lastSeqs])) {
    const values = part.map(
      ([agentId, seq]) =>
        sql`(${agentId}::uuid, ${seq}::bigint, ${queue.storedSeqs.get(agentId) ?? null}::bigint)`,
    );
    const moved = await db
      .update(agents)
      .set({ lastEventSeq: sql`v.seq` })
      .from(sql`(values ${sql.join(values, sql`, `)}) as v(id, seq, before)`)
      .where(sql`${agents.id} = v.id and ${agents.lastEventSeq} is not distinct from v.before`)
      .returning({ id: agents.id });
    const count = moved.length;
    if (count !== part.length)
      throw new Error("a watcher's event sequence changed outside this batch: its events are not stored");
  }

  for (const part of chunks(events)) await db.insert(upsEvents).values(part.map(upsEventRow));

  // Each UPS's state: folded over its events in order, from the stored one, as recordUpsEvent does.
  const names = [...new Set(events.map((event) => event.ups))];
  const before = new Map(
    (await db.select().from(upsStates).where(inArray(upsStates.ups, names))).map((row) => [
      row.ups,
      { ...row, vars: baseVars(row.vars, row.ups, options.unreadable) },
    ]),
  );
  type State = Omit<typeof upsStates.$inferInsert, 'ups'> & { vars: Readonly<Record<string, string>> };
  const states = new Map<string, State>();
  for (const event of events) {
    const previous = states.get(event.ups) ?? before.get(event.ups);
    states.set(event.ups, {
      power: event.power,
      powerSince:
        previous !== undefined && previous.power === event.power ? previous.powerSince : event.observedAt,
      dead: event.dead,
      status: event.status === null ? null : [...event.status],
      vars: { ...(previous?.vars ?? {}), ...event.vars },
      lastEvents: event.events.length > 0 ? [...event.events] : (previous?.lastEvents ?? []),
      observedAt: event.observedAt,
      reportedBy: event.agentId,
    });
  }
  for (const part of chunks([...states]))
    await db
      .insert(upsStates)
      .values(part.map(([ups, state]) => ({ ups, ...state })))
      .onConflictDoUpdate({
        target: upsStates.ups,
        set: {
          power: sql`excluded.power`,
          powerSince: sql`excluded.power_since`,
          dead: sql`excluded.dead`,
          status: sql`excluded.status`,
          vars: sql`excluded.vars`,
          lastEvents: sql`excluded.last_events`,
          observedAt: sql`excluded.observed_at`,
          reportedBy: sql`excluded.reported_by`,
        },
      });

  // The minute readings: the latest value of each variable wins, a null keeps the older one.
  type Reading = ReturnType<typeof readingOf> & {
    ups: string;
    minute: Date;
    onBattery: boolean;
    samples: number;
  };
  const readings = new Map<string, Reading>();
  for (const event of events) {
    const minute = minuteOf(event.observedAt);
    const key = `${event.ups} ${minute.getTime()}`;
    const values = readingOf(event.vars);
    const onBattery = event.power === 'battery';
    const earlier = readings.get(key);
    readings.set(
      key,
      earlier === undefined
        ? { ups: event.ups, minute, ...values, onBattery, samples: 1 }
        : {
            ...earlier,
            charge: values.charge ?? earlier.charge,
            runtime: values.runtime ?? earlier.runtime,
            load: values.load ?? earlier.load,
            voltage: values.voltage ?? earlier.voltage,
            onBattery: earlier.onBattery || onBattery,
            samples: earlier.samples + 1,
          },
    );
  }
  for (const part of chunks([...readings.values()]))
    await db
      .insert(upsReadings)
      .values(part)
      .onConflictDoUpdate({
        target: [upsReadings.ups, upsReadings.minute],
        set: foldIntoStoredMinute,
      });
}
