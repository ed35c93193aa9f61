/**
 * The three kinds of signed token upsfleet exchanges, built on `signing.ts`:
 * - agent auth: agent-signed, 60 s, opens the WebSocket / authorises an HTTP push (replay-guarded);
 * - UPS event: agent-signed, carries `UpsEventClaims`, ordered by a per-agent sequence number;
 * - order: coordinator-signed, addressed (aud) to one agent id, expiring at its deadline;
 * - briefing: coordinator-signed, addressed to one agent: its power, its offline and fallback rules;
 * - lease: coordinator-signed, one token for every agent: "I reach my database and I decide";
 * - bridge: coordinator-signed, addressed to one bridge agent: what it serves over NUT.
 */
import type { CryptoKey } from 'jose';
import { AppError } from './errors.js';
import {
  Audience,
  type BridgeClaims,
  BridgeClaimsSchema,
  type BridgeInput,
  type BriefingClaims,
  BriefingClaimsSchema,
  type BriefingInput,
  COORDINATOR_ISSUER,
  type Ed25519PublicJwk,
  type LeaseClaims,
  LeaseClaimsSchema,
  type OrderClaims,
  OrderClaimsSchema,
  type RekeyClaims,
  RekeyClaimsSchema,
  type UpsEventClaims,
  UpsEventClaimsSchema,
  type UpsEventInput,
} from './protocol.js';
import {
  DEFAULT_CLOCK_TOLERANCE_MS,
  type ReplayGuard,
  SignatureError,
  type SigningKeyPair,
  signToken,
  unverifiedIssuer,
  type VerifiedToken,
  verifyToken,
} from './signing.js';

export const AGENT_AUTH_TTL_MS = 60_000;
/** Events may wait in a watcher's disk queue while the coordinator is away; older ones are refused. */
export const EVENT_TTL_MS = 24 * 3_600_000;

