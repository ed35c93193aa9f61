/**
 * The downsampled UPS history: one row per UPS and minute, upserted with every stored event, so a
 * week of charts reads ~10,000 rows per UPS whatever the event rate, and survives restarts.
 */
import { and, gte, inArray, sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { upsReadings } from '../schema.js';

const MINUTE_MS = 60_000;

function numberOf(text: string | undefined): number | null {
  if (text === undefined || text.trim() === '') return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

/** The minute a reading at `at` belongs to. */
export function minuteOf(at: Date): Date {
  return new Date(Math.floor(at.getTime() / MINUTE_MS) * MINUTE_MS);
}

/** The charted values of one reading (null where the UPS does not report it). */
export function readingOf(vars: Readonly<Record<string, string>>) {
  return {
    charge: numberOf(vars['battery.charge']),
    runtime: numberOf(vars['battery.runtime']),
    load: numberOf(vars['ups.load']),
    voltage: numberOf(vars['input.voltage']),
  };
}

/**
 * How a minute's new readings fold into the stored ones (the upsert's conflict set): the latest
 * value of each variable wins, a null keeps the older one, on battery once is on battery, samples add.
 */
export const foldIntoStoredMinute = {
  charge: sql`coalesce(excluded.charge, ${upsReadings.charge})`,
  runtime: sql`coalesce(excluded.runtime, ${upsReadings.runtime})`,
  load: sql`coalesce(excluded.load, ${upsReadings.load})`,
  voltage: sql`coalesce(excluded.voltage, ${upsReadings.voltage})`,
  onBattery: sql`${upsReadings.onBattery} or excluded.on_battery`,
  samples: sql`${upsReadings.samples} + excluded.samples`,
};

/** Folds one reading into its minute: the latest value of each variable wins, a null keeps the older one. */
export async function recordReading(
  db: Db,
  reading: { ups: string; at: Date; vars: Readonly<Record<string, string>>; onBattery: boolean },
): Promise<void> {
  const values = readingOf(reading.vars);
  const minute = minuteOf(reading.at);
  await db
    .insert(upsReadings)
    .values({ ups: reading.ups, minute, ...values, onBattery: reading.onBattery, samples: 1 })
    .onConflictDoUpdate({
      target: [upsReadings.ups, upsReadings.minute],
      set: foldIntoStoredMinute,
    });
}

export interface HistoryPoint {
  readonly ups: string;
  /** Start of the bucket, ms since the epoch. */
  readonly t: number;
  readonly charge: number | null;
  readonly runtime: number | null;
  readonly load: number | null;
  readonly voltage: number | null;
  readonly onBattery: boolean;
}

/**
 * Each UPS's readings since `since` (of the UPSes named, or of every UPS), averaged over buckets of
 * `bucketMs` (a multiple of a minute), oldest first. A bucket is on battery when any minute in it was.
 */
export async function readHistory(
  db: Db,
  query: { ups?: readonly string[]; since: Date; bucketMs: number },
): Promise<HistoryPoint[]> {
  if (query.ups?.length === 0) return [];
  // Inlined (an integer we computed), not a parameter: GROUP BY must see the very same expression.
  const seconds = sql.raw(String(Math.max(60, Math.round(query.bucketMs / 1000))));
  const bucket = sql<number>`(floor(extract(epoch from ${upsReadings.minute}) / ${seconds}) * ${seconds})::float8`;
  const rows = await db
    .select({
      ups: upsReadings.ups,
      bucket,
      charge: sql<number | null>`avg(${upsReadings.charge})::float8`,
      runtime: sql<number | null>`avg(${upsReadings.runtime})::float8`,
      load: sql<number | null>`avg(${upsReadings.load})::float8`,
      voltage: sql<number | null>`avg(${upsReadings.voltage})::float8`,
      onBattery: sql<boolean>`bool_or(${upsReadings.onBattery})`,
    })
    .from(upsReadings)
    .where(
      and(
        query.ups === undefined ? undefined : inArray(upsReadings.ups, [...query.ups]),
        gte(upsReadings.minute, query.since),
      ),
    )
    .groupBy(upsReadings.ups, bucket)
    .orderBy(upsReadings.ups, bucket);
  return rows.map((row) => ({
    ups: row.ups,
    t: Number(row.bucket) * 1000,
    charge: row.charge === null ? null : Number(row.charge),
    runtime: row.runtime === null ? null : Number(row.runtime),
    load: row.load === null ? null : Number(row.load),
    voltage: row.voltage === null ? null : Number(row.voltage),
    onBattery: row.onBattery === true,
  }));
}
