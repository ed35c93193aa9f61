import type { CryptoKey } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { Audience, COORDINATOR_ISSUER, type OrderClaims, type UpsEventInput } from './protocol.js';
import {
  createReplayGuard,
  DEFAULT_CLOCK_TOLERANCE_MS,
  generateSigningKey,
  SignatureError,
  type SignatureReason,
  type SigningKeyPair,
  signToken,
} from './signing.js';
import {
  AGENT_AUTH_TTL_MS,
  EVENT_TTL_MS,
  MAX_LEASE_MS,
  signAgentAuth,
  signLease,
  signOrder,
  signUpsEvent,
  verifyAgentAuth,
  verifyLease,
  verifyOrder,
  verifyUpsEvent,
} from './tokens.js';

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);

let agentA: SigningKeyPair;
let agentB: SigningKeyPair;
let coordinator: SigningKeyPair;
/** The coordinator's view of enrolled agents: agent id → public key. */
let keyOf: (agentId: string) => Promise<CryptoKey | undefined>;

beforeAll(async () => {
  [agentA, agentB, coordinator] = await Promise.all([
    generateSigningKey().then((k) => k.keyPair),
    generateSigningKey().then((k) => k.keyPair),
    generateSigningKey().then((k) => k.keyPair),
  ]);
  const keys = new Map<string, CryptoKey>([
    ['agent-a', agentA.publicKey],
    ['agent-b', agentB.publicKey],
  ]);
  keyOf = async (agentId) => keys.get(agentId);
});

/** Turns a synchronous throw into a rejection, to assert "refused" whichever way it is reported. */
async function settle<T>(run: () => Promise<T>): Promise<T> {
  return run();
}

async function reasonOf(promise: Promise<unknown>): Promise<SignatureReason> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SignatureError);
    if (error instanceof SignatureError) return error.reason;
  }
  throw new Error('expected a SignatureError, but the token was accepted');
}

describe('agent auth', () => {
  it('verifies to the agent id that signed it', async () => {
    const token = await signAgentAuth(agentA, 'agent-a', NOW);
    await expect(verifyAgentAuth(token, keyOf, createReplayGuard(), NOW)).resolves.toBe('agent-a');
  });

  it('refuses an agent the coordinator does not know (or has revoked)', async () => {
    const token = await signAgentAuth(agentA, 'agent-gone', NOW);
    expect(await reasonOf(verifyAgentAuth(token, keyOf, createReplayGuard(), NOW))).toBe('unknown_key');
  });

  it('refuses the same token twice', async () => {
    const guard = createReplayGuard();
    const token = await signAgentAuth(agentA, 'agent-a', NOW);
    await verifyAgentAuth(token, keyOf, guard, NOW);
    expect(await reasonOf(verifyAgentAuth(token, keyOf, guard, NOW + 1_000))).toBe('replayed');
  });

  it('accepts two fresh tokens of the same agent', async () => {
    const guard = createReplayGuard();
    await verifyAgentAuth(await signAgentAuth(agentA, 'agent-a', NOW), keyOf, guard, NOW);
    await expect(
      verifyAgentAuth(await signAgentAuth(agentA, 'agent-a', NOW), keyOf, guard, NOW),
    ).resolves.toBe('agent-a');
  });

  it('refuses agent A signing a token that claims to be agent B', async () => {
    const token = await signAgentAuth(agentA, 'agent-b', NOW);
    expect(await reasonOf(verifyAgentAuth(token, keyOf, createReplayGuard(), NOW))).toBe('bad_signature');
  });

  it('expires after its lifetime plus the clock tolerance', async () => {
    const token = await signAgentAuth(agentA, 'agent-a', NOW);
    const later = NOW + AGENT_AUTH_TTL_MS + DEFAULT_CLOCK_TOLERANCE_MS;
    expect(await reasonOf(verifyAgentAuth(token, keyOf, createReplayGuard(), later))).toBe('expired');
  });

  it('cannot be opened with a signed UPS event instead', async () => {
    const event = await signUpsEvent(
      agentA,
      'agent-a',
      { seq: 1, ups: 'ups1', observedAt: NOW, status: ['OL'], events: [] },
      NOW,
    );
    expect(await reasonOf(verifyAgentAuth(event, keyOf, createReplayGuard(), NOW))).toBe('wrong_audience');
  });

  it('refuses garbage as malformed', async () => {
    expect(await reasonOf(verifyAgentAuth('garbage', keyOf, createReplayGuard(), NOW))).toBe('malformed');
  });
});

