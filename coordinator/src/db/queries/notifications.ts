/**
 * Notification channels and the durable outbox, as rows. What to write (routing, flapping merged into
 * digests) is decided in notify/outbox.ts; the delivery loop claims due rows, sends them, and records
 * the outcome and the channel's health. This layer imports nothing from notify/.
 */
import { and, asc, desc, eq, gt, gte, inArray, isNotNull, lt, lte, or, sql } from 'drizzle-orm';
import { ConflictError } from '../../../../shared/src/errors.js';
import type { Db } from '../client.js';
import { isUniqueViolation } from '../errors.js';
import { notificationChannels as channels, notificationOutbox as outbox } from '../schema.js';
import type { StoredObject } from '../stored-values.js';

export type ChannelRow = typeof channels.$inferSelect;
export type OutboxRow = typeof outbox.$inferSelect;
export type OutboxState = OutboxRow['state'];

// ---------------------------------------------------------------------------------------------
// Channels

/** A channel as stored: its type, its type-specific settings, its routing. */
export interface NewChannel {
  readonly name: string;
  readonly type: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly events: readonly string[];
  readonly ups: readonly string[];
  readonly hosts: readonly string[];
  readonly enabled: boolean;
}

export async function insertChannel(db: Db, channel: NewChannel, now: Date): Promise<ChannelRow> {
  try {
    const [row] = await db
      .insert(channels)
      .values({
        ...channel,
        events: [...channel.events],
        ups: [...channel.ups],
        hosts: [...channel.hosts],
        createdAt: now,
        updatedAt: now,
      })
      .returning();
    if (row === undefined) throw new Error('insert into notification_channels returned no row');
    return row;
  } catch (error) {
    if (isUniqueViolation(error)) throw new ConflictError(`a channel named "${channel.name}" already exists`);
    throw error;
  }
}

export function listChannels(db: Db): Promise<ChannelRow[]> {
  return db.select().from(channels).orderBy(asc(channels.name));
}

export function listEnabledChannels(db: Db): Promise<ChannelRow[]> {
  return db.select().from(channels).where(eq(channels.enabled, true));
}

export async function findChannel(db: Db, name: string): Promise<ChannelRow | undefined> {
  const [row] = await db.select().from(channels).where(eq(channels.name, name));
  return row;
}

export interface StoredChannelChanges {
  /** New type and settings; the channel's failure count starts again from zero. */
  readonly settings?: { readonly type: string; readonly config: Readonly<Record<string, unknown>> };
  readonly events?: readonly string[];
  readonly ups?: readonly string[];
  readonly hosts?: readonly string[];
  readonly enabled?: boolean;
}

/** Returns the updated channel, or undefined when there is none of that name. */
export async function updateChannelRow(
  db: Db,
  name: string,
  changes: StoredChannelChanges,
  now: Date,
): Promise<ChannelRow | undefined> {
  const set: Partial<typeof channels.$inferInsert> = { updatedAt: now };
  if (changes.settings !== undefined)
    Object.assign(set, {
      type: changes.settings.type,
      config: changes.settings.config,
      consecutiveFailures: 0,
    });
  if (changes.events !== undefined) set.events = [...changes.events];
  if (changes.ups !== undefined) set.ups = [...changes.ups];
  if (changes.hosts !== undefined) set.hosts = [...changes.hosts];
  if (changes.enabled !== undefined) set.enabled = changes.enabled;
  const [row] = await db.update(channels).set(set).where(eq(channels.name, name)).returning();
  return row;
}

/** Deletes the channel and its outbox rows; false when there was none. */
export async function deleteChannel(db: Db, name: string): Promise<boolean> {
  const rows = await db.delete(channels).where(eq(channels.name, name)).returning({ id: channels.id });
  return rows.length > 0;
}

export async function recordChannelSuccess(db: Db, channelId: string, now: Date): Promise<void> {
  await db
    .update(channels)
    .set({ consecutiveFailures: 0, lastSuccessAt: now })
    .where(eq(channels.id, channelId));
}

