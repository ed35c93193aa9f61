import { type FileHandle, open } from 'node:fs/promises';
import { z } from 'zod';
import { AppError } from '../../../shared/src/errors.js';
import { UpsEventClaimsSchema } from '../../../shared/src/protocol.js';
import { writeFileAtomic } from '../atomic-file.js';

/**
 * The outbox journal (`outbox.jsonl`), one JSON object per line:
 *   {"v":1,"format":"upsfleet-outbox","lastSeq":41,"pendingDropped":0,"inFlight":{"seq":41,"token":"…"}}
 *   {"op":"add","id":7,"event":{…},"drop":1}         queued at the tail, after discarding the `drop` oldest
 *   {"op":"send","id":7,"seq":42,"dropped":1,"token":"…"}  the head (event 7) became in-flight as seq 42
 *   {"op":"ack","seq":42}                             the coordinator stored seq 42
 *   {"op":"abandon","seq":42}                         seq 42 given up: counts as dropped before the next head
 * The header is only ever written whole (atomic replace, at open and on compaction); each operation
 * then appends one line and fsyncs it, so a crash can tear the last line and nothing else.
 */
export const JOURNAL_FORMAT = 'upsfleet-outbox';
export const JOURNAL_VERSION = 1;
const KEEP_OUT = 'refusing to overwrite it (move it away to start with an empty queue)';

export const QueuedEventSchema = UpsEventClaimsSchema.omit({ seq: true, dropped: true });
export type QueuedEvent = z.output<typeof QueuedEventSchema>;

const Count = z.number().int().nonnegative();
const InFlightSchema = z.object({ seq: Count, token: z.string().min(1) });
export type InFlight = z.infer<typeof InFlightSchema>;

const HeaderSchema = z.object({
  v: z.literal(JOURNAL_VERSION),
  format: z.literal(JOURNAL_FORMAT),
  lastSeq: Count,
  pendingDropped: Count,
  inFlight: InFlightSchema.nullable(),
});

const RecordSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('add'), id: Count, event: QueuedEventSchema, drop: Count.optional() }),
  z.object({ op: z.literal('send'), id: Count, seq: Count, dropped: Count, token: z.string().min(1) }),
  z.object({ op: z.literal('ack'), seq: Count }),
  z.object({ op: z.literal('abandon'), seq: Count }),
]);
export type JournalRecord = z.infer<typeof RecordSchema>;

export interface OutboxState {
  /** The last sequence number handed out; never goes backwards. */
  lastSeq: number;
  /** Events discarded just before the current head; carried by it as `dropped`. */
  pendingDropped: number;
  inFlight: InFlight | undefined;
  queue: { id: number; event: QueuedEvent }[];
  nextId: number;
}

export function createEmptyState(): OutboxState {
  return { lastSeq: 0, pendingDropped: 0, inFlight: undefined, queue: [], nextId: 0 };
}

/** Applies one record to the state (live and on replay alike); returns why it does not fit, if it does not. */
export function applyRecord(state: OutboxState, record: JournalRecord): string | undefined {
  switch (record.op) {
    case 'add': {
      const drop = record.drop ?? 0;
      if (drop > state.queue.length) return `drops ${drop} events but ${state.queue.length} are queued`;
      state.queue.splice(0, drop);
      state.pendingDropped += drop;
      state.queue.push({ id: record.id, event: record.event });
      state.nextId = Math.max(state.nextId, record.id + 1);
      return undefined;
    }
    case 'send': {
      if (state.inFlight !== undefined) return `seq ${state.inFlight.seq} is still in flight`;
      if (state.queue[0]?.id !== record.id) return `event ${record.id} is not the head of the queue`;
      if (record.seq !== state.lastSeq + 1) return `seq ${record.seq} does not follow ${state.lastSeq}`;
      if (record.dropped !== state.pendingDropped)
        return `dropped ${record.dropped} ≠ ${state.pendingDropped}`;
      state.queue.shift();
      state.inFlight = { seq: record.seq, token: record.token };
      state.lastSeq = record.seq;
      state.pendingDropped = 0;
      return undefined;
    }
    case 'ack':
    case 'abandon':
      if (state.inFlight?.seq !== record.seq) return `seq ${record.seq} is not in flight`;
      state.inFlight = undefined;
      if (record.op === 'abandon') state.pendingDropped += 1;
      return undefined;
  }
}

