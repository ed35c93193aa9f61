import { and, desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { runs } from '../schema.js';

export interface RunRow {
  readonly id: string;
  readonly ups: string;
  readonly state: 'active' | 'ended';
  readonly startedAt: Date;
  readonly endedAt: Date | null;
  readonly endReason: string | null;
  readonly firedStages: string[];
}

export async function startRun(db: Db, ups: string, startedAt: Date): Promise<RunRow> {
  const [row] = await db.insert(runs).values({ ups, startedAt }).returning();
  if (row === undefined) throw new Error('insert into runs returned no row');
  return row;
}

export async function endRun(db: Db, id: string, endedAt: Date, endReason: string): Promise<void> {
  await db.update(runs).set({ state: 'ended', endedAt, endReason }).where(eq(runs.id, id));
}

/** Appends `stage` to the run's fired stages (idempotent). */
export async function markStageFired(db: Db, id: string, stage: string): Promise<void> {
  await db
    .update(runs)
    .set({ firedStages: sql`array_append(${runs.firedStages}, ${stage})` })
    .where(and(eq(runs.id, id), sql`not (${stage} = any(${runs.firedStages}))`));
}

export function listActiveRuns(db: Db): Promise<RunRow[]> {
  return db.select().from(runs).where(eq(runs.state, 'active'));
}

export function listRuns(db: Db, limit = 50): Promise<RunRow[]> {
  return db.select().from(runs).orderBy(desc(runs.startedAt)).limit(limit);
}

export async function findRun(db: Db, id: string): Promise<RunRow | undefined> {
  const [row] = await db.select().from(runs).where(eq(runs.id, id));
  return row;
}
