import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManualClock } from '../../../shared/src/clock.js';
import { createMemoryLogger } from '../../../shared/src/logger.js';
import { generateSigningKey } from '../../../shared/src/signing.js';
import { verifyLease } from '../../../shared/src/tokens.js';
import type { Db } from '../db/client.js';
import type { Hub } from '../ws/hub.js';
import { createLease } from './lease.js';

/** One lease round by hand, the way the edge's alarm drives it, over a real (in-memory) database. */
async function setup(client: PGlite) {
  const db = drizzle(client) as unknown as Db;
  const { keyPair } = await generateSigningKey();
  const clock = createManualClock(1_800_000_000_000);
  const logger = createMemoryLogger();
  const sent: Parameters<Hub['broadcast']>[0][] = [];
  const lease = createLease({
    db,
    hub: { broadcast: (message) => sent.push(message) },
    signingKey: keyPair,
    clock,
    logger,
    intervalMs: 5_000,
  });
  return { keyPair, clock, logger, sent, lease };
}

describe('the lease, one round at a time', () => {
  // One database for the suite (a PGlite start is slow on a loaded machine); the last case closes it.
  let client: PGlite;
  beforeAll(() => {
    client = new PGlite();
  });
  afterAll(async () => {
    if (!client.closed) await client.close();
  });

  it('signs and sends a lease after the database answered, and gives it to hellos while it is fresh', async () => {
    const t = await setup(client);
    expect(t.lease.current()).toBeUndefined();
    await t.lease.renew();
    expect(t.sent).toHaveLength(1);
    const first = t.sent[0] as { type: 'lease'; token: string };
    expect(first.type).toBe('lease');
    const verified = await verifyLease(first.token, t.keyPair.publicKey, { now: t.clock.now() });
    expect(verified.ttlMs).toBe(15_000);
    expect(t.lease.current()).toBe(first.token);
    // A hello later than one interval before expiry gets none: the next round is due first.
    t.clock.advance(10_000);
    expect(t.lease.current()).toBeUndefined();
    await t.lease.renew();
    const second = t.sent[1] as { type: 'lease'; token: string };
    expect(
      (await verifyLease(second.token, t.keyPair.publicKey, { now: t.clock.now() })).seq,
    ).toBeGreaterThan(verified.seq);
  });

  it('sends nothing after stop', async () => {
    const t = await setup(client);
    t.lease.stop();
    await t.lease.renew();
    expect(t.sent).toEqual([]);
  });

  it('sends nothing while the database does not answer, and says so once', async () => {
    const t = await setup(client);
    await client.close();
    await t.lease.renew();
    await t.lease.renew();
    expect(t.sent).toEqual([]);
    expect(t.lease.current()).toBeUndefined();
    expect(t.logger.lines().filter((line) => /no lease for the hosts/.test(line))).toHaveLength(1);
  });
});
