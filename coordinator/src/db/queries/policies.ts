import { desc } from 'drizzle-orm';
import type { Db } from '../client.js';
import { policies } from '../schema.js';

export async function latestPolicy(
  db: Db,
): Promise<{ document: unknown; appliedAt: Date; appliedBy: string } | undefined> {
  const [row] = await db
    .select({ document: policies.document, appliedAt: policies.appliedAt, appliedBy: policies.appliedBy })
    .from(policies)
    .orderBy(desc(policies.id))
    .limit(1);
  return row;
}

export async function insertPolicy(
  db: Db,
  document: unknown,
  appliedBy: string,
  appliedAt: Date,
): Promise<void> {
  await db.insert(policies).values({ document, appliedBy, appliedAt });
}
