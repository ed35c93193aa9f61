/**
 * An outbox row's message as this version reads it: the rendered message, and for a digest what it
 * is made of. A row this version cannot read is a StoredDataError that names it.
 */
import { z } from 'zod';
import { parseStored } from '../db/errors.js';
import type { Digest, StoredMessage } from './collapse.js';
import { NOTIFICATION_KINDS } from './facts.js';
import type { Message } from './messages.js';

const MessageSchema = z.object({
  kind: z.enum(NOTIFICATION_KINDS),
  severity: z.enum(['info', 'warning', 'critical']),
  title: z.string(),
  text: z.string(),
  markdown: z.string(),
  at: z.number(),
  ups: z.string().exactOptional(),
  host: z.string().exactOptional(),
  hosts: z.array(z.string()).exactOptional(),
  collapseKey: z.string().exactOptional(),
}) satisfies z.ZodType<Message>;

const DigestSchema = z.object({
  key: z.string(),
  since: z.number(),
  windowMs: z.number(),
  counts: z.record(z.string(), z.number()),
  last: MessageSchema,
}) satisfies z.ZodType<Digest>;

const StoredMessageSchema = MessageSchema.extend({
  digest: DigestSchema.exactOptional(),
}) satisfies z.ZodType<StoredMessage>;

/** The message of outbox row `id`; StoredDataError when this version cannot read it. */
export function readStoredMessage(value: unknown, id: number): StoredMessage {
  return parseStored(StoredMessageSchema, value, `The notification outbox message ${id}`);
}

/** The digest of a pending digest row; StoredDataError when the row holds none or an unreadable one. */
export function readStoredDigest(value: unknown, id: number): Digest {
  return parseStored(
    StoredMessageSchema.extend({ digest: DigestSchema }),
    value,
    `The notification outbox digest ${id}`,
  ).digest;
}
