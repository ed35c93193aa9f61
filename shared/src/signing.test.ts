import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createReplayGuard,
  DEFAULT_CLOCK_TOLERANCE_MS,
  generateSigningKey,
  importPublicKey,
  keyId,
  loadSigningKey,
  SignatureError,
  type SignatureReason,
  type SigningKeyPair,
  type SignOptions,
  type StoredPrivateKey,
  signToken,
  unverifiedIssuer,
  type VerifyOptions,
  verifyToken,
} from './signing.js';

/** A fixed instant on a whole second, so second-granular claims line up with it exactly. */
const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);
const TTL_MS = 60_000;
const ISSUER = 'agent-1';
const AUDIENCE = 'upsfleet:test';

const signOptions: SignOptions = {
  issuer: ISSUER,
  audience: AUDIENCE,
  id: 'token-1',
  now: NOW,
  ttlMs: TTL_MS,
};
const verifyOptions: VerifyOptions = { issuer: ISSUER, audience: AUDIENCE, now: NOW };

let keyPair: SigningKeyPair;
let stored: StoredPrivateKey;
let otherKeyPair: SigningKeyPair;

beforeAll(async () => {
  ({ keyPair, stored } = await generateSigningKey());
  ({ keyPair: otherKeyPair } = await generateSigningKey());
});

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The SignatureError reason a promise rejects with; fails the test if it resolves or throws something else. */
async function reasonOf(promise: Promise<unknown>): Promise<SignatureReason> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SignatureError);
    if (error instanceof SignatureError) return error.reason;
  }
  throw new Error('expected a SignatureError, but the token was accepted');
}

describe('keys', () => {
  it('a stored private key loads back to the same key id and public key', async () => {
    const loaded = await loadSigningKey(stored);
    expect(loaded.kid).toBe(keyPair.kid);
    expect(loaded.publicJwk).toEqual(keyPair.publicJwk);
    expect(await keyId(loaded.publicJwk)).toBe(keyPair.kid);
  });

  it('a key that went through JSON (as on disk) still signs tokens the original public key accepts', async () => {
    const loaded = await loadSigningKey(JSON.parse(JSON.stringify(stored)));
    const token = await signToken(loaded, {}, signOptions);
    await expect(verifyToken(token, keyPair.publicKey, verifyOptions)).resolves.toMatchObject({
      id: 'token-1',
    });
  });

  it('the stored form is an Ed25519 JWK with exactly kty, crv, x and d', () => {
    expect(Object.keys(stored).sort()).toEqual(['crv', 'd', 'kty', 'x']);
    expect(stored).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
  });

  it('two generated keys differ', () => {
    expect(otherKeyPair.kid).not.toBe(keyPair.kid);
  });

  it.each([
    ['undefined', undefined],
    ['an empty object', {}],
    ['a public key only', { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) }],
    ['an X25519 key', { kty: 'OKP', crv: 'X25519', x: 'A'.repeat(43), d: 'A'.repeat(43) }],
  ])('loadSigningKey refuses %s', async (_name, value) => {
    await expect(loadSigningKey(value)).rejects.toThrow(/Ed25519 private key/);
  });

  it('loadSigningKey refuses a stored key whose x does not belong to its d', async () => {
    await expect(loadSigningKey({ ...stored, x: otherKeyPair.publicJwk.x })).rejects.toThrow();
  });

  it('importPublicKey accepts an Ed25519 public JWK', async () => {
    const key = await importPublicKey(keyPair.publicJwk);
    const token = await signToken(keyPair, {}, signOptions);
    await expect(verifyToken(token, key, verifyOptions)).resolves.toBeDefined();
  });

  it.each([
    ['RSA', { kty: 'RSA', n: 'sXch', e: 'AQAB' }],
    ['EC P-256', { kty: 'EC', crv: 'P-256', x: 'A'.repeat(43), y: 'A'.repeat(43) }],
    ['oct (a shared secret)', { kty: 'oct', k: 'c2VjcmV0' }],
    ['OKP X25519', { kty: 'OKP', crv: 'X25519', x: 'A'.repeat(43) }],
    ['Ed25519 with a short x', { kty: 'OKP', crv: 'Ed25519', x: 'AAAA' }],
    ['null', null],
  ])('importPublicKey refuses %s', async (_name, jwk) => {
    expect(await reasonOf(importPublicKey(jwk))).toBe('unknown_key');
  });
});

