/**
 * Every jose call of the project lives here: one file to review for security.
 *
 * - Algorithm pinned to EdDSA (Ed25519) on both sign and verify.
 * - Issuer, audience, expiry, issued-at and id (jti) are always set and always checked.
 * - The current time is a parameter (`now`, ms since the epoch): expiry is testable without timers.
 * - jose's error codes become our own `SignatureReason`s; callers never see jose types.
 */
import {
  type CryptoKey,
  calculateJwkThumbprint,
  decodeJwt,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';
import { AppError } from './errors.js';
import { type Ed25519PublicJwk, Ed25519PublicJwkSchema } from './protocol.js';

const ALG = 'EdDSA';

/** Accepted difference between the signer's and the verifier's clocks. */
export const DEFAULT_CLOCK_TOLERANCE_MS = 30_000;

export type SignatureReason =
  | 'malformed'
  | 'bad_signature'
  | 'wrong_algorithm'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'expired'
  | 'not_yet_valid'
  | 'missing_claim'
  | 'unknown_key'
  | 'replayed';

export class SignatureError extends AppError {
  override readonly name = 'SignatureError';
  readonly reason: SignatureReason;
  constructor(reason: SignatureReason, message: string, options?: { cause?: unknown }) {
    super('signature', message, options);
    this.reason = reason;
  }
}

export interface SigningKeyPair {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly publicJwk: Ed25519PublicJwk;
  /** RFC 7638 thumbprint of the public key. */
  readonly kid: string;
}

/** A private key as stored on disk or in the database (JWK with `d`). */
export interface StoredPrivateKey {
  readonly kty: 'OKP';
  readonly crv: 'Ed25519';
  readonly x: string;
  readonly d: string;
}

export async function generateSigningKey(): Promise<{ keyPair: SigningKeyPair; stored: StoredPrivateKey }> {
  const { privateKey } = await generateKeyPair(ALG, { crv: 'Ed25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  const stored = toStoredPrivateKey(jwk);
  return { keyPair: await loadSigningKey(stored), stored };
}

function toStoredPrivateKey(jwk: JWK): StoredPrivateKey {
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string' || typeof jwk.d !== 'string') {
    throw new AppError('config', 'not an Ed25519 private key (JWK with kty OKP, crv Ed25519, x and d)');
  }
  return { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d };
}

/** Loads a stored private key (validating its shape) into a usable key pair. */
export async function loadSigningKey(stored: unknown): Promise<SigningKeyPair> {
  const jwk = toStoredPrivateKey((stored ?? {}) as JWK);
  const publicJwk: Ed25519PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
  let privateKey: CryptoKey | Uint8Array;
  let publicKey: CryptoKey;
  try {
    privateKey = await importJWK({ ...jwk, alg: ALG }, ALG);
    publicKey = await importPublicKey(publicJwk);
  } catch (cause) {
    throw new AppError('config', 'stored Ed25519 key is damaged (its parts do not form a key pair)', {
      cause,
    });
  }
  if (privateKey instanceof Uint8Array) throw new AppError('config', 'expected an asymmetric key');
  return { privateKey, publicKey, publicJwk, kid: await keyId(publicJwk) };
}

export async function importPublicKey(jwk: unknown): Promise<CryptoKey> {
  const parsed = Ed25519PublicJwkSchema.safeParse(jwk);
  if (!parsed.success) throw new SignatureError('unknown_key', 'not an Ed25519 public key');
  const key = await importJWK({ ...parsed.data, alg: ALG }, ALG);
  if (key instanceof Uint8Array) throw new SignatureError('unknown_key', 'expected an asymmetric key');
  return key;
}

export function keyId(publicJwk: Ed25519PublicJwk): Promise<string> {
  return calculateJwkThumbprint(publicJwk, 'sha256');
}

export interface SignOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly subject?: string;
  /** Unique id of this token (order id, event id, nonce). */
  readonly id: string;
  /** ms since the epoch. */
  readonly now: number;
  /** Lifetime in ms. */
  readonly ttlMs: number;
}

export function signToken(
  keyPair: SigningKeyPair,
  claims: Record<string, unknown>,
  options: SignOptions,
): Promise<string> {
  const iat = Math.floor(options.now / 1000);
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: ALG, kid: keyPair.kid, typ: 'JWT' })
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setJti(options.id)
    .setIssuedAt(iat)
    .setExpirationTime(Math.ceil((options.now + options.ttlMs) / 1000));
  if (options.subject !== undefined) jwt.setSubject(options.subject);
  return jwt.sign(keyPair.privateKey);
}

export interface VerifyOptions {
  readonly issuer: string;
  readonly audience: string;
  /** ms since the epoch. */
  readonly now: number;
  readonly clockToleranceMs?: number;
  /** Refuse tokens issued longer ago than this (ms), whatever their exp says. */
  readonly maxAgeMs?: number;
}

export interface VerifiedToken {
  readonly id: string;
  readonly issuer: string;
  readonly audience: string;
  readonly subject: string | undefined;
  /** ms since the epoch. */
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly claims: JWTPayload;
}

