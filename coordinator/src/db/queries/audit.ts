import { and, desc, eq, lt } from 'drizzle-orm';
import type { Db } from '../client.js';
import { auditLog } from '../schema.js';

export type AuditEntry = typeof auditLog.$inferSelect;
export type NewAuditEntry = Omit<typeof auditLog.$inferInsert, 'id'>;

export async function recordAudit(db: Db, entry: NewAuditEntry): Promise<void> {
  await db.insert(auditLog).values(entry);
}

/** Newest first; `beforeId` continues a previous page. Fetches `limit` rows. */
export function listAudit(
  db: Db,
  filter: { beforeId?: number; actor?: string; action?: string; limit: number },
): Promise<AuditEntry[]> {
  const conditions = [
    filter.beforeId === undefined ? undefined : lt(auditLog.id, filter.beforeId),
    filter.actor === undefined ? undefined : eq(auditLog.actor, filter.actor),
    filter.action === undefined ? undefined : eq(auditLog.action, filter.action),
  ].filter((c) => c !== undefined);
  return db
    .select()
    .from(auditLog)
    .where(and(...conditions))
    .orderBy(desc(auditLog.id))
    .limit(filter.limit);
}