/** Returns how many deliveries have now failed in a row. */
export async function recordChannelFailure(
  db: Db,
  channelId: string,
  error: string,
  now: Date,
): Promise<number> {
  const [row] = await db
    .update(channels)
    .set({
      consecutiveFailures: sql`${channels.consecutiveFailures} + 1`,
      lastError: error,
      lastFailureAt: now,
    })
    .where(eq(channels.id, channelId))
    .returning({ failures: channels.consecutiveFailures });
  return row?.failures ?? 0;
}

// ---------------------------------------------------------------------------------------------
// Enqueueing (the routing and collapse decisions are notify/outbox.ts's)

const isDigest = sql`(${outbox.message} -> 'digest') is not null`;
const isNotDigest = sql`(${outbox.message} -> 'digest') is null`;

/** The rows that make up the latest collapse window of a key on a channel, as stored. */
export interface CollapseRows {
  /** The newest message of this key sent at once within the window, if any. */
  readonly opener?: { readonly createdAt: Date; readonly kind: string };
  /** How many such messages the window holds (the opener included). */
  readonly recentSent: number;
  /** The digest of that window still to send, if any. */
  readonly pending?: { readonly id: number; readonly message: StoredObject; readonly count: number };
}

export async function readCollapseRows(
  db: Db,
  channelId: string,
  key: string,
  now: number,
  windowMs: number,
): Promise<CollapseRows> {
  const inWindow = and(
    eq(outbox.channelId, channelId),
    eq(outbox.collapseKey, key),
    isNotDigest,
    gt(outbox.createdAt, new Date(now - windowMs)),
    lte(outbox.createdAt, new Date(now)),
  );
  const [opener] = await db
    .select({ createdAt: outbox.createdAt, kind: outbox.kind })
    .from(outbox)
    .where(inWindow)
    .orderBy(desc(outbox.createdAt), desc(outbox.id))
    .limit(1);
  if (opener === undefined) return { recentSent: 0 };
  const [recent] = await db.select({ count: sql<number>`count(*)::int` }).from(outbox).where(inWindow);
  const [pending] = await db
    .select({ id: outbox.id, message: outbox.message, count: outbox.count })
    .from(outbox)
    .where(
      and(
        eq(outbox.channelId, channelId),
        eq(outbox.collapseKey, key),
        eq(outbox.state, 'pending'),
        isDigest,
        gte(outbox.createdAt, opener.createdAt),
      ),
    )
    .orderBy(desc(outbox.id))
    .limit(1);
  return {
    opener,
    recentSent: recent?.count ?? 1,
    ...(pending === undefined ? {} : { pending }),
  };
}

export async function insertOutboxRow(
  db: Db,
  row: {
    channelId: string;
    kind: string;
    collapseKey: string | null;
    message: StoredObject;
    count: number;
    dueAt: Date;
    createdAt: Date;
  },
): Promise<void> {
  await db.insert(outbox).values(row);
}

export async function updateOutboxMessage(
  db: Db,
  id: number,
  message: StoredObject,
  count: number,
): Promise<void> {
  await db.update(outbox).set({ message, count }).where(eq(outbox.id, id));
}

// ---------------------------------------------------------------------------------------------
// Delivery

/**
 * Claims up to `limit` due rows, oldest first, by moving their due time `leaseMs` ahead: a
 * coordinator that dies while sending leaves them due again after the lease (delivery is at least
 * once). SKIP LOCKED keeps concurrent claimers (PostgreSQL) off each other's rows.
 */
export async function claimDue(db: Db, now: number, limit: number, leaseMs = 60_000): Promise<OutboxRow[]> {
  const due = db
    .select({ id: outbox.id })
    .from(outbox)
    .where(and(eq(outbox.state, 'pending'), lte(outbox.dueAt, new Date(now))))
    .orderBy(asc(outbox.dueAt), asc(outbox.id))
    .limit(limit)
    .for('update', { skipLocked: true });
  const rows = await db
    .update(outbox)
    .set({ dueAt: new Date(now + leaseMs) })
    .where(inArray(outbox.id, due))
    .returning();
  return rows.sort((a, b) => a.id - b.id);
}

/** The earliest due time of a pending row, if any. */
export async function nextDueAt(db: Db): Promise<Date | undefined> {
  const [row] = await db
    .select({ at: sql<Date | string | null>`min(${outbox.dueAt})` })
    .from(outbox)
    .where(eq(outbox.state, 'pending'));
  return row?.at === null || row?.at === undefined ? undefined : new Date(row.at);
}