async function sha256Hex(text: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

export function randomId(): string {
  return globalThis.crypto.randomUUID();
}

// --- agent auth ------------------------------------------------------------------------------

export function signAgentAuth(keyPair: SigningKeyPair, agentId: string, now: number): Promise<string> {
  return signToken(
    keyPair,
    {},
    { issuer: agentId, audience: Audience.AgentAuth, id: randomId(), now, ttlMs: AGENT_AUTH_TTL_MS },
  );
}

/** Looks up the agent's key by the token's issuer, verifies it and burns its id. Returns the agent id. */
export async function verifyAgentAuth(
  token: string,
  keyOf: (agentId: string) => Promise<CryptoKey | undefined>,
  guard: ReplayGuard,
  now: number,
): Promise<string> {
  const agentId = unverifiedIssuer(token);
  const key = await keyOf(agentId);
  if (key === undefined) throw new SignatureError('unknown_key', `no active agent ${agentId}`);
  const verified = await verifyToken(token, key, {
    issuer: agentId,
    audience: Audience.AgentAuth,
    now,
    maxAgeMs: 5 * AGENT_AUTH_TTL_MS,
  });
  // Remember it for as long as verification would still accept it (expiry plus clock tolerance).
  guard.use(`auth:${verified.id}`, verified.expiresAt + DEFAULT_CLOCK_TOLERANCE_MS, now);
  return agentId;
}

// --- UPS events -------------------------------------------------------------------------------

export async function signUpsEvent(
  keyPair: SigningKeyPair,
  agentId: string,
  claims: UpsEventInput,
  now: number,
): Promise<string> {
  const parsed = UpsEventClaimsSchema.parse(claims);
  return signToken(keyPair, parsed, {
    issuer: agentId,
    audience: Audience.Event,
    id: `${agentId}:${parsed.seq}`,
    now,
    ttlMs: EVENT_TTL_MS,
  });
}

export interface VerifiedUpsEvent {
  readonly agentId: string;
  readonly claims: UpsEventClaims;
  readonly token: VerifiedToken;
  /** SHA-256 of the compact token (hex): identifies this exact event. */
  readonly tokenHash: string;
}

export async function verifyUpsEvent(
  token: string,
  keyOf: (agentId: string) => Promise<CryptoKey | undefined>,
  now: number,
): Promise<VerifiedUpsEvent> {
  const agentId = unverifiedIssuer(token);
  const key = await keyOf(agentId);
  if (key === undefined) throw new SignatureError('unknown_key', `no active agent ${agentId}`);
  const verified = await verifyToken(token, key, { issuer: agentId, audience: Audience.Event, now });
  const claims = UpsEventClaimsSchema.safeParse(verified.claims);
  if (!claims.success)
    throw new SignatureError('malformed', `event claims invalid: ${claims.error.issues[0]?.message}`);
  return { agentId, claims: claims.data, token: verified, tokenHash: await sha256Hex(token) };
}

// --- orders -------------------------------------------------------------------------------------

export interface OrderToSign {
  readonly orderId: string;
  readonly agentId: string;
  readonly claims: OrderClaims;
  readonly now: number;
  readonly expiresAt: number;
}

export async function signOrder(keyPair: SigningKeyPair, order: OrderToSign): Promise<string> {
  if (order.expiresAt <= order.now) {
    throw new AppError('unprocessable', `order ${order.orderId} is already past its deadline`);
  }
  return signToken(keyPair, OrderClaimsSchema.parse(order.claims), {
    issuer: COORDINATOR_ISSUER,
    audience: order.agentId,
    subject: order.claims.kind,
    id: order.orderId,
    now: order.now,
    ttlMs: order.expiresAt - order.now,
  });
}

export interface VerifiedOrder {
  readonly orderId: string;
  readonly claims: OrderClaims;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/** Checks signature (pinned coordinator key), audience (this agent), expiry and claims. Replay is the caller's store. */
export async function verifyOrder(
  token: string,
  coordinatorKey: CryptoKey,
  options: { agentId: string; now: number; clockToleranceMs?: number },
): Promise<VerifiedOrder> {
  const verified = await verifyToken(token, coordinatorKey, {
    issuer: COORDINATOR_ISSUER,
    audience: options.agentId,
    now: options.now,
    ...(options.clockToleranceMs === undefined ? {} : { clockToleranceMs: options.clockToleranceMs }),
  });
  const claims = OrderClaimsSchema.safeParse(verified.claims);
  if (!claims.success)
    throw new SignatureError('malformed', `order claims invalid: ${claims.error.issues[0]?.message}`);
  return {
    orderId: verified.id,
    claims: claims.data,
    issuedAt: verified.issuedAt,
    expiresAt: verified.expiresAt,
  };
}

// --- briefings ----------------------------------------------------------------------------------

/** Briefings stay valid long enough to cover a long coordinator outage: the host acts on its cache. */
export const BRIEFING_TTL_MS = 7 * 24 * 3_600_000;

export async function signBriefing(
  keyPair: SigningKeyPair,
  briefing: { agentId: string; claims: BriefingInput; now: number },
): Promise<string> {
  return signToken(keyPair, BriefingClaimsSchema.parse(briefing.claims), {
    issuer: COORDINATOR_ISSUER,
    audience: briefing.agentId,
    subject: 'briefing',
    id: `briefing:${briefing.claims.version}`,
    now: briefing.now,
    ttlMs: BRIEFING_TTL_MS,
  });
}

/** Checks signature (pinned key), audience (this agent), expiry and claims. */
export async function verifyBriefing(
  token: string,
  coordinatorKey: CryptoKey,
  options: { agentId: string; now: number; clockToleranceMs?: number },
): Promise<{ claims: BriefingClaims; issuedAt: number }> {
  const verified = await verifyToken(token, coordinatorKey, {
    issuer: COORDINATOR_ISSUER,
    audience: options.agentId,
    now: options.now,
    ...(options.clockToleranceMs === undefined ? {} : { clockToleranceMs: options.clockToleranceMs }),
  });
  const claims = BriefingClaimsSchema.safeParse(verified.claims);
  if (!claims.success)
    throw new SignatureError('malformed', `briefing claims invalid: ${claims.error.issues[0]?.message}`);
  return { claims: claims.data, issuedAt: verified.issuedAt };
}

// --- bridge state ------------------------------------------------------------------------------

/** As long as a briefing: a bridge serves from its copy through a long coordinator outage. */
export const BRIDGE_TTL_MS = BRIEFING_TTL_MS;

export async function signBridge(
  keyPair: SigningKeyPair,
  bridge: { agentId: string; claims: BridgeInput; now: number },
): Promise<string> {
  return signToken(keyPair, BridgeClaimsSchema.parse(bridge.claims), {
    issuer: COORDINATOR_ISSUER,
    audience: bridge.agentId,
    subject: 'bridge',
    id: `bridge:${bridge.claims.version}`,
    now: bridge.now,
    ttlMs: BRIDGE_TTL_MS,
  });
}

/** Checks signature (pinned key), audience (this agent), expiry and claims. */
export async function verifyBridge(
  token: string,
  coordinatorKey: CryptoKey,
  options: { agentId: string; now: number; clockToleranceMs?: number },
): Promise<{ claims: BridgeClaims; issuedAt: number }> {
  const verified = await verifyToken(token, coordinatorKey, {
    issuer: COORDINATOR_ISSUER,
    audience: options.agentId,
    now: options.now,
    ...(options.clockToleranceMs === undefined ? {} : { clockToleranceMs: options.clockToleranceMs }),
  });
  const claims = BridgeClaimsSchema.safeParse(verified.claims);
  if (!claims.success || verified.subject !== 'bridge')
    throw new SignatureError(
      'malformed',
      `bridge claims invalid: ${claims.error?.issues[0]?.message ?? 'subject'}`,
    );
  return { claims: claims.data, issuedAt: verified.issuedAt };
}

// --- the lease -------------------------------------------------------------------------------------

/** The longest a host counts on a lease after receiving it, whatever the token says: 15 s. */
export const MAX_LEASE_MS = 15_000;

export function signLease(keyPair: SigningKeyPair, seq: number, now: number, ttlMs: number): Promise<string> {
  const claims: LeaseClaims = { kind: 'lease', seq };
  return signToken(keyPair, claims, {
    issuer: COORDINATOR_ISSUER,
    audience: Audience.Lease,
    subject: 'lease',
    id: `lease:${seq}`,
    now,
    ttlMs,
  });
}

export interface VerifiedLease {
  readonly seq: number;
  /** How long the coordinator meant it to last (ms), at most MAX_LEASE_MS. */
  readonly ttlMs: number;
}

/** Checks signature (pinned key), audience, expiry and claims. Replay (seq) is the caller's check. */
export async function verifyLease(
  token: string,
  coordinatorKey: CryptoKey,
  options: { now: number; clockToleranceMs?: number },
): Promise<VerifiedLease> {
  const verified = await verifyToken(token, coordinatorKey, {
    issuer: COORDINATOR_ISSUER,
    audience: Audience.Lease,
    now: options.now,
    maxAgeMs: 60_000,
    ...(options.clockToleranceMs === undefined ? {} : { clockToleranceMs: options.clockToleranceMs }),
  });
  const claims = LeaseClaimsSchema.safeParse(verified.claims);
  if (!claims.success)
    throw new SignatureError('malformed', `lease claims invalid: ${claims.error.issues[0]?.message}`);
  const ttlMs = Math.min(MAX_LEASE_MS, Math.max(0, verified.expiresAt - verified.issuedAt));
  return { seq: claims.data.seq, ttlMs };
}

// --- coordinator key rotation ----------------------------------------------------------------------

/** Rotation statements are part of the coordinator's history: an agent offline for a year still follows them. */
export const REKEY_TTL_MS = 10 * 365 * 24 * 3_600_000;

export function signRekey(
  previous: SigningKeyPair,
  next: Ed25519PublicJwk,
  now: number,
  kid: string,
): Promise<string> {
  const claims: RekeyClaims = { kind: 'rekey', key: next };
  return signToken(previous, claims, {
    issuer: COORDINATOR_ISSUER,
    audience: Audience.Rekey,
    subject: 'rekey',
    id: `rekey:${kid}`,
    now,
    ttlMs: REKEY_TTL_MS,
  });
}

/** The next key, if this statement was signed by `pinned`; undefined when it was signed by another key. */
export async function verifyRekey(
  token: string,
  pinned: CryptoKey,
  now: number,
): Promise<Ed25519PublicJwk | undefined> {
  try {
    const verified = await verifyToken(token, pinned, {
      issuer: COORDINATOR_ISSUER,
      audience: Audience.Rekey,
      now,
    });
    const claims = RekeyClaimsSchema.safeParse(verified.claims);
    return claims.success ? claims.data.key : undefined;
  } catch (error) {
    if (error instanceof SignatureError && error.reason === 'bad_signature') return undefined;
    throw error;
  }
}
