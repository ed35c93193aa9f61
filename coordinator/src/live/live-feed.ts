/**
 * The live feed behind `GET /api/v1/stream`. The fleet says "something changed" after each
 * committed decision (`changed()`); one tail then reads what is new in the database — UPS events
 * and run timeline entries, by id — and which hosts are connected, and hands each message to every
 * subscriber. Reading committed rows (rather than passing objects around) keeps the stream exactly
 * what the API shows, and lets a client that reconnects with `Last-Event-ID` replay what it missed.
 */
import type { Logger } from '../../../shared/src/logger.js';
import type { Db } from '../db/client.js';
import { listAgents } from '../db/queries/agents.js';
import { latestRunEventId, listRunEventsAfter } from '../db/queries/runs.js';
import { latestUpsEventId, listUpsEvents, listUpsStates } from '../db/queries/ups-events.js';

/** How far the stream has got in each table: the SSE event id is `<ups event id>.<run event id>`. */
export interface LiveCursor {
  readonly ups: number;
  readonly run: number;
}

export type LiveTopic = 'ups' | 'run' | 'host' | 'fleet';
export const LIVE_TOPICS: readonly LiveTopic[] = ['ups', 'run', 'host', 'fleet'];

export interface LiveMessage {
  readonly event: 'hello' | LiveTopic;
  readonly data: unknown;
  /** Set on messages a reconnecting client can resume after. */
  readonly id?: string;
}

export interface LiveSubscriber {
  readonly topics: ReadonlySet<LiveTopic>;
  send(message: LiveMessage): void;
  /** The feed is closing (the coordinator stops): end the stream. */
  end(): void;
}

/** Replayed to a reconnecting client at most, per table; older misses are not worth a flood. */
const REPLAY_LIMIT = 1000;
const BATCH = 200;

export function formatCursor(cursor: LiveCursor): string {
  return `${cursor.ups}.${cursor.run}`;
}

export function parseCursor(text: string | undefined): LiveCursor | undefined {
  const match = /^(\d{1,15})\.(\d{1,15})$/.exec(text?.trim() ?? '');
  return match === null ? undefined : { ups: Number(match[1]), run: Number(match[2]) };
}

type UpsRow = Awaited<ReturnType<typeof listUpsEvents>>[number];
type StateRow = Awaited<ReturnType<typeof listUpsStates>>[number];
type RunRow = Awaited<ReturnType<typeof listRunEventsAfter>>[number];

/** A table row's message, before it gets the subscription's cursor as its id. */
interface RowMessage {
  readonly event: 'ups' | 'run';
  readonly seq: number;
  readonly data: unknown;
}

interface Subscription {
  readonly subscriber: LiveSubscriber;
  seen: { ups: number; run: number };
  /** Live messages held back while the subscription replays what it missed. */
  held: (RowMessage | LiveMessage)[] | undefined;
}