export async function markSent(db: Db, id: number, now: Date): Promise<void> {
  await db
    .update(outbox)
    .set({ state: 'sent', sentAt: now, attempts: sql`${outbox.attempts} + 1`, lastError: null })
    .where(eq(outbox.id, id));
}

export async function markRetry(db: Db, id: number, dueAt: Date, error: string): Promise<void> {
  await db
    .update(outbox)
    .set({ dueAt, lastError: error, attempts: sql`${outbox.attempts} + 1` })
    .where(eq(outbox.id, id));
}

/** Given up (kept, visible); `attempted: false` when no request was made (the channel was disabled). */
export async function markFailed(
  db: Db,
  id: number,
  error: string,
  options: { attempted?: boolean } = {},
): Promise<void> {
  await db
    .update(outbox)
    .set({
      state: 'failed',
      lastError: error,
      ...(options.attempted === false ? {} : { attempts: sql`${outbox.attempts} + 1` }),
    })
    .where(eq(outbox.id, id));
}

/**
 * A channel that is down: its other pending rows wait too, instead of each failing in turn now.
 * `claimed` are rows of this round that will not be tried now: their lease is replaced by `until`.
 */
export async function deferChannel(
  db: Db,
  channelId: string,
  until: Date,
  claimed: readonly number[] = [],
): Promise<void> {
  await db
    .update(outbox)
    .set({ dueAt: until })
    .where(
      and(
        eq(outbox.channelId, channelId),
        eq(outbox.state, 'pending'),
        claimed.length === 0
          ? lt(outbox.dueAt, until)
          : or(lt(outbox.dueAt, until), inArray(outbox.id, [...claimed])),
      ),
    );
}

/**
 * A channel that answered again: its messages waiting behind a failure go now. Digests still held
 * for their flapping window (never attempted) are left alone.
 */
export async function resumeChannel(db: Db, channelId: string, now: Date): Promise<void> {
  await db
    .update(outbox)
    .set({ dueAt: now })
    .where(
      and(
        eq(outbox.channelId, channelId),
        eq(outbox.state, 'pending'),
        gt(outbox.dueAt, now),
        or(gt(outbox.attempts, 0), isNotDigest),
      ),
    );
}

/** Sent rows older than `before` are dropped; failed ones stay, for the admin to see. */
export async function pruneSent(db: Db, before: Date): Promise<number> {
  const rows = await db
    .delete(outbox)
    .where(and(eq(outbox.state, 'sent'), isNotNull(outbox.sentAt), lt(outbox.sentAt, before)))
    .returning({ id: outbox.id });
  return rows.length;
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface OutboxStat {
  readonly channel: string;
  readonly state: OutboxState;
  readonly messages: number;
}

/** Rows per channel and state (status, metrics). */
export async function outboxStats(db: Db): Promise<OutboxStat[]> {
  const rows = await db
    .select({ channel: channels.name, state: outbox.state, messages: sql<number>`count(*)::int` })
    .from(outbox)
    .innerJoin(channels, eq(outbox.channelId, channels.id))
    .groupBy(channels.name, outbox.state)
    .orderBy(asc(channels.name), asc(outbox.state));
  return rows.map((row) => ({ ...row, messages: Number(row.messages) }));
}

/** The outbox, oldest first, optionally for one channel or state. */
export async function listOutbox(
  db: Db,
  filter: { channel?: string; state?: OutboxState; limit?: number } = {},
): Promise<(OutboxRow & { channel: string })[]> {
  const rows = await db
    .select({ row: outbox, channel: channels.name })
    .from(outbox)
    .innerJoin(channels, eq(outbox.channelId, channels.id))
    .where(
      and(
        filter.channel === undefined ? undefined : eq(channels.name, filter.channel),
        filter.state === undefined ? undefined : eq(outbox.state, filter.state),
      ),
    )
    .orderBy(asc(outbox.id))
    .limit(filter.limit ?? 100);
  return rows.map(({ row, channel }) => ({ ...row, channel }));
}
