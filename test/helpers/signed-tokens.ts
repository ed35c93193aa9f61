/**
 * Bad tokens for attack suites: a payload changed under an intact signature, and keys nobody
 * enrolled. Everything else (wrong audience, expired, replayed) is made with the real signing code.
 */
import { generateSigningKey, type SigningKeyPair } from '../../shared/src/signing.js';

/** A compact JWS whose claims were changed after signing: header and signature left as they were. */
export function tamperPayload(token: string, change: (claims: Record<string, unknown>) => void): string {
  const [header, payload, signature] = token.split('.');
  if (header === undefined || payload === undefined || signature === undefined)
    throw new Error('not a compact JWS');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  change(claims);
  return [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
}

/** A fresh Ed25519 key pair that no coordinator or agent knows: the attacker's. */
export async function attackerKey(): Promise<SigningKeyPair> {
  return (await generateSigningKey()).keyPair;
}
