import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../../shared/src/clock.js';
import { ProtocolError } from '../../../shared/src/errors.js';
import { createMemoryLogger } from '../../../shared/src/logger.js';
import type { UpsEventClaims, UpsEventInput } from '../../../shared/src/protocol.js';
import { generateSigningKey, type SigningKeyPair } from '../../../shared/src/signing.js';
import { signUpsEvent, verifyUpsEvent } from '../../../shared/src/tokens.js';
import { createTempDir } from '../test-support.js';
import { type Outbox, type OutboxOptions, openOutbox, type PendingEvent } from './outbox.js';

const T0 = Date.parse('2026-11-23T22:00:00Z');
const AGENT = 'agent-watcher-1';
const clock = createManualClock(T0);

/** Event `n`: told apart by observedAt. */
const event = (n: number): PendingEvent => ({
  ups: 'rack-a',
  observedAt: T0 + n,
  status: n % 2 === 0 ? ['OL'] : ['OB'],
  events: n % 2 === 0 ? ['ONLINE'] : ['ONBATT'],
  vars: { 'battery.charge': String(100 - (n % 100)) },
});

describe('watcher outbox', () => {
  let dir: { path: string; remove(): Promise<void> };
  let keyPair: SigningKeyPair;
  const opened: Outbox[] = [];
  const open = async (options: Partial<OutboxOptions> = {}): Promise<Outbox> => {
    const sign = (claims: UpsEventInput) => signUpsEvent(keyPair, AGENT, claims, clock.now());
    const outbox = await openOutbox({ dir: dir.path, sign, clock, ...options });
    opened.push(outbox);
    return outbox;
  };
  const claimsOf = async (token: string): Promise<UpsEventClaims> =>
    (await verifyUpsEvent(token, async () => keyPair.publicKey, clock.now())).claims;
  /** next() then ack(); the claims delivered. */
  const deliver = async (outbox: Outbox): Promise<UpsEventClaims> => {
    const sent = await outbox.next();
    if (sent === undefined) throw new Error('nothing to deliver');
    expect(await outbox.ack(sent.seq)).toBe(true);
    return claimsOf(sent.token);
  };

  beforeEach(async () => {
    dir = await createTempDir('outbox');
    keyPair = (await generateSigningKey()).keyPair;
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((outbox) => outbox.close()));
    await dir.remove();
  });

  it('delivers in order with contiguous sequence numbers, signed', async () => {
    const outbox = await open();
    for (const n of [1, 2, 3, 4]) await outbox.enqueue(event(n));
    expect(outbox.size).toBe(4);
    const delivered = [];
    for (let i = 0; i < 4; i++) delivered.push(await deliver(outbox));
    expect(delivered.map((c) => [c.seq, c.observedAt, c.dropped])).toEqual([
      [1, T0 + 1, 0],
      [2, T0 + 2, 0],
      [3, T0 + 3, 0],
      [4, T0 + 4, 0],
    ]);
    expect(delivered[1]).toMatchObject({ ups: 'rack-a', status: ['OL'], events: ['ONLINE'], dead: false });
    expect(await outbox.next()).toBeUndefined();
    expect(outbox.size).toBe(0);
    await outbox.enqueue(event(5));
    expect((await deliver(outbox)).seq).toBe(5);
  });

  it('re-sends the in-flight event unchanged until it is acked; other seqs are ignored', async () => {
    const outbox = await open();
    await outbox.enqueue(event(1));
    await outbox.enqueue(event(2));
    const first = await outbox.next();
    expect(first?.seq).toBe(1);
    expect(await outbox.next()).toEqual(first);
    expect(await outbox.ack(2)).toBe(false);
    expect(await outbox.ack(0)).toBe(false);
    expect(outbox.size).toBe(2);
    expect(await outbox.next()).toEqual(first);
    expect(await outbox.ack(1)).toBe(true);
    expect(await outbox.ack(1)).toBe(false);
    expect((await deliver(outbox)).observedAt).toBe(T0 + 2);
  });

  it('when full, discards the oldest queued event (never the in-flight one) and reports it on the next', async () => {
    const logger = createMemoryLogger();
    const outbox = await open({ maxEvents: 3, logger });
    await outbox.enqueue(event(1));
    const inFlight = await outbox.next();
    for (const n of [2, 3, 4, 5]) await outbox.enqueue(event(n));
    expect(outbox.size).toBe(3);
    expect(outbox.dropped).toBe(2);
    expect(logger.entries.filter((entry) => entry.level === 'warn')).toHaveLength(1);

    expect(await outbox.next()).toEqual(inFlight);
    expect(await outbox.ack(1)).toBe(true);
    const afterGap = await deliver(outbox);
    expect(afterGap).toMatchObject({ seq: 2, observedAt: T0 + 4, dropped: 2 });
    expect(await deliver(outbox)).toMatchObject({ seq: 3, observedAt: T0 + 5, dropped: 0 });

    // A second overflow episode warns again.
    for (const n of [6, 7, 8, 9]) await outbox.enqueue(event(n));
    expect(logger.entries.filter((entry) => entry.level === 'warn')).toHaveLength(2);
    expect(await deliver(outbox)).toMatchObject({ seq: 4, observedAt: T0 + 7, dropped: 1 });
  });

  it('abandon gives up the in-flight event and the next one explains the gap', async () => {
    const outbox = await open();
    for (const n of [1, 2]) await outbox.enqueue(event(n));
    const sent = await outbox.next();
    expect(await outbox.abandon(2)).toBe(false);
    expect(await outbox.abandon(sent?.seq ?? -1)).toBe(true);
    expect(await deliver(outbox)).toMatchObject({ seq: 2, observedAt: T0 + 2, dropped: 1 });
  });

  it('serialises interleaved callers in call order', async () => {
    const outbox = await open();
    const [, first, , acked, second, none] = await Promise.all([
      outbox.enqueue(event(1)),
      outbox.next(),
      outbox.enqueue(event(2)),
      outbox.ack(1),
      outbox.next(),
      outbox.ack(7),
    ]);
    expect(first?.seq).toBe(1);
    expect(acked).toBe(true);
    expect(second?.seq).toBe(2);
    expect(none).toBe(false);
    expect(await claimsOf(second?.token ?? '')).toMatchObject({ seq: 2, observedAt: T0 + 2 });
  });

  it('a failed signature leaves the head queued and its seq unused', async () => {
    let fail = true;
    const outbox = await open({
      sign: async (claims) => {
        if (fail) throw new Error('key unavailable');
        return signUpsEvent(keyPair, AGENT, claims, clock.now());
      },
    });
    await outbox.enqueue(event(1));
    await expect(outbox.next()).rejects.toThrow('key unavailable');
    fail = false;
    expect(await deliver(outbox)).toMatchObject({ seq: 1, observedAt: T0 + 1 });
  });

  it('refuses an invalid event at enqueue, before it can block the queue', async () => {
    const outbox = await open();
    const bad = { ...event(1), ups: 'no spaces allowed' };
    await expect(outbox.enqueue(bad)).rejects.toBeInstanceOf(ProtocolError);
    expect(outbox.size).toBe(0);
  });

  it('refuses a maxEvents below 2 and calls after close', async () => {
    await expect(open({ maxEvents: 1 })).rejects.toThrow(/maxEvents/);
    const outbox = await open();
    await outbox.close();
    await outbox.close();
    await expect(outbox.enqueue(event(1))).rejects.toThrow(/closed/);
  });
});
