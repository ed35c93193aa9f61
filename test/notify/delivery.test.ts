/**
 * Notifications end to end, on PGlite and PostgreSQL: facts published in a transaction, the outbox,
 * the delivery loop, and a real local HTTP receiver as every chat service. Time passes on a manual
 * clock; the tests await the receiver's requests and the loop's idleness, never a sleep.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../coordinator/src/db/client.js';
import { listOutbox } from '../../coordinator/src/db/queries/notifications.js';
import { notificationChannels, notificationOutbox } from '../../coordinator/src/db/schema.js';
import { ChannelInputSchema } from '../../coordinator/src/notify/channels.js';
import type { NotificationFact, UpsFact } from '../../coordinator/src/notify/facts.js';
import { createNotifier, type Notifier } from '../../coordinator/src/notify/notifier.js';
import { createChannel } from '../../coordinator/src/notify/outbox.js';
import { createManualClock } from '../../shared/src/clock.js';
import { createMemoryLogger } from '../../shared/src/logger.js';
import { describeOnEachDatabase } from '../helpers/database.js';
import { freePort, until } from '../nut/daemon.js';
import { type Receiver, startReceiver, wechatOk } from './receiver.js';

const T0 = Date.UTC(2025, 0, 15, 12, 0, 0);
const ROBOT_KEY = 'robot-key-3f9a2c71-secret';
const ROBOT_PATH = `/cgi-bin/webhook/send?key=${ROBOT_KEY}`;

const upsFact = (kind: UpsFact['kind'], at: number, extra: Partial<UpsFact> = {}): UpsFact => ({
  kind,
  ups: 'nas-ups',
  at,
  status: kind === 'online' ? ['OL', 'CHRG'] : ['OB', 'DISCHRG'],
  ...extra,
});
const onbatt = (at: number) =>
  upsFact('onbatt', at, { charge: 87, runtime: 14 * 60 + 20, nextStage: { name: 'apps', inMs: 60_000 } });
const ONBATT_TEXT = "UPS nas-ups on battery — runtime 14 min, charge 87 %, stage 'apps' in 60 s";

describeOnEachDatabase('notifications', (factory) => {
  let database: Database;
  let cleanup: () => Promise<void>;
  let receivers: Receiver[] = [];
  let notifier: Notifier | undefined;
  const clock = createManualClock(T0);
  let logger = createMemoryLogger();

  beforeAll(async () => {
    ({ database, cleanup } = await factory.open());
  });
  afterAll(async () => {
    await cleanup();
  });
  beforeEach(async () => {
    clock.set(T0);
    logger = createMemoryLogger();
    await database.db.delete(notificationChannels);
  });
  afterEach(async () => {
    await notifier?.stop();
    notifier = undefined;
    await Promise.all(receivers.map((receiver) => receiver.close()));
    receivers = [];
  });

  function start(options: { timeoutMs?: number } = {}): Notifier {
    // random 0: each backoff is the lower half of its cap (5 s doubling → 2.5 s, 5 s, 10 s, …).
    notifier = createNotifier({ db: database.db, clock, logger, random: () => 0, ...options });
    notifier.start();
    return notifier;
  }

  async function receiver(options: Parameters<typeof startReceiver>[0] = {}): Promise<Receiver> {
    const started = await startReceiver(options);
    receivers.push(started);
    return started;
  }

  async function channel(input: Record<string, unknown>): Promise<void> {
    await createChannel(database.db, ChannelInputSchema.parse(input), new Date(clock.now()));
  }

  /** As the fleet does: publish inside the decision's transaction, then kick once it committed. */
  async function publish(facts: readonly NotificationFact[]): Promise<void> {
    if (notifier === undefined) throw new Error('start the notifier first');
    const active = notifier;
    await database.db.transaction((tx) => active.publish(tx, facts, clock.now()));
    active.kick();
  }

  type Row = Awaited<ReturnType<typeof listOutbox>>[number];

  async function outbox(name?: string): Promise<Row[]> {
    return listOutbox(database.db, name === undefined ? {} : { channel: name });
  }

  async function only(name?: string): Promise<Row> {
    const rows = await outbox(name);
    expect(rows).toHaveLength(1);
    return rows[0] as Row;
  }

  it('a stored message this version cannot read is given up with a message that says so; the rest still go', async () => {
    const robot = await receiver({ respond: wechatOk });
    await channel({ name: 'ops-wechat', type: 'wechat-work', url: robot.url(ROBOT_PATH) });
    const [stored] = await database.db.select().from(notificationChannels);
    await database.db.insert(notificationOutbox).values({
      channelId: stored?.id ?? '',
      kind: 'onbatt',
      collapseKey: null,
      message: { kind: 'onbatt', severity: 'sideways', title: 'from another version' },
      dueAt: new Date(T0),
      createdAt: new Date(T0),
    });
    start();
    await publish([onbatt(T0)]);

    expect((await robot.next()).body).toBe(
      JSON.stringify({ msgtype: 'text', text: { content: ONBATT_TEXT } }),
    );
    await notifier?.idle();
    const rows = await outbox();
    expect(rows.map((row) => row.state).sort()).toEqual(['failed', 'sent']);
    expect(rows.find((row) => row.state === 'failed')?.lastError).toMatch(
      /^The notification outbox message \d+ in the database cannot be read by this version of upsfleet \(severity: /,
    );
  });

  it('an on-battery event reaches the WeChat Work robot as a correctly formatted text message', async () => {
    const robot = await receiver({ respond: wechatOk });
    await channel({ name: 'ops-wechat', type: 'wechat-work', url: robot.url(ROBOT_PATH) });
    start();
    await publish([onbatt(T0)]);

    const request = await robot.next();
    expect(request.method).toBe('POST');
    expect(request.path).toBe(ROBOT_PATH);
    expect(request.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(request.body).toBe(JSON.stringify({ msgtype: 'text', text: { content: ONBATT_TEXT } }));

    await notifier?.idle();
    expect(await only()).toMatchObject({
      state: 'sent',
      attempts: 1,
      count: 1,
      kind: 'onbatt',
      lastError: null,
    });
    expect(logger.lines().some((line) => line.includes('notification sent'))).toBe(true);
    expect(logger.lines().join('\n')).not.toContain(ROBOT_KEY);
  });

  it('a flap (ONBATT/ONLINE ×6 quickly) is on battery and power back at once, then exactly ONE digest at the window end', async () => {
    const robot = await receiver({ respond: wechatOk });
    await channel({ name: 'ops-wechat', type: 'wechat-work', url: robot.url(ROBOT_PATH) });
    const active = start();
    await publish([onbatt(T0)]);
    expect(JSON.parse((await robot.next()).body).text.content).toBe(ONBATT_TEXT);
    clock.advance(5_000);
    await publish([upsFact('online', clock.now())]);
    expect(JSON.parse((await robot.next()).body).text.content).toBe('Power back on nas-ups');

    for (let i = 2; i < 12; i++) {
      clock.advance(5_000);
      await publish([upsFact(i % 2 === 0 ? 'onbatt' : 'online', clock.now())]);
    }
    await active.idle();
    const rows = await outbox();
    expect(rows).toHaveLength(3);
    const [first, second, digest] = rows;
    expect(first).toMatchObject({ state: 'sent', count: 1, kind: 'onbatt' });
    expect(second).toMatchObject({ state: 'sent', count: 1, kind: 'online' });
    expect(digest).toMatchObject({ state: 'pending', count: 10, attempts: 0, collapseKey: 'power:nas-ups' });
    // The window of the latest message sent at once (power back, T0 + 5 s).
    expect(digest?.dueAt.getTime()).toBe(T0 + 125_000);
    expect(robot.requests).toHaveLength(2);

    // Not a moment before the window ends.
    clock.set(T0 + 124_999);
    active.kick();
    await active.idle();
    expect(robot.requests).toHaveLength(2);

    clock.set(T0 + 125_000);
    active.kick();
    expect(JSON.parse((await robot.next()).body)).toEqual({
      msgtype: 'text',
      text: { content: 'UPS nas-ups power flapping: on battery ×5 in 2 min — now on mains' },
    });
    await active.idle();
    expect((await outbox()).map((row) => row.state)).toEqual(['sent', 'sent', 'sent']);
    expect(robot.requests).toHaveLength(3);
  });

  it('a message is retried with backoff while the receiver is down, and delivered when it is back', async () => {
    const port = await freePort();
    await channel({ name: 'ops-wechat', type: 'wechat-work', url: `http://127.0.0.1:${port}${ROBOT_PATH}` });
    const active = start();
    await publish([onbatt(T0)]);
    await active.idle();

    // Nobody listens: connection refused, retried 2.5 s later.
    let row = await only();
    expect(row).toMatchObject({ state: 'pending', attempts: 1 });
    expect(row.lastError).toMatch(/ECONNREFUSED/);
    expect(row.dueAt.getTime()).toBe(T0 + 2_500);
    expect((await active.health())[0]).toMatchObject({ consecutiveFailures: 1, failing: false });

    // Nothing is sent before it is due.
    const robot = await receiver({ port, respond: () => ({ status: 503, body: 'starting up' }) });
    active.kick();
    await active.idle();
    expect(robot.requests).toHaveLength(0);

    // Back, but still starting: 503, retried 5 s later.
    clock.set(T0 + 2_500);
    active.kick();
    await robot.next();
    await active.idle();
    row = await only();
    expect(row).toMatchObject({ state: 'pending', attempts: 2, lastError: 'HTTP 503: starting up' });
    expect(row.dueAt.getTime()).toBe(T0 + 2_500 + 5_000);

    // Up: delivered, unchanged.
    robot.respondWith(wechatOk);
    clock.set(T0 + 7_500);
    active.kick();
    expect(JSON.parse((await robot.next()).body).text.content).toBe(ONBATT_TEXT);
    await active.idle();
    row = await only();
    expect(row).toMatchObject({ state: 'sent', attempts: 3, lastError: null });
    expect(row.sentAt?.getTime()).toBe(T0 + 7_500);
    expect((await active.health())[0]).toMatchObject({
      consecutiveFailures: 0,
      failing: false,
      outbox: { sent: 1 },
    });
    expect(logger.lines().join('\n')).not.toContain(ROBOT_KEY);
  });

  it('messages queued behind a failure wait with it, and all go out as soon as the channel answers again', async () => {
    const port = await freePort();
    await channel({
      name: 'team-slack',
      type: 'slack',
      url: `http://127.0.0.1:${port}/services/T/B/token-1234`,
    });
    const active = start();
    await publish([
      upsFact('lowbatt', T0, { runtime: 95 }),
      {
        kind: 'stage-fired',
        at: T0,
        run: 1,
        drill: false,
        stage: 'apps',
        reason: 'nas-ups: low battery',
        hosts: ['web-1'],
      },
      { kind: 'order-failed', at: T0, run: 1, drill: false, host: 'web-1', error: 'exit 1' },
    ]);
    await active.idle();
    // One attempt failed; the two behind it were not tried and wait for the same retry time.
    expect((await outbox()).map((row) => [row.attempts, row.dueAt.getTime() - T0])).toEqual([
      [1, 2_500],
      [0, 2_500],
      [0, 2_500],
    ]);

    // Back before the retry is due: a new message goes through, and the waiting ones follow it at once.
    const slack = await receiver({ port });
    clock.set(T0 + 1_000);
    await publish([upsFact('online', clock.now())]);
    await active.idle();
    expect(slack.requests.map((request) => JSON.parse(request.body).text)).toEqual([
      'Power back on nas-ups',
      'UPS nas-ups battery low — runtime 95 s',
      "Stage 'apps' fired: nas-ups low battery — shutting down web-1",
      'Shutdown failed on web-1 — exit 1',
    ]);
    expect((await outbox()).every((row) => row.state === 'sent')).toBe(true);
  });

  it('a permanent 4xx is not retried, and a channel failing 3 times in a row shows as failing', async () => {
    const discord = await receiver({
      respond: () => ({ status: 404, body: '{"message":"Unknown Webhook","code":10015}' }),
    });
    await channel({
      name: 'team-discord',
      type: 'discord',
      url: discord.url('/api/webhooks/42/gone-token-abcdef'),
    });
    const active = start();
    await publish([
      upsFact('lowbatt', T0, { runtime: 95, charge: 18 }),
      {
        kind: 'stage-fired',
        at: T0,
        run: 1,
        drill: false,
        stage: 'apps',
        reason: 'nas-ups: low battery',
        hosts: ['web-1'],
      },
      { kind: 'order-failed', at: T0, run: 1, drill: false, host: 'web-1', stage: 'apps', error: 'exit 1' },
    ]);
    await active.idle();

    expect(discord.requests).toHaveLength(3);
    for (const row of await outbox())
      expect(row).toMatchObject({
        state: 'failed',
        attempts: 1,
        lastError: 'HTTP 404: {"message":"Unknown Webhook","code":10015}',
      });
    const [health] = await active.health();
    expect(health).toMatchObject({
      name: 'team-discord',
      failing: true,
      consecutiveFailures: 3,
      outbox: { failed: 3, pending: 0 },
    });
    expect(
      logger.entries.some(
        (entry) => entry.level === 'error' && entry.message === 'notification channel failing',
      ),
    ).toBe(true);

    // An hour later: still nothing retried.
    clock.advance(3_600_000);
    active.kick();
    await active.idle();
    expect(discord.requests).toHaveLength(3);
  });

  it('the worker keeps delivering to other channels while one hangs or is down', async () => {
    const stuck = await receiver({ respond: () => 'hang' });
    const slack = await receiver();
    await channel({ name: 'stuck-wechat', type: 'wechat-work', url: stuck.url(ROBOT_PATH) });
    await channel({ name: 'team-slack', type: 'slack', url: slack.url('/services/T1/B1/slack-token-xyz') });
    const active = start({ timeoutMs: 500 });
    await publish([onbatt(T0)]);

    // Both requests are out; Slack's is answered and recorded while WeChat's still hangs.
    const [, toSlack] = await Promise.all([stuck.next(), slack.next()]);
    expect(JSON.parse(toSlack.body)).toEqual({ text: ONBATT_TEXT });
    await until(
      async () => ((await only('team-slack')).state === 'sent' ? true : undefined),
      () => 'the Slack message was not recorded as sent while the other channel hung',
      5_000,
    );
    expect(stuck.requests).toHaveLength(1);

    // The hanging request times out: retried later, on its own.
    await active.idle();
    expect(await only('stuck-wechat')).toMatchObject({
      state: 'pending',
      attempts: 1,
      lastError: 'timed out',
    });

    // While WeChat is backing off, Slack gets the next message at once.
    clock.advance(1_000);
    await publish([upsFact('lowbatt', clock.now(), { runtime: 95 })]);
    expect(JSON.parse((await slack.next()).body).text).toBe('UPS nas-ups battery low — runtime 95 s');
    await active.idle();
    expect((await outbox('team-slack')).map((row) => row.state)).toEqual(['sent', 'sent']);
  });

  describe('publishing', () => {
    it('messages are written with the decision: a rolled-back transaction leaves none', async () => {
      await channel({ name: 'team-slack', type: 'slack', url: 'http://127.0.0.1:9/services/x' });
      const active = start();
      await expect(
        database.db.transaction(async (tx) => {
          await active.publish(tx, [onbatt(T0)], T0);
          throw new Error('the decision failed');
        }),
      ).rejects.toThrow('the decision failed');
      expect(await outbox()).toEqual([]);
    });

    it('routing: a channel hears only its events and its UPSes', async () => {
      await channel({ name: 'all', type: 'slack', url: 'http://127.0.0.1:9/a' });
      await channel({
        name: 'critical',
        type: 'slack',
        url: 'http://127.0.0.1:9/b',
        events: ['lowbatt', 'stage-fired'],
      });
      await channel({ name: 'other-ups', type: 'slack', url: 'http://127.0.0.1:9/c', ups: ['rack-ups'] });
      await channel({ name: 'off', type: 'slack', url: 'http://127.0.0.1:9/d', enabled: false });
      const active = createNotifier({ db: database.db, clock, logger });
      await database.db.transaction((tx) => active.publish(tx, [onbatt(T0), upsFact('lowbatt', T0)], T0));
      const rows = await outbox();
      expect(rows.map((row) => `${row.channel}:${row.kind}`).sort()).toEqual([
        'all:lowbatt',
        'all:onbatt',
        'critical:lowbatt',
      ]);
    });
  });

  describe('testChannel', () => {
    it('sends a test message now and records nothing in the outbox', async () => {
      const ntfy = await receiver();
      await channel({
        name: 'phone',
        type: 'ntfy',
        topic: 'ups-alerts',
        baseUrl: ntfy.url(''),
        token: 'tk_abcdefghijkl',
        enabled: false,
      });
      const active = start();
      await expect(active.testChannel('phone')).resolves.toEqual({ ok: true, status: 200 });
      const request = ntfy.next();
      expect(await request).toMatchObject({
        path: '/ups-alerts',
        body: "upsfleet test message for channel 'phone': if you read this, the channel works",
      });
      expect((await request).headers).toMatchObject({
        title: "upsfleet test message for channel 'phone'",
        priority: '3',
        authorization: 'Bearer tk_abcdefghijkl',
      });
      expect(await outbox()).toEqual([]);
    });

    it('says why a test failed, without the secret', async () => {
      const telegram = await receiver({
        respond: () => ({ status: 401, body: '{"ok":false,"error_code":401,"description":"Unauthorized"}' }),
      });
      await channel({
        name: 'tg',
        type: 'telegram',
        botToken: '123456:SECRETTOKENVALUE',
        chatId: '-100',
        baseUrl: telegram.url(''),
      });
      const active = start();
      await expect(active.testChannel('tg')).resolves.toEqual({
        ok: false,
        status: 401,
        error: 'error 401: Unauthorized',
      });
      expect((await telegram.next()).path).toBe('/bot123456:SECRETTOKENVALUE/sendMessage');
      await expect(active.testChannel('nope')).rejects.toThrow('no notification channel "nope"');
    });
  });
});