export function createLiveFeed(deps: { db: Db; isConnected: (agentId: string) => boolean; logger: Logger }) {
  const { db, logger } = deps;
  const subscriptions = new Set<Subscription>();
  let head: Promise<{ ups: number; run: number }> | undefined;
  let hosts = new Map<string, boolean>();
  let running = false;
  let dirty = false;
  let closed = false;

  const connectedHosts = async () =>
    new Map(
      (await listAgents(db))
        .filter((agent) => agent.status === 'active')
        .map((agent) => [agent.name, deps.isConnected(agent.id)] as const),
    );

  function start() {
    head ??= (async () => {
      const [ups, run, connected] = await Promise.all([
        latestUpsEventId(db),
        latestRunEventId(db),
        connectedHosts(),
      ]);
      hosts = connected;
      return { ups, run };
    })();
    return head;
  }

  const upsMessage = (row: UpsRow, states: readonly StateRow[]): RowMessage => ({
    event: 'ups',
    seq: row.id,
    data: { event: row, state: states.find((state) => state.ups === row.ups) ?? null },
  });
  const runMessage = (row: RunRow): RowMessage => ({ event: 'run', seq: row.id, data: row });

  /** Sends a table row's message once per subscription, in id order, with the subscription's cursor. */
  function deliver(subscription: Subscription, message: RowMessage | LiveMessage) {
    if (!('seq' in message)) {
      if (message.event === 'hello' || subscription.subscriber.topics.has(message.event))
        subscription.subscriber.send(message);
      return;
    }
    if (message.seq <= subscription.seen[message.event]) return;
    subscription.seen[message.event] = message.seq;
    if (!subscription.subscriber.topics.has(message.event)) return;
    subscription.subscriber.send({
      event: message.event,
      data: message.data,
      id: formatCursor(subscription.seen),
    });
  }

  function broadcast(message: RowMessage | LiveMessage) {
    for (const subscription of subscriptions) {
      if (subscription.held !== undefined) subscription.held.push(message);
      else deliver(subscription, message);
    }
  }

  async function pumpOnce(): Promise<void> {
    const cursor = await start();
    for (;;) {
      const rows = await listUpsEvents(db, { afterId: cursor.ups, limit: BATCH });
      if (rows.length === 0) break;
      const states = await listUpsStates(db);
      for (const row of rows) {
        cursor.ups = row.id;
        broadcast(upsMessage(row, states));
      }
      if (rows.length < BATCH) break;
    }
    for (;;) {
      const rows = await listRunEventsAfter(db, cursor.run, BATCH);
      for (const row of rows) {
        cursor.run = row.id;
        broadcast(runMessage(row));
      }
      if (rows.length < BATCH) break;
    }
    const now = await connectedHosts();
    for (const [name, connected] of now)
      if (hosts.get(name) !== connected) broadcast({ event: 'host', data: { name, connected } });
    hosts = now;
    // Whatever else changed (an ack, a result, a policy) has no row of its own to send: say so.
    broadcast({ event: 'fleet', data: {} });
  }

  return {
    /** Something was committed: read what is new and send it. Calls during a read are merged into one more read. */
    changed(): void {
      if (subscriptions.size === 0) {
        // Nobody listening: nothing to read (a burst of hellos must not read every agent each
        // time). The next subscriber starts from the present.
        if (!running) head = undefined;
        return;
      }
      if (running) {
        dirty = true;
        return;
      }
      running = true;
      void (async () => {
        do {
          dirty = false;
          try {
            await pumpOnce();
          } catch (error) {
            logger.warn('live stream: reading what changed failed', { error: String(error) });
          }
        } while (dirty);
        running = false;
      })();
    },

    /**
     * Starts sending to `subscriber`: a `hello` with the present cursor, then (when `from` is given)
     * every UPS event and timeline entry after it, then live messages. Returns the unsubscribe.
     */
    async subscribe(subscriber: LiveSubscriber, from?: LiveCursor): Promise<() => void> {
      if (closed) {
        // A client reconnecting while the coordinator stops (on a kept-alive socket): end at once,
        // or the server would wait for this stream forever.
        subscriber.end();
        return () => {};
      }
      const subscription: Subscription = { subscriber, seen: { ups: 0, run: 0 }, held: [] };
      subscriptions.add(subscription);
      const present = { ...(await start()) };
      if (closed) {
        subscriptions.delete(subscription);
        subscriber.end();
        return () => {};
      }
      // A table the subscriber did not ask for is not replayed: it starts from the present there.
      subscription.seen = {
        ups: from !== undefined && subscriber.topics.has('ups') ? from.ups : present.ups,
        run: from !== undefined && subscriber.topics.has('run') ? from.run : present.run,
      };
      subscriber.send({
        event: 'hello',
        data: { cursor: formatCursor(subscription.seen), hosts: Object.fromEntries(hosts) },
        id: formatCursor(subscription.seen),
      });
      if (from !== undefined) {
        const none = Promise.resolve([]);
        const [ups, run] = await Promise.all([
          subscriber.topics.has('ups') ? listUpsEvents(db, { afterId: from.ups, limit: REPLAY_LIMIT }) : none,
          subscriber.topics.has('run') ? listRunEventsAfter(db, from.run, REPLAY_LIMIT) : none,
        ]);
        const states = ups.length > 0 ? await listUpsStates(db) : [];
        for (const row of ups) deliver(subscription, upsMessage(row, states));
        for (const row of run) deliver(subscription, runMessage(row));
      }
      const held = subscription.held ?? [];
      subscription.held = undefined;
      for (const message of held) deliver(subscription, message);
      return () => {
        subscriptions.delete(subscription);
      };
    },

    /** Ends every stream (before the HTTP server closes, which waits for open connections). */
    close(): void {
      closed = true;
      for (const subscription of subscriptions) subscription.subscriber.end();
      subscriptions.clear();
    },

    get subscribers(): number {
      return subscriptions.size;
    },
  };
}
export type LiveFeed = ReturnType<typeof createLiveFeed>;
