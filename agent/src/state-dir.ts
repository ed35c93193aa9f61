import { chmod, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CryptoKey } from 'jose';
import { z } from 'zod';
import { AppError, errorMessage } from '../../shared/src/errors.js';
import { type Ed25519PublicJwk, Ed25519PublicJwkSchema, NameSchema } from '../../shared/src/protocol.js';
import {
  importPublicKey,
  loadSigningKey,
  type SigningKeyPair,
  type StoredPrivateKey,
} from '../../shared/src/signing.js';
import { isErrnoCode, readFileIfExists, writeFileAtomic } from './atomic-file.js';

/**
 * The agent's state directory (0700):
 * - identity.json        {agentId, name, coordinatorUrl, enrolledAt}
 * - agent-key.jwk        the agent's Ed25519 private key (0600)
 * - coordinator-key.jwk  the pinned coordinator public key
 * - executed-orders.json the orders this host acted on (see executed-orders.ts)
 * - briefing.json        the latest signed briefing from the coordinator (see fallback/briefing-cache.ts)
 * - bridge.jwt           the latest signed NUT bridge state (see bridge/bridge-state.ts)
 * - offline.json         while on its own: the countdown's memory; then the report (fallback/offline-file.ts)
 * - own-readings.json    when the host saw each UPS it reads go on battery (fallback/host-readings.ts)
 * - bridge-offline.json  the NUT bridge on its own: each legacy host's countdown, FSD it showed, reports
 *                        (bridge/bridge-offline.ts)
 * - bridge-readings.json when the bridge saw each UPS it reads (`bridge.upsd:`) go on battery
 * identity.json is written last: its presence means "enrolled".
 */
export const StateFiles = {
  identity: 'identity.json',
  agentKey: 'agent-key.jwk',
  coordinatorKey: 'coordinator-key.jwk',
  executedOrders: 'executed-orders.json',
  briefing: 'briefing.json',
  bridge: 'bridge.jwt',
  offline: 'offline.json',
  ownReadings: 'own-readings.json',
  bridgeOffline: 'bridge-offline.json',
  bridgeReadings: 'bridge-readings.json',
} as const;

export const AgentIdentitySchema = z.object({
  agentId: z.string().min(1),
  name: NameSchema,
  coordinatorUrl: z.string().min(1),
  /** ISO 8601. */
  enrolledAt: z.string().min(1),
});
export type AgentIdentity = z.infer<typeof AgentIdentitySchema>;

export interface Enrollment {
  readonly identity: AgentIdentity;
  readonly keyPair: SigningKeyPair;
  readonly coordinatorKey: CryptoKey;
}

export function statePath(stateDir: string, file: keyof typeof StateFiles): string {
  return join(stateDir, StateFiles[file]);
}

/** Creates the folder (0700) if needed and tightens its mode. */
export async function ensureStateDir(stateDir: string): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await chmod(stateDir, 0o700);
}

export async function readIdentity(stateDir: string): Promise<AgentIdentity | undefined> {
  const text = await readFileIfExists(statePath(stateDir, 'identity'));
  return text === undefined
    ? undefined
    : parseJsonFile(AgentIdentitySchema, text, statePath(stateDir, 'identity'));
}

/** Stores a fresh enrollment. Keys first, identity last, each file atomically. */
export async function writeEnrollment(
  stateDir: string,
  enrollment: { identity: AgentIdentity; privateKey: StoredPrivateKey; coordinatorKey: Ed25519PublicJwk },
): Promise<void> {
  await ensureStateDir(stateDir);
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  await writeFileAtomic(statePath(stateDir, 'agentKey'), json(enrollment.privateKey), 0o600);
  await writeFileAtomic(statePath(stateDir, 'coordinatorKey'), json(enrollment.coordinatorKey), 0o644);
  await writeFileAtomic(statePath(stateDir, 'identity'), json(enrollment.identity), 0o644);
}

/** Loads identity, own key pair and the pinned coordinator key, or explains what is missing. */
export async function loadEnrollment(stateDir: string): Promise<Enrollment> {
  const identity = await readIdentity(stateDir);
  if (identity === undefined) {
    throw new AppError(
      'config',
      `not enrolled: ${statePath(stateDir, 'identity')} does not exist; run ` +
        `upsfleet enroll --coordinator URL --token TOKEN --name NAME --state-dir ${stateDir}`,
    );
  }
  const keyPath = statePath(stateDir, 'agentKey');
  await assertPrivate(keyPath);
  const keyText = await readRequired(keyPath);
  const coordinatorPath = statePath(stateDir, 'coordinatorKey');
  const coordinatorJwk = parseJsonFile(
    Ed25519PublicJwkSchema,
    await readRequired(coordinatorPath),
    coordinatorPath,
  );
  try {
    return {
      identity,
      keyPair: await loadSigningKey(JSON.parse(keyText)),
      coordinatorKey: await importPublicKey(coordinatorJwk),
    };
  } catch (cause) {
    throw new AppError('config', `${keyPath}: not a usable Ed25519 key: ${errorMessage(cause)}`, { cause });
  }
}

async function assertPrivate(path: string): Promise<void> {
  try {
    const { mode } = await stat(path);
    if ((mode & 0o077) !== 0) {
      throw new AppError(
        'config',
        `${path} is readable by other users (mode ${(mode & 0o777).toString(8)}); run chmod 600 ${path}`,
      );
    }
  } catch (error) {
    if (isErrnoCode(error, 'ENOENT')) throw missing(path);
    throw error;
  }
}

async function readRequired(path: string): Promise<string> {
  const text = await readFileIfExists(path);
  if (text === undefined) throw missing(path);
  return text;
}

function missing(path: string): AppError {
  return new AppError('config', `${path} is missing: the state directory is incomplete; enroll again`);
}

export function parseJsonFile<T>(schema: z.ZodType<T>, text: string, path: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new AppError('config', `${path} is not valid JSON: ${errorMessage(cause)}`, { cause });
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    throw new AppError('config', `${path} is not what upsfleet wrote: ${z.prettifyError(result.error)}`);
  }
  return result.data;
}
