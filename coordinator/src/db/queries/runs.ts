import { and, asc, desc, eq, gt, lt, sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { runEvents, runs } from '../schema.js';

export type RunRow = typeof runs.$inferSelect;
export type RunEventRow = typeof runEvents.$inferSelect;

export async function startRun(
  db: Db,
  run: { number: number; kind: 'outage' | 'drill'; reason: string; startedAt: Date },
): Promise<RunRow> {
  const [row] = await db
    .insert(runs)
    .values({ number: run.number, kind: run.kind, reason: run.reason, startedAt: run.startedAt })
    .returning();
  if (row === undefined) throw new Error('insert into runs returned no row');
  return row;
}

export async function setRunPhase(db: Db, id: string, phase: 'active' | 'restoring'): Promise<void> {
  await db.update(runs).set({ phase }).where(eq(runs.id, id));
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

/** Newest first; `beforeNumber` continues a previous page. */
export function listRuns(
  db: Db,
  filter: { limit: number; beforeNumber?: number; kind?: 'outage' | 'drill' } = { limit: 50 },
): Promise<RunRow[]> {
  const conditions = [
    filter.beforeNumber === undefined ? undefined : lt(runs.number, filter.beforeNumber),
    filter.kind === undefined ? undefined : eq(runs.kind, filter.kind),
  ].filter((c) => c !== undefined);
  return db
    .select()
    .from(runs)
    .where(and(...conditions))
    .orderBy(desc(runs.number), desc(runs.startedAt))
    .limit(filter.limit);
}

export async function findRun(db: Db, id: string): Promise<RunRow | undefined> {
  const [row] = await db.select().from(runs).where(eq(runs.id, id));
  return row;
}

export async function findRunByNumber(db: Db, number: number): Promise<RunRow | undefined> {
  const [row] = await db.select().from(runs).where(eq(runs.number, number));
  return row;
}

export async function addRunEvent(
  db: Db,
  event: {
    runId: string;
    at: Date;
    kind: string;
    stage?: string | undefined;
    host?: string | undefined;
    detail?: string | undefined;
  },
): Promise<void> {
  await db.insert(runEvents).values({
    runId: event.runId,
    at: event.at,
    kind: event.kind,
    stage: event.stage ?? null,
    host: event.host ?? null,
    detail: event.detail ?? null,
  });
}

/** Several timeline entries in one statement, in the order given. */
export async function addRunEvents(
  db: Db,
  events: readonly {
    runId: string;
    at: Date;
    kind: string;
    stage?: string;
    host?: string;
    detail?: string;
  }[],
): Promise<void> {
  for (let i = 0; i < events.length; i += 500)
    await db.insert(runEvents).values(
      events.slice(i, i + 500).map((event) => ({
        runId: event.runId,
        at: event.at,
        kind: event.kind,
        stage: event.stage ?? null,
        host: event.host ?? null,
        detail: event.detail ?? null,
      })),
    );
}

export function listRunEvents(db: Db, runId: string): Promise<RunEventRow[]> {
  return db.select().from(runEvents).where(eq(runEvents.runId, runId)).orderBy(asc(runEvents.id));
}

/** Timeline entries of every run after `afterId`, oldest first, with their run's number and kind (the live stream). */
export function listRunEventsAfter(db: Db, afterId: number, limit: number) {
  return db
    .select({
      id: runEvents.id,
      runId: runEvents.runId,
      at: runEvents.at,
      kind: runEvents.kind,
      stage: runEvents.stage,
      host: runEvents.host,
      detail: runEvents.detail,
      run: { number: runs.number, kind: runs.kind, state: runs.state, phase: runs.phase },
    })
    .from(runEvents)
    .innerJoin(runs, eq(runs.id, runEvents.runId))
    .where(gt(runEvents.id, afterId))
    .orderBy(asc(runEvents.id))
    .limit(limit);
}

/** The newest timeline entry's id (where the live stream starts). */
export async function latestRunEventId(db: Db): Promise<number> {
  const [row] = await db.select({ id: sql<number>`coalesce(max(${runEvents.id}), 0)::int` }).from(runEvents);
  return row?.id ?? 0;
}