describe('UPS events', () => {
  const input: UpsEventInput = {
    seq: 7,
    ups: 'rack-ups',
    observedAt: NOW - 500,
    status: ['OB', 'DISCHRG'],
    events: ['ONBATT'],
    vars: { 'battery.charge': '87', 'battery.runtime': '1260' },
  };

  it('round-trips with every claim intact', async () => {
    const token = await signUpsEvent(agentA, 'agent-a', input, NOW);
    const verified = await verifyUpsEvent(token, keyOf, NOW);
    expect(verified.agentId).toBe('agent-a');
    expect(verified.claims).toEqual({ ...input, dropped: 0, dead: false });
    expect(verified.token.id).toBe('agent-a:7');
    expect(verified.token.expiresAt).toBe(NOW + EVENT_TTL_MS);
  });

  it('applies defaults: vars omitted → {}', async () => {
    const { vars: _omitted, ...withoutVars } = input;
    const token = await signUpsEvent(agentA, 'agent-a', withoutVars, NOW);
    const verified = await verifyUpsEvent(token, keyOf, NOW);
    expect(verified.claims.vars).toEqual({});
  });

  it('keeps an unknown status as null', async () => {
    const token = await signUpsEvent(agentA, 'agent-a', { ...input, status: null, events: ['NOCOMM'] }, NOW);
    const verified = await verifyUpsEvent(token, keyOf, NOW);
    expect(verified.claims.status).toBeNull();
    expect(verified.claims.events).toEqual(['NOCOMM']);
  });

  it('is still accepted after waiting a day minus a minute in a queue, not after a day and a minute', async () => {
    const token = await signUpsEvent(agentA, 'agent-a', input, NOW);
    await expect(verifyUpsEvent(token, keyOf, NOW + EVENT_TTL_MS - 60_000)).resolves.toBeDefined();
    expect(await reasonOf(verifyUpsEvent(token, keyOf, NOW + EVENT_TTL_MS + 60_000))).toBe('expired');
  });

  it.each<[string, UpsEventInput, string]>([
    ['a negative seq', { ...input, seq: -1 }, 'seq'],
    ['a fractional seq', { ...input, seq: 1.5 }, 'seq'],
    ['a UPS name with a path', { ...input, ups: '../ups' }, 'ups'],
    ['an unknown notify event', { ...input, events: ['ONFIRE' as 'ONBATT'] }, 'events'],
    ['an empty status word', { ...input, status: [''] }, 'status'],
    ['an over-long variable value', { ...input, vars: { 'ups.model': 'x'.repeat(257) } }, 'ups.model'],
  ])('refuses to sign claims with %s', async (_name, claims, field) => {
    // Wrapped so that a synchronous throw counts as a refusal too; the next test pins the async contract.
    await expect(settle(() => signUpsEvent(agentA, 'agent-a', claims, NOW))).rejects.toThrow(field);
  });

  it('reports invalid claims as a rejected promise, not a synchronous throw', async () => {
    let promise: Promise<string> | undefined;
    expect(() => {
      promise = signUpsEvent(agentA, 'agent-a', { ...input, seq: -1 }, NOW);
    }).not.toThrow();
    await expect(promise).rejects.toThrow('seq');
  });

  it('refuses an event whose claims fail the schema even when correctly signed', async () => {
    const token = await signToken(
      agentA,
      { seq: 1, ups: '../etc', observedAt: NOW, status: ['OL'], events: [] },
      { issuer: 'agent-a', audience: Audience.Event, id: 'agent-a:1', now: NOW, ttlMs: 60_000 },
    );
    expect(await reasonOf(verifyUpsEvent(token, keyOf, NOW))).toBe('malformed');
  });

  it('refuses an event of an unknown agent', async () => {
    const token = await signUpsEvent(agentA, 'agent-x', input, NOW);
    expect(await reasonOf(verifyUpsEvent(token, keyOf, NOW))).toBe('unknown_key');
  });

  it('refuses an event signed by A in the name of B', async () => {
    const token = await signUpsEvent(agentA, 'agent-b', input, NOW);
    expect(await reasonOf(verifyUpsEvent(token, keyOf, NOW))).toBe('bad_signature');
  });

  it('refuses an agent auth token presented as an event', async () => {
    const token = await signAgentAuth(agentA, 'agent-a', NOW);
    expect(await reasonOf(verifyUpsEvent(token, keyOf, NOW))).toBe('wrong_audience');
  });
});