describe('verifyToken', () => {
  it('accepts a token it signed and returns its claims', async () => {
    const token = await signToken(keyPair, { hello: 'world' }, { ...signOptions, subject: 'sub-1' });
    const verified = await verifyToken(token, keyPair.publicKey, verifyOptions);
    expect(verified).toMatchObject({
      id: 'token-1',
      issuer: ISSUER,
      audience: AUDIENCE,
      subject: 'sub-1',
      issuedAt: NOW,
      expiresAt: NOW + TTL_MS,
    });
    expect(verified.claims.hello).toBe('world');
  });

  it('pins EdDSA and the key id in the header', async () => {
    const token = await signToken(keyPair, {}, signOptions);
    const [header = ''] = token.split('.');
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toMatchObject({
      alg: 'EdDSA',
      kid: keyPair.kid,
    });
  });

  describe('time', () => {
    const expiredAt = NOW + TTL_MS + DEFAULT_CLOCK_TOLERANCE_MS;

    it('refuses a token past exp + tolerance as expired', async () => {
      const token = await signToken(keyPair, {}, signOptions);
      expect(
        await reasonOf(verifyToken(token, keyPair.publicKey, { ...verifyOptions, now: expiredAt })),
      ).toBe('expired');
      expect(
        await reasonOf(
          verifyToken(token, keyPair.publicKey, { ...verifyOptions, now: expiredAt + 3_600_000 }),
        ),
      ).toBe('expired');
    });

    it('accepts a token past exp but within the clock tolerance', async () => {
      const token = await signToken(keyPair, {}, signOptions);
      await expect(
        verifyToken(token, keyPair.publicKey, { ...verifyOptions, now: expiredAt - 1_000 }),
      ).resolves.toBeDefined();
    });

    it('honours a custom tolerance', async () => {
      const token = await signToken(keyPair, {}, signOptions);
      const options = { ...verifyOptions, clockToleranceMs: 0 };
      await expect(
        verifyToken(token, keyPair.publicKey, { ...options, now: NOW + TTL_MS - 1_000 }),
      ).resolves.toBeDefined();
      expect(await reasonOf(verifyToken(token, keyPair.publicKey, { ...options, now: NOW + TTL_MS }))).toBe(
        'expired',
      );
    });

    it('refuses a token issued further in the future than the tolerance as not yet valid', async () => {
      const token = await signToken(
        keyPair,
        {},
        { ...signOptions, now: NOW + DEFAULT_CLOCK_TOLERANCE_MS + 1_000 },
      );
      expect(await reasonOf(verifyToken(token, keyPair.publicKey, verifyOptions))).toBe('not_yet_valid');
    });

    it('accepts a token issued in the future within the tolerance', async () => {
      const token = await signToken(
        keyPair,
        {},
        { ...signOptions, now: NOW + DEFAULT_CLOCK_TOLERANCE_MS - 1_000 },
      );
      await expect(verifyToken(token, keyPair.publicKey, verifyOptions)).resolves.toBeDefined();
    });

    it('refuses a token older than maxAgeMs even if exp is later', async () => {
      const token = await signToken(keyPair, {}, { ...signOptions, ttlMs: 3_600_000 });
      const options = { ...verifyOptions, maxAgeMs: 60_000 };
      await expect(
        verifyToken(token, keyPair.publicKey, { ...options, now: NOW + 60_000 }),
      ).resolves.toBeDefined();
      expect(
        await reasonOf(
          verifyToken(token, keyPair.publicKey, {
            ...options,
            now: NOW + 60_000 + DEFAULT_CLOCK_TOLERANCE_MS + 1_000,
          }),
        ),
      ).toBe('expired');
    });
  });

  it('refuses a token for another audience', async () => {
    const token = await signToken(keyPair, {}, { ...signOptions, audience: 'upsfleet:other' });
    expect(await reasonOf(verifyToken(token, keyPair.publicKey, verifyOptions))).toBe('wrong_audience');
  });

  it('refuses a token from another issuer', async () => {
    const token = await signToken(keyPair, {}, { ...signOptions, issuer: 'agent-2' });
    expect(await reasonOf(verifyToken(token, keyPair.publicKey, verifyOptions))).toBe('wrong_issuer');
  });

  it('refuses a token signed by another key', async () => {
    const token = await signToken(otherKeyPair, {}, signOptions);
    expect(await reasonOf(verifyToken(token, keyPair.publicKey, verifyOptions))).toBe('bad_signature');
  });

  it('refuses a token whose payload was changed after signing', async () => {
    const token = await signToken(keyPair, { drill: true }, signOptions);
    const [header = '', payload = '', signature = ''] = token.split('.');
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const tampered = [header, b64url({ ...(claims as object), drill: false }), signature].join('.');
    expect(['bad_signature', 'malformed']).toContain(
      await reasonOf(verifyToken(tampered, keyPair.publicKey, verifyOptions)),
    );
  });

  it('refuses a token whose signature was changed', async () => {
    const token = await signToken(keyPair, {}, signOptions);
    const [header = '', payload = ''] = token.split('.');
    const forged = [header, payload, Buffer.alloc(64, 7).toString('base64url')].join('.');
    expect(await reasonOf(verifyToken(forged, keyPair.publicKey, verifyOptions))).toBe('bad_signature');
  });

  describe('algorithm confusion', () => {
    const claims = {
      iss: ISSUER,
      aud: AUDIENCE,
      jti: 'forged',
      iat: NOW / 1000,
      exp: NOW / 1000 + 60,
    };

    it('refuses an HS256 token', async () => {
      const forged = [
        b64url({ alg: 'HS256', typ: 'JWT' }),
        b64url(claims),
        Buffer.alloc(32, 1).toString('base64url'),
      ].join('.');
      expect(['wrong_algorithm', 'malformed']).toContain(
        await reasonOf(verifyToken(forged, keyPair.publicKey, verifyOptions)),
      );
    });

    it('refuses an HS256 token keyed with the public key bytes', async () => {
      const secret = Buffer.from(keyPair.publicJwk.x, 'base64url');
      const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(secret);
      expect(['wrong_algorithm', 'malformed']).toContain(
        await reasonOf(verifyToken(forged, keyPair.publicKey, verifyOptions)),
      );
    });

    it.each([
      ['with an empty signature', ''],
      ['with a signature', 'c2ln'],
    ])('refuses an alg "none" token %s', async (_name, signature) => {
      const forged = [b64url({ alg: 'none', typ: 'JWT' }), b64url(claims), signature].join('.');
      expect(['wrong_algorithm', 'malformed']).toContain(
        await reasonOf(verifyToken(forged, keyPair.publicKey, verifyOptions)),
      );
    });
  });

  it.each([
    ['garbage', 'not a token'],
    ['empty', ''],
    ['two segments', 'abc.def'],
    ['bad base64 header', '!!!.e30.c2ln'],
    ['header not JSON', `${Buffer.from('nope').toString('base64url')}.e30.c2ln`],
  ])('refuses %s as malformed', async (_name, token) => {
    expect(await reasonOf(verifyToken(token, keyPair.publicKey, verifyOptions))).toBe('malformed');
  });

  it('refuses a correctly signed token that has no jti', async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(NOW / 1000)
      .setExpirationTime(NOW / 1000 + 60)
      .sign(keyPair.privateKey);
    expect(await reasonOf(verifyToken(token, keyPair.publicKey, verifyOptions))).toBe('missing_claim');
  });

  it('refuses a correctly signed token that has no exp', async () => {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setJti('no-exp')
      .setIssuedAt(NOW / 1000)
      .sign(keyPair.privateKey);
    expect(await reasonOf(verifyToken(token, keyPair.publicKey, verifyOptions))).toBe('missing_claim');
  });
});