const refuse = (path: string, why: string): AppError =>
  new AppError('config', `${path} is not a usable upsfleet outbox journal: ${why}; ${KEEP_OUT}`);

function parseJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

function parseHeader(line: string | undefined, path: string): OutboxState {
  const json = parseJson(line ?? '');
  const tag = z.object({ format: z.literal(JOURNAL_FORMAT), v: z.number() }).safeParse(json);
  if (!tag.success) throw refuse(path, `its first line is not a {"format":"${JOURNAL_FORMAT}"} header`);
  const { v } = tag.data;
  if (v !== JOURNAL_VERSION) throw refuse(path, `it is format v${v}, this version reads v${JOURNAL_VERSION}`);
  const header = HeaderSchema.safeParse(json);
  if (!header.success) throw refuse(path, `bad header: ${z.prettifyError(header.error)}`);
  const { lastSeq, pendingDropped, inFlight } = header.data;
  return { ...createEmptyState(), lastSeq, pendingDropped, inFlight: inFlight ?? undefined };
}

/** Replays a journal. A last line that does not parse is a torn write: skipped and reported by number. */
export function parseJournal(text: string, path: string): { state: OutboxState; tornLine?: number } {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const [first, ...records] = lines;
  const state = parseHeader(first, path);
  for (const [index, line] of records.entries()) {
    const lineNumber = index + 2;
    const record = RecordSchema.safeParse(parseJson(line));
    if (!record.success) {
      if (index === records.length - 1) return { state, tornLine: lineNumber };
      throw refuse(path, `line ${lineNumber} is not an outbox record`);
    }
    const problem = applyRecord(state, record.data);
    if (problem !== undefined) throw refuse(path, `line ${lineNumber} does not follow: ${problem}`);
  }
  return { state };
}

const toLine = (value: unknown): string => `${JSON.stringify(value)}\n`;

export function toSnapshot(state: OutboxState): string {
  const { lastSeq, pendingDropped, inFlight, queue } = state;
  const header = { v: JOURNAL_VERSION, format: JOURNAL_FORMAT, lastSeq, pendingDropped };
  const adds = queue.map(({ id, event }) => toLine({ op: 'add', id, event }));
  return toLine({ ...header, inFlight: inFlight ?? null }) + adds.join('');
}

export interface Journal {
  /** Appends one record and fsyncs it. On failure the file is cut back to its last good length. */
  append(record: JournalRecord): Promise<void>;
  /** Replaces the file with a snapshot of `state` (atomically), dropping the dead records. */
  replace(state: OutboxState): Promise<void>;
  /** Record lines in the file (the header excluded). */
  records(): number;
  close(): Promise<void>;
}

/** Writes a snapshot of `state` to `path` (atomically), then opens it for appending. */
export async function openJournal(path: string, state: OutboxState): Promise<Journal> {
  let handle: FileHandle | undefined;
  let size = 0;
  let records = 0;
  let broken: AppError | undefined;
  const replace = async (current: OutboxState): Promise<void> => {
    let failure: unknown;
    try {
      await writeFileAtomic(path, toSnapshot(current), 0o600);
      records = current.queue.length;
      broken = undefined;
    } catch (error) {
      failure = error;
    }
    // Reopen either way: after a rename whose folder sync failed, the old handle is a dead file.
    await handle?.close();
    handle = await open(path, 'a', 0o600);
    size = (await handle.stat()).size;
    if (failure !== undefined) throw failure;
  };
  const append = async (record: JournalRecord): Promise<void> => {
    if (broken !== undefined) throw broken;
    if (handle === undefined) throw new AppError('internal', `${path}: journal is closed`);
    const line = toLine(record);
    try {
      await handle.appendFile(line, 'utf8');
      await handle.datasync();
    } catch (cause) {
      await handle.truncate(size).catch(() => {
        broken = new AppError('internal', `${path}: a failed write could not be undone; reopen`, { cause });
      });
      throw cause;
    }
    size += Buffer.byteLength(line);
    records += 1;
  };
  await replace(state);
  return {
    append,
    replace,
    records: () => records,
    close: async () => {
      await handle?.close();
      handle = undefined;
    },
  };
}
