/**
 * Agent key rotation: a new Ed25519 key is made and kept beside the current one
 * (agent-key.jwk.next), registered with the coordinator (authenticated by the current key, the new
 * key proving itself with a token of its own), and only then moved into place.
 */
import { rename, rm } from 'node:fs/promises';
import { AppError, errorMessage } from '../../shared/src/errors.js';
import { generateSigningKey } from '../../shared/src/signing.js';
import { signAgentAuth } from '../../shared/src/tokens.js';
import { writeFileAtomic } from './atomic-file.js';
import { loadEnrollment, statePath } from './state-dir.js';

export interface RotateKeyOptions {
  readonly coordinatorUrl: string;
  readonly stateDir: string;
  readonly fetch?: typeof globalThis.fetch;
  readonly now?: () => number;
}

export async function rotateAgentKey(options: RotateKeyOptions): Promise<{ agentId: string; kid: string }> {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  const { identity, keyPair } = await loadEnrollment(options.stateDir);
  const { keyPair: next, stored } = await generateSigningKey();
  const current = statePath(options.stateDir, 'agentKey');
  const pending = `${current}.next`;
  await writeFileAtomic(pending, `${JSON.stringify(stored, null, 2)}\n`, 0o600);
  const url = `${options.coordinatorUrl.replace(/\/+$/, '')}/agent/v1/keys`;
  let response: Response;
  try {
    response = await fetchImpl(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await signAgentAuth(keyPair, identity.agentId, now())}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        publicKey: next.publicJwk,
        proof: await signAgentAuth(next, identity.agentId, now()),
      }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (cause) {
    await rm(pending, { force: true });
    throw new AppError(
      'internal',
      `[POST] "${url}": coordinator unreachable (${errorMessage(cause)}); the key is unchanged`,
      {
        cause,
      },
    );
  }
  if (!response.ok) {
    await rm(pending, { force: true });
    const text = await response.text();
    let detail = text;
    try {
      detail = String((JSON.parse(text) as { detail?: unknown }).detail ?? text);
    } catch {
      // not problem+json
    }
    throw new AppError(
      'unauthorized',
      `[POST] "${url}": key rotation refused: ${response.status} ${detail}; the key is unchanged`,
    );
  }
  // The coordinator now trusts only the new key: put it in place (if this fails, move the .next file by hand).
  await rename(pending, current);
  return { agentId: identity.agentId, kid: next.kid };
}