describe('unverifiedIssuer', () => {
  it('reads the issuer without a key', async () => {
    expect(unverifiedIssuer(await signToken(keyPair, {}, signOptions))).toBe(ISSUER);
  });

  it('refuses garbage as malformed', () => {
    expect(() => unverifiedIssuer('garbage')).toThrow(SignatureError);
  });
});

describe('createReplayGuard', () => {
  it('refuses a second use of an id before it expires', () => {
    const guard = createReplayGuard();
    guard.use('a', NOW + 60_000, NOW);
    let reason: SignatureReason | undefined;
    try {
      guard.use('a', NOW + 60_000, NOW + 59_999);
    } catch (error) {
      if (error instanceof SignatureError) reason = error.reason;
    }
    expect(reason).toBe('replayed');
  });

  it('accepts the id again once it has expired', () => {
    const guard = createReplayGuard();
    guard.use('a', NOW + 60_000, NOW);
    expect(() => guard.use('a', NOW + 120_000, NOW + 60_000)).not.toThrow();
  });

  it('keeps distinct ids apart', () => {
    const guard = createReplayGuard();
    guard.use('a', NOW + 60_000, NOW);
    expect(() => guard.use('b', NOW + 60_000, NOW)).not.toThrow();
    expect(guard.size).toBe(2);
  });

  it('stays bounded by maxEntries: refuses new ids while full of live ones, accepts once they expire', () => {
    const guard = createReplayGuard({ maxEntries: 3 });
    for (let i = 0; i < 3; i++) guard.use(`id-${i}`, NOW + 60_000, NOW + i);
    expect(() => guard.use('id-3', NOW + 60_000, NOW + 10)).toThrow(SignatureError);
    expect(guard.size).toBe(3);
    expect(() => guard.use('id-4', NOW + 120_000, NOW + 60_000)).not.toThrow();
    expect(guard.size).toBeLessThanOrEqual(3);
  });

  it('still refuses a replay of a live id when it is full', () => {
    const guard = createReplayGuard({ maxEntries: 2 });
    guard.use('a', NOW + 60_000, NOW);
    guard.use('b', NOW + 60_000, NOW);
    expect(() => guard.use('a', NOW + 60_000, NOW + 1_000)).toThrow(SignatureError);
  });
});
