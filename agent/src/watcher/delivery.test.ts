import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../../shared/src/clock.js';
import { createMemoryLogger } from '../../../shared/src/logger.js';
import type { AgentMessage, UpsEventClaims, UpsEventInput } from '../../../shared/src/protocol.js';
import { generateSigningKey, type SigningKeyPair } from '../../../shared/src/signing.js';
import { signUpsEvent, verifyUpsEvent } from '../../../shared/src/tokens.js';
import { createAsyncQueue, createTempDir } from '../test-support.js';
import { createEventDelivery, type EventDelivery, type EventDeliveryOptions } from './delivery.js';
import { type Outbox, openOutbox, type PendingEvent } from './outbox.js';

const T0 = Date.parse('2026-11-23T22:00:00Z');
const AGENT = 'agent-watcher-1';
const clock = createManualClock(T0);

/** Event `n`, told apart by observedAt. */
const event = (n: number): PendingEvent => ({
  ups: 'rack-a',
  observedAt: T0 + n,
  status: ['OB'],
  events: ['ONBATT'],
  vars: { 'battery.charge': String(100 - n) },
});

/** A promise with its resolver, for tests that need to hold something open. */
function deferred<T = void>() {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('event delivery', () => {
  let dir: { path: string; remove(): Promise<void> };
  let keyPair: SigningKeyPair;
  let outbox: Outbox;
  let delivery: EventDelivery | undefined;
  const logger = createMemoryLogger();
  /** Every token handed to `send`, in order. */
  let frames: ReturnType<typeof createAsyncQueue<string>>;
  /** What `send` does once it has recorded the frame; resolves by default. */
  let sendResult: () => Promise<void>;

  const send = (message: AgentMessage): Promise<void> => {
    if (message.type !== 'event') return Promise.reject(new Error(`unexpected frame ${message.type}`));
    frames.push(message.token);
    return sendResult();
  };

  const start = (options: Partial<EventDeliveryOptions> = {}): EventDelivery => {
    delivery = createEventDelivery({ outbox, send, logger, ...options });
    return delivery;
  };

  const claimsOf = async (token: string): Promise<UpsEventClaims> =>
    (await verifyUpsEvent(token, async () => keyPair.publicKey, clock.now())).claims;

  /** The next frame sent, decoded. */
  const nextSent = async (): Promise<{ token: string; claims: UpsEventClaims }> => {
    const token = await frames.next();
    return { token, claims: await claimsOf(token) };
  };

  /**
   * Returns once every outbox operation the delivery has started so far is done and the promise
   * callbacks after it have run: the outbox runs its operations in call order, so a no-op ack queued
   * now completes after them; then one macrotask turn drains the microtasks (a `send` that follows).
   */
  const settled = async (): Promise<void> => {
    expect(await outbox.ack(0)).toBe(false);
    await new Promise<void>((resolve) => setImmediate(resolve));
  };

  const enqueue = async (...ns: number[]): Promise<void> => {
    for (const n of ns) await outbox.enqueue(event(n));
  };

  beforeEach(async () => {
    dir = await createTempDir('delivery');
    keyPair = (await generateSigningKey()).keyPair;
    const sign = (claims: UpsEventInput) => signUpsEvent(keyPair, AGENT, claims, clock.now());
    outbox = await openOutbox({ dir: dir.path, sign, clock });
    frames = createAsyncQueue<string>();
    sendResult = () => Promise.resolve();
    logger.entries.splice(0);
  });
  afterEach(async () => {
    delivery?.stop();
    delivery = undefined;
    await outbox.close();
    await dir.remove();
  });

  it('sends nothing before connected()', async () => {
    const events = start();
    await enqueue(1, 2);
    events.kick();
    await settled();
    expect(frames.pending).toBe(0);
    expect(outbox.size).toBe(2);

    events.connected();
    const first = await nextSent();
    expect(first.claims).toMatchObject({ seq: 1, observedAt: T0 + 1, dropped: 0 });
  });

  it('sends one event at a time, in seq order, each only after the previous ack; other seqs are ignored', async () => {
    const events = start();
    await enqueue(1, 2, 3);
    events.connected();

    const first = await nextSent();
    expect(first.claims).toMatchObject({ seq: 1, observedAt: T0 + 1 });
    events.kick();
    await settled();
    expect(frames.pending).toBe(0);

    // An ack for a seq that is not in flight changes nothing.
    events.acked(2, false);
    events.acked(0, false);
    await settled();
    expect(frames.pending).toBe(0);
    expect(outbox.size).toBe(3);

    events.acked(1, false);
    const second = await nextSent();
    expect(second.claims).toMatchObject({ seq: 2, observedAt: T0 + 2 });
    await settled();
    expect(frames.pending).toBe(0);
    expect(outbox.size).toBe(2);

    events.acked(2, false);
    const third = await nextSent();
    expect(third.claims).toMatchObject({ seq: 3, observedAt: T0 + 3, ups: 'rack-a', events: ['ONBATT'] });
    events.acked(3, false);
    await settled();
    expect(outbox.size).toBe(0);
    expect(frames.pending).toBe(0);
  });

  it('re-sends the same token for the in-flight seq after a reconnect', async () => {
    const events = start();
    await enqueue(1, 2);
    events.connected();
    const first = await nextSent();

    events.disconnected();
    events.connected();
    const again = await nextSent();
    expect(again.token).toBe(first.token);
    expect(again.claims.seq).toBe(1);

    events.acked(1, false);
    expect((await nextSent()).claims).toMatchObject({ seq: 2, observedAt: T0 + 2 });
  });

  it('re-sends the same token when no ack comes within ackTimeoutMs', async () => {
    const events = start({ ackTimeoutMs: 5 });
    await enqueue(1);
    events.connected();
    const first = await nextSent();
    const again = await nextSent();
    expect(again.token).toBe(first.token);
    events.acked(1, false);
    await settled();
    expect(outbox.size).toBe(0);
  });

  it('treats a duplicate ack like an ack', async () => {
    const events = start();
    await enqueue(1, 2);
    events.connected();
    await nextSent();
    events.acked(1, true);
    expect((await nextSent()).claims).toMatchObject({ seq: 2, observedAt: T0 + 2 });
    expect(outbox.size).toBe(1);
    expect(logger.entries.some((e) => e.level === 'debug' && e.fields?.seq === 1)).toBe(true);
  });

  it('after a passing refusal (conflict), retries the same event later and does not drop it', async () => {
    const events = start({ retryAfterRefusalMs: 5 });
    await enqueue(1, 2);
    events.connected();
    const first = await nextSent();

    events.refused(1, 'conflict', 'the coordinator is busy');
    const retried = await nextSent();
    expect(retried.token).toBe(first.token);
    expect(outbox.size).toBe(2);
    expect(logger.entries.filter((e) => e.level === 'error').map((e) => e.message)).toEqual([
      expect.stringMatching(/refused UPS event 1 \(conflict\): the coordinator is busy/),
    ]);

    // A refusal for another seq is ignored.
    events.refused(2, 'conflict', 'not this one');
    events.acked(1, false);
    const second = await nextSent();
    expect(second.claims).toMatchObject({ seq: 2, observedAt: T0 + 2, dropped: 0 });
  });

  it('drops an event refused because this agent is not the watcher (forbidden), so the rest flow', async () => {
    const events = start({ retryAfterRefusalMs: 5 });
    await enqueue(1, 2);
    events.connected();
    await nextSent();
    events.refused(1, 'forbidden', 'agent "nas" is not the watcher of UPS "rack-a"');
    expect((await nextSent()).claims).toMatchObject({ seq: 2, dropped: 1 });
  });

  it('abandons an event refused for its signature; the next one carries dropped: 1', async () => {
    // The coordinator answers `signature` for a token it can never accept (e.g. expired after a
    // 24 h outage). Re-sending it forever would block every later event.
    const events = start({ retryAfterRefusalMs: 5 });
    await enqueue(1, 2);
    events.connected();
    await nextSent();

    events.refused(1, 'signature', 'token expired');
    const next = await nextSent();
    expect(next.claims).toMatchObject({ seq: 2, observedAt: T0 + 2, dropped: 1 });
    expect(outbox.size).toBe(1);
  });

  it('a send that rejects does not lose the event: it goes out again after a reconnect', async () => {
    const events = start();
    await enqueue(1);
    sendResult = () => Promise.reject(new Error('socket closed'));
    events.connected();
    const first = await nextSent();
    events.disconnected();
    await settled();
    expect(logger.entries.filter((e) => e.level === 'warn').map((e) => e.message)).toEqual([
      expect.stringMatching(/could not send a UPS event: socket closed/),
    ]);
    expect(outbox.size).toBe(1);

    sendResult = () => Promise.resolve();
    events.connected();
    const again = await nextSent();
    expect(again.token).toBe(first.token);
    events.acked(1, false);
    await settled();
    expect(outbox.size).toBe(0);
  });

  it('an event enqueued while a send is in progress is not lost', async () => {
    const events = start();
    await enqueue(1);
    const release = deferred();
    sendResult = () => release.promise;
    events.connected();
    await nextSent();

    // The pump is still inside send(): the kick must not be forgotten.
    await enqueue(2);
    events.kick();
    events.acked(1, false);
    await settled();
    expect(frames.pending).toBe(0);
    sendResult = () => Promise.resolve();
    release.resolve();
    expect((await nextSent()).claims).toMatchObject({ seq: 2, observedAt: T0 + 2 });
  });

  it('a kick that arrives while the pump finds the outbox empty is not lost', async () => {
    // The outbox is real; the wrapper only holds next()'s answer until the test has enqueued.
    const looked = deferred();
    const gate = deferred();
    let holding = true;
    const held: Outbox = {
      enqueue: (e) => outbox.enqueue(e),
      next: async () => {
        const result = await outbox.next();
        if (holding) {
          holding = false;
          looked.resolve();
          await gate.promise;
        }
        return result;
      },
      ack: (seq) => outbox.ack(seq),
      abandon: (seq) => outbox.abandon(seq),
      get size() {
        return outbox.size;
      },
      get dropped() {
        return outbox.dropped;
      },
      close: () => outbox.close(),
    };
    const events = start({ outbox: held });
    events.connected();
    await looked.promise; // the pump saw an empty outbox and has not finished yet

    await enqueue(1);
    events.kick();
    gate.resolve();
    expect((await nextSent()).claims).toMatchObject({ seq: 1, observedAt: T0 + 1 });
  });

  it('stop() stops sending', async () => {
    const events = start({ retryAfterRefusalMs: 5 });
    await enqueue(1, 2, 3);
    events.connected();
    await nextSent();

    events.stop();
    events.acked(1, false);
    events.kick();
    events.disconnected();
    events.connected();
    await settled();
    expect(frames.pending).toBe(0);
    expect(outbox.size).toBe(2);
  });
});