/** Verifies signature, algorithm, issuer, audience, iat/exp (with tolerance) and the presence of a jti. */
export async function verifyToken(
  token: string,
  key: CryptoKey,
  options: VerifyOptions,
): Promise<VerifiedToken> {
  const toleranceSec = Math.round((options.clockToleranceMs ?? DEFAULT_CLOCK_TOLERANCE_MS) / 1000);
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: [ALG],
      issuer: options.issuer,
      audience: options.audience,
      currentDate: new Date(options.now),
      clockTolerance: toleranceSec,
      maxTokenAge: options.maxAgeMs === undefined ? '100y' : Math.round(options.maxAgeMs / 1000),
      requiredClaims: ['jti', 'iat', 'exp', 'iss', 'aud'],
    });
    const { jti, iss, iat, exp, sub } = payload;
    if (
      typeof jti !== 'string' ||
      jti === '' ||
      typeof iss !== 'string' ||
      iat === undefined ||
      exp === undefined
    ) {
      throw new SignatureError('missing_claim', 'token lacks jti, iss, iat or exp');
    }
    // iat in the future beyond tolerance: jose only checks it with maxTokenAge, which we always pass.
    return {
      id: jti,
      issuer: iss,
      audience: options.audience,
      subject: sub,
      issuedAt: iat * 1000,
      expiresAt: exp * 1000,
      claims: payload,
    };
  } catch (error) {
    throw toSignatureError(error);
  }
}

/** Reads the issuer of a token without verifying it, only to pick the key to verify it with. */
export function unverifiedIssuer(token: string): string {
  try {
    const { iss } = decodeJwt(token);
    if (typeof iss !== 'string' || iss === '')
      throw new SignatureError('missing_claim', 'token has no issuer');
    return iss;
  } catch (error) {
    throw toSignatureError(error);
  }
}

/**
 * Reads a token's id without verifying it, only to label a refusal (e.g. the ack of a forged order)
 * so the other side can match it. Never used to decide anything. Undefined when unreadable.
 */
export function unverifiedTokenId(token: string): string | undefined {
  try {
    const { jti } = decodeJwt(token);
    if (typeof jti !== 'string') return undefined;
    const id = jti.replace(/[^\x20-\x7e]/g, '?').slice(0, 128);
    return id === '' ? undefined : id;
  } catch {
    return undefined;
  }
}

function toSignatureError(error: unknown): SignatureError {
  if (error instanceof SignatureError) return error;
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  const claim = typeof error === 'object' && error !== null && 'claim' in error ? String(error.claim) : '';
  const message = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return new SignatureError('expired', `token expired (${message})`, { cause: error });
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new SignatureError('bad_signature', 'signature does not verify with the expected key', {
        cause: error,
      });
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return new SignatureError('wrong_algorithm', 'token is not signed with EdDSA', { cause: error });
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'iss') return new SignatureError('wrong_issuer', 'unexpected issuer', { cause: error });
      if (claim === 'aud')
        return new SignatureError('wrong_audience', 'token is addressed to someone else', { cause: error });
      if (claim === 'iat' || claim === 'nbf') {
        return new SignatureError(
          'not_yet_valid',
          `token is from the future: clocks differ too much (${message})`,
          {
            cause: error,
          },
        );
      }
      return new SignatureError('missing_claim', message, { cause: error });
    default:
      return new SignatureError('malformed', `malformed token (${message})`, { cause: error });
  }
}

/**
 * Where a replay guard keeps the ids it has seen until they expire: in memory (the Node
 * coordinator, agents, tests) or in a Durable Object's storage (the edge, where an eviction would
 * forget memory). Synchronous, so that checking and recording an id is one step.
 */
export interface ReplayStore {
  /**
   * Records `id` until `expiresAt`, unless a record of it is still live at `now` (`seen`) or the
   * store holds its limit of live ids (`full`: it refuses rather than forget one, since forgetting
   * would let that token be replayed). Expired records may be pruned at any call.
   */
  claim(id: string, expiresAt: number, now: number): 'claimed' | 'seen' | 'full';
  /** Records held (live, and expired ones not yet pruned). */
  readonly size: number;
}

/** A replay store in memory: pruned by expiry when full, so it stays bounded by the live-token count. */
export function createMemoryReplayStore(options: { maxEntries?: number } = {}): ReplayStore {
  const maxEntries = options.maxEntries ?? 100_000;
  const seen = new Map<string, number>();
  return {
    claim(id, expiresAt, now) {
      const expiry = seen.get(id);
      if (expiry !== undefined && expiry > now) return 'seen';
      if (seen.size >= maxEntries) {
        for (const [key, until] of seen) if (until <= now) seen.delete(key);
      }
      if (seen.size >= maxEntries) return 'full';
      seen.set(id, expiresAt);
      return 'claimed';
    },
    get size() {
      return seen.size;
    },
  };
}

/**
 * Remembers ids until they expire, refusing a second use. In memory unless given a `store`; the
 * agent persists its executed order ids separately.
 */
export function createReplayGuard(options: { maxEntries?: number; store?: ReplayStore } = {}) {
  const store = options.store ?? createMemoryReplayStore(options);
  return {
    /** Records `id`; throws `replayed` if it was seen and has not expired yet. */
    use(id: string, expiresAt: number, now: number): void {
      const outcome = store.claim(id, expiresAt, now);
      if (outcome === 'seen') throw new SignatureError('replayed', `token ${id} was already used`);
      if (outcome === 'full') throw new SignatureError('replayed', 'too many live tokens; try again shortly');
    },
    get size() {
      return store.size;
    },
  };
}
export type ReplayGuard = ReturnType<typeof createReplayGuard>;
