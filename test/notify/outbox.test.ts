/**
 * The notification outbox (coordinator/src/notify/outbox.ts over db/queries/notifications.ts) on PGlite and PostgreSQL:
 * channel CRUD, enqueueing with routing and collapse, claiming with a lease, outcomes, health and
 * stats, and that a failure to queue never undoes the caller's decision.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { Database } from '../../coordinator/src/db/client.js';
import {
  claimDue,
  deleteChannel,
  findChannel,
  listChannels,
  listOutbox,
  markFailed,
  markRetry,
  markSent,
  nextDueAt,
  outboxStats,
  pruneSent,
  recordChannelFailure,
  recordChannelSuccess,
} from '../../coordinator/src/db/queries/notifications.js';
import { notificationChannels } from '../../coordinator/src/db/schema.js';
import { ChannelConfigSchema, ChannelInputSchema } from '../../coordinator/src/notify/channels.js';
import { maskChannel } from '../../coordinator/src/notify/masking.js';
import { type Message, toMessage } from '../../coordinator/src/notify/messages.js';
import { createNotifier } from '../../coordinator/src/notify/notifier.js';
import { createChannel, enqueue, updateChannel } from '../../coordinator/src/notify/outbox.js';
import { createManualClock } from '../../shared/src/clock.js';
import { createMemoryLogger } from '../../shared/src/logger.js';
import { describeOnEachDatabase } from '../helpers/database.js';

const T0 = Date.UTC(2025, 0, 15, 12, 0, 0);
const KEY = 'wechat-robot-key-0123456789';
const input = (fields: Record<string, unknown>) =>
  ChannelInputSchema.parse({ type: 'wechat-work', url: `http://127.0.0.1:9/send?key=${KEY}`, ...fields });
const power = (kind: 'onbatt' | 'online', at: number): Message =>
  toMessage({ kind, ups: 'nas-ups', at, status: kind === 'onbatt' ? ['OB'] : ['OL'] });

describeOnEachDatabase('notification queries', (factory) => {
  let database: Database;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ database, cleanup } = await factory.open());
  });
  afterAll(async () => {
    await cleanup();
  });
  beforeEach(async () => {
    await database.db.delete(notificationChannels);
  });

  it('channels: create, find, list, update, delete; a duplicate name is a conflict', async () => {
    const db = database.db;
    const created = await createChannel(db, input({ name: 'ops', events: ['onbatt'] }), new Date(T0));
    expect(created).toMatchObject({
      name: 'ops',
      type: 'wechat-work',
      events: ['onbatt'],
      enabled: true,
      consecutiveFailures: 0,
    });
    expect(created.config).toEqual({ url: `http://127.0.0.1:9/send?key=${KEY}`, format: 'text' });
    await expect(createChannel(db, input({ name: 'ops' }), new Date(T0))).rejects.toThrow(
      'a channel named "ops" already exists',
    );

    await recordChannelFailure(db, created.id, 'HTTP 503', new Date(T0));
    const updated = await updateChannel(
      db,
      'ops',
      { enabled: false, ups: ['nas-ups'] },
      new Date(T0 + 1_000),
    );
    expect(updated).toMatchObject({
      enabled: false,
      ups: ['nas-ups'],
      events: ['onbatt'],
      consecutiveFailures: 1,
    });
    expect(updated?.updatedAt.getTime()).toBe(T0 + 1_000);
    // New settings: the failure count starts again.
    const replaced = await updateChannel(
      db,
      'ops',
      { config: ChannelConfigSchema.parse({ type: 'ntfy', topic: 'ups' }) },
      new Date(T0 + 2_000),
    );
    expect(replaced).toMatchObject({
      type: 'ntfy',
      config: { topic: 'ups', baseUrl: 'https://ntfy.sh' },
      consecutiveFailures: 0,
    });
    expect(await updateChannel(db, 'nope', { enabled: true }, new Date(T0))).toBeUndefined();

    await createChannel(db, input({ name: 'alpha' }), new Date(T0));
    expect((await listChannels(db)).map((c) => c.name)).toEqual(['alpha', 'ops']);
    expect(await deleteChannel(db, 'ops')).toBe(true);
    expect(await deleteChannel(db, 'ops')).toBe(false);
    expect(await findChannel(db, 'ops')).toBeUndefined();
  });

  it('a stored channel is shown masked', async () => {
    const row = await createChannel(database.db, input({ name: 'ops' }), new Date(T0));
    const view = maskChannel(row);
    expect(view).toMatchObject({
      name: 'ops',
      type: 'wechat-work',
      url: 'http://127.0.0.1:9/send?key=****6789',
    });
    expect(JSON.stringify(view)).not.toContain(KEY);
  });

  it('enqueue collapses per channel: two messages due now, then one digest due at the window end', async () => {
    const db = database.db;
    await createChannel(db, input({ name: 'a' }), new Date(T0));
    await createChannel(db, input({ name: 'b' }), new Date(T0));
    expect(await enqueue(db, [power('onbatt', T0)], T0)).toBe(2);
    for (let i = 1; i <= 5; i++)
      expect(await enqueue(db, [power(i % 2 ? 'online' : 'onbatt', T0 + i * 1_000)], T0 + i * 1_000)).toBe(2);
    const rows = await listOutbox(db, { channel: 'a' });
    // On battery, then power back: both at once. The four after them: one digest, due when the
    // window of the latest immediate message (T0 + 1 s) ends.
    expect(rows.map((row) => [row.count, row.dueAt.getTime() - T0])).toEqual([
      [1, 0],
      [1, 1_000],
      [4, 121_000],
    ]);
    expect(rows.map((row) => (row.message as Message | undefined)?.text)).toEqual([
      power('onbatt', T0).text,
      power('online', T0 + 1_000).text,
      'UPS nas-ups power flapping: on battery ×2 in 2 min — now on mains',
    ]);
    expect((await listOutbox(db, { channel: 'b' })).map((row) => row.count)).toEqual([1, 1, 4]);
    // After the window, a new one opens.
    await enqueue(db, [power('onbatt', T0 + 130_000)], T0 + 130_000);
    expect((await listOutbox(db, { channel: 'a' })).map((row) => row.count)).toEqual([1, 1, 4, 1]);
  });

  it('claimDue takes due rows oldest first and leases them; outcomes are recorded', async () => {
    const db = database.db;
    const channel = await createChannel(db, input({ name: 'a' }), new Date(T0));
    const lowbatt = toMessage({ kind: 'lowbatt', ups: 'nas-ups', at: T0, status: ['OB', 'LB'] });
    await enqueue(db, [lowbatt, lowbatt, lowbatt], T0);

    expect(await claimDue(db, T0 - 1, 10)).toEqual([]);
    const claimed = await claimDue(db, T0, 2, 60_000);
    expect(claimed.map((row) => row.dueAt.getTime())).toEqual([T0 + 60_000, T0 + 60_000]);
    // Leased rows are not claimed again; the third one is.
    const rest = await claimDue(db, T0, 10, 60_000);
    expect(rest).toHaveLength(1);
    expect(rest[0]?.id).toBeGreaterThan(claimed[1]?.id ?? Number.POSITIVE_INFINITY);

    const [first, second] = claimed;
    if (first === undefined || second === undefined || rest[0] === undefined) throw new Error('rows missing');
    await markSent(db, first.id, new Date(T0 + 1));
    await markRetry(db, second.id, new Date(T0 + 5_000), 'HTTP 503');
    await markFailed(db, rest[0].id, 'errcode 93000: invalid webhook url');
    expect(await nextDueAt(db)).toEqual(new Date(T0 + 5_000));
    const rows = await listOutbox(db);
    expect(rows.map((row) => [row.state, row.attempts, row.lastError])).toEqual([
      ['sent', 1, null],
      ['pending', 1, 'HTTP 503'],
      ['failed', 1, 'errcode 93000: invalid webhook url'],
    ]);
    expect(await outboxStats(db)).toEqual([
      { channel: 'a', state: 'pending', messages: 1 },
      { channel: 'a', state: 'sent', messages: 1 },
      { channel: 'a', state: 'failed', messages: 1 },
    ]);

    expect(await recordChannelFailure(db, channel.id, 'HTTP 503', new Date(T0))).toBe(1);
    expect(await recordChannelFailure(db, channel.id, 'HTTP 503', new Date(T0))).toBe(2);
    await recordChannelSuccess(db, channel.id, new Date(T0 + 9));
    expect(await findChannel(db, 'a')).toMatchObject({ consecutiveFailures: 0, lastError: 'HTTP 503' });

    expect(await pruneSent(db, new Date(T0))).toBe(0);
    expect(await pruneSent(db, new Date(T0 + 2))).toBe(1);
    expect((await listOutbox(db)).map((row) => row.state)).toEqual(['pending', 'failed']);
  });

  it("a failure to queue is logged and never undoes the caller's transaction", async () => {
    const db = database.db;
    await createChannel(db, input({ name: 'a' }), new Date(T0));
    const logger = createMemoryLogger();
    const notifier = createNotifier({ db, clock: createManualClock(T0), logger });
    await db.transaction(async (tx) => {
      // A NUL character cannot be stored in jsonb: the insert fails inside publish's savepoint.
      const written = await notifier.publish(
        tx,
        [{ kind: 'onbatt', ups: 'bad\u0000ups', at: T0, status: null }],
        T0,
      );
      expect(written).toBe(0);
      await createChannel(tx, input({ name: 'after-the-failure' }), new Date(T0));
    });
    expect(await findChannel(db, 'after-the-failure')).toBeDefined();
    expect(await listOutbox(db)).toEqual([]);
    expect(logger.entries.map((entry) => entry.message)).toContain('notifications could not be queued');
  });
});