describe('orders', () => {
  const claims: OrderClaims = { kind: 'shutdown', runId: 'run-1', stage: 'web', drill: false };
  const deadline = NOW + 120_000;
  const order = { orderId: 'order-1', agentId: 'agent-a', claims, now: NOW, expiresAt: deadline };

  it('verifies for the agent it is addressed to', async () => {
    const token = await signOrder(coordinator, order);
    await expect(
      verifyOrder(token, coordinator.publicKey, { agentId: 'agent-a', now: NOW }),
    ).resolves.toEqual({
      orderId: 'order-1',
      claims,
      issuedAt: NOW,
      expiresAt: deadline,
    });
  });

  it('refuses an order addressed to another agent', async () => {
    const token = await signOrder(coordinator, order);
    expect(await reasonOf(verifyOrder(token, coordinator.publicKey, { agentId: 'agent-b', now: NOW }))).toBe(
      'wrong_audience',
    );
  });

  it.each([true, false])('preserves drill: %s', async (drill) => {
    const token = await signOrder(coordinator, { ...order, claims: { ...claims, drill } });
    const verified = await verifyOrder(token, coordinator.publicKey, { agentId: 'agent-a', now: NOW });
    expect(verified.claims).toMatchObject({ kind: 'shutdown', drill });
  });

  it('expires at the deadline', async () => {
    const token = await signOrder(coordinator, order);
    const strict = { agentId: 'agent-a', clockToleranceMs: 0 };
    await expect(
      verifyOrder(token, coordinator.publicKey, { ...strict, now: deadline - 1_000 }),
    ).resolves.toBeDefined();
    expect(await reasonOf(verifyOrder(token, coordinator.publicKey, { ...strict, now: deadline }))).toBe(
      'expired',
    );
    expect(
      await reasonOf(
        verifyOrder(token, coordinator.publicKey, {
          agentId: 'agent-a',
          now: deadline + DEFAULT_CLOCK_TOLERANCE_MS,
        }),
      ),
    ).toBe('expired');
  });

  it('refuses an order signed by an agent key instead of the pinned coordinator key', async () => {
    const token = await signOrder(agentB, order);
    expect(await reasonOf(verifyOrder(token, coordinator.publicKey, { agentId: 'agent-a', now: NOW }))).toBe(
      'bad_signature',
    );
  });

  it('refuses a coordinator-signed token that is not from the coordinator issuer', async () => {
    const token = await signToken(coordinator, claims, {
      issuer: 'agent-b',
      audience: 'agent-a',
      id: 'order-x',
      now: NOW,
      ttlMs: 60_000,
    });
    expect(await reasonOf(verifyOrder(token, coordinator.publicKey, { agentId: 'agent-a', now: NOW }))).toBe(
      'wrong_issuer',
    );
  });

  it('refuses a correctly signed order whose claims are not a shutdown order', async () => {
    const token = await signToken(
      coordinator,
      { kind: 'reboot', runId: 'run-1', stage: 'web', drill: false },
      { issuer: COORDINATOR_ISSUER, audience: 'agent-a', id: 'order-2', now: NOW, ttlMs: 60_000 },
    );
    expect(await reasonOf(verifyOrder(token, coordinator.publicKey, { agentId: 'agent-a', now: NOW }))).toBe(
      'malformed',
    );
  });

  it('refuses an order without the drill flag (it must never default to a real shutdown)', async () => {
    const token = await signToken(
      coordinator,
      { kind: 'shutdown', runId: 'run-1', stage: 'web' },
      { issuer: COORDINATOR_ISSUER, audience: 'agent-a', id: 'order-3', now: NOW, ttlMs: 60_000 },
    );
    expect(await reasonOf(verifyOrder(token, coordinator.publicKey, { agentId: 'agent-a', now: NOW }))).toBe(
      'malformed',
    );
  });

  it('refuses to sign claims that fail the schema', async () => {
    await expect(
      settle(() => signOrder(coordinator, { ...order, claims: { ...claims, runId: '' } })),
    ).rejects.toThrow('runId');
  });

  it('reports invalid claims as a rejected promise, not a synchronous throw', async () => {
    let promise: Promise<string> | undefined;
    expect(() => {
      promise = signOrder(coordinator, { ...order, claims: { ...claims, runId: '' } });
    }).not.toThrow();
    await expect(promise).rejects.toThrow('runId');
  });
});

describe('leases', () => {
  it('one token for every agent: its sequence number and lifetime', async () => {
    const token = await signLease(coordinator, 7, NOW, 15_000);
    expect(await verifyLease(token, coordinator.publicKey, { now: NOW + 5_000 })).toEqual({
      seq: 7,
      ttlMs: 15_000,
    });
  });

  it('a host counts on one for at most 15 s, whatever the token says', async () => {
    const token = await signLease(coordinator, 1, NOW, 10 * 60_000);
    expect((await verifyLease(token, coordinator.publicKey, { now: NOW })).ttlMs).toBe(MAX_LEASE_MS);
  });

  it('forged, expired and misaddressed leases are refused', async () => {
    const forged = await signLease(agentA, 1, NOW, 15_000);
    expect(await reasonOf(verifyLease(forged, coordinator.publicKey, { now: NOW }))).toBe('bad_signature');
    const old = await signLease(coordinator, 1, NOW, 15_000);
    expect(
      await reasonOf(verifyLease(old, coordinator.publicKey, { now: NOW + 60_000, clockToleranceMs: 0 })),
    ).toBe('expired');
    const order = await signOrder(coordinator, {
      orderId: 'o-1',
      agentId: 'agent-a',
      claims: { kind: 'shutdown', runId: 'r', stage: 's', drill: false },
      now: NOW,
      expiresAt: NOW + 60_000,
    });
    expect(await reasonOf(verifyLease(order, coordinator.publicKey, { now: NOW }))).toBe('wrong_audience');
  });
});
