import { and, eq, isNull } from 'drizzle-orm';
import type { Db } from '../client.js';
import { enrollments } from '../schema.js';

export interface EnrollmentRow {
  readonly id: string;
  readonly name: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly usedAt: Date | null;
  readonly agentId: string | null;
}

export async function insertEnrollment(
  db: Db,
  enrollment: { name: string; tokenHash: string; createdAt: Date; expiresAt: Date },
): Promise<EnrollmentRow> {
  const [row] = await db.insert(enrollments).values(enrollment).returning();
  if (row === undefined) throw new Error('insert into enrollments returned no row');
  return row;
}

export async function findEnrollmentByHash(db: Db, tokenHash: string): Promise<EnrollmentRow | undefined> {
  const [row] = await db.select().from(enrollments).where(eq(enrollments.tokenHash, tokenHash));
  return row;
}

/** Marks the enrollment used; false when someone else used it first (single use under concurrency). */
export async function consumeEnrollment(db: Db, id: string, at: Date): Promise<boolean> {
  const rows = await db
    .update(enrollments)
    .set({ usedAt: at })
    .where(and(eq(enrollments.id, id), isNull(enrollments.usedAt)))
    .returning({ id: enrollments.id });
  return rows.length === 1;
}

/** Records which agent a consumed enrollment created. */
export async function linkEnrollment(db: Db, id: string, agentId: string): Promise<void> {
  await db.update(enrollments).set({ agentId }).where(eq(enrollments.id, id));
}
