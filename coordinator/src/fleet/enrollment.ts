import type { Clock } from '../../../shared/src/clock.js';
import { AppError, ConflictError, UnauthorizedError } from '../../../shared/src/errors.js';
import { type EnrollRequest, type EnrollResponse, PROTOCOL_VERSION } from '../../../shared/src/protocol.js';
import { keyId, type SigningKeyPair } from '../../../shared/src/signing.js';
import type { Db } from '../db/client.js';
import { isUniqueViolation } from '../db/errors.js';
import { findActiveAgentByName, insertAgent } from '../db/queries/agents.js';
import {
  consumeEnrollment,
  findEnrollmentByHash,
  insertEnrollment,
  linkEnrollment,
} from '../db/queries/enrollments.js';
import { generateSecret, hashSecret } from '../secrets.js';

export const DEFAULT_ENROLLMENT_TTL_MS = 3_600_000;
export const MAX_ENROLLMENT_TTL_MS = 30 * 86_400_000;

/** Creates a one-time enrollment token for `name`; the token is returned once and only its hash is stored. */
export async function createEnrollment(
  db: Db,
  clock: Clock,
  name: string,
  ttlMs = DEFAULT_ENROLLMENT_TTL_MS,
) {
  if (!(ttlMs > 0 && ttlMs <= MAX_ENROLLMENT_TTL_MS)) {
    throw new AppError('bad_request', 'an enrollment token lives between 1 ms and 30 days');
  }
  const token = generateSecret('ufe');
  const now = clock.now();
  const row = await insertEnrollment(db, {
    name,
    tokenHash: hashSecret(token),
    createdAt: new Date(now),
    expiresAt: new Date(now + ttlMs),
  });
  return { id: row.id, name, token, expiresAt: row.expiresAt.toISOString() };
}

/** Redeems an enrollment token: registers the agent's public key and hands back the coordinator's. */
export async function enrollAgent(
  db: Db,
  clock: Clock,
  coordinatorKey: SigningKeyPair,
  request: EnrollRequest,
): Promise<EnrollResponse> {
  const now = new Date(clock.now());
  const enrollment = await findEnrollmentByHash(db, hashSecret(request.token));
  if (enrollment === undefined) throw new UnauthorizedError('unknown enrollment token');
  if (enrollment.usedAt !== null) throw new AppError('gone', 'enrollment token was already used');
  if (enrollment.expiresAt <= now) throw new AppError('gone', 'enrollment token has expired');
  if (enrollment.name !== request.name) {
    throw new AppError(
      'unprocessable',
      `this enrollment token is for "${enrollment.name}", not "${request.name}"`,
    );
  }
  if ((await findActiveAgentByName(db, request.name)) !== undefined) {
    throw new ConflictError(`an active agent named "${request.name}" already exists`);
  }
  // Consume first, inside the transaction: of two agents redeeming one token at once, exactly one
  // wins; a name taken meanwhile rolls everything back and leaves the token unused.
  return db.transaction(async (tx) => {
    if (!(await consumeEnrollment(tx, enrollment.id, now))) {
      throw new AppError('gone', 'enrollment token was already used');
    }
    let agent: Awaited<ReturnType<typeof insertAgent>>;
    try {
      agent = await insertAgent(tx, {
        name: request.name,
        publicKey: request.publicKey,
        kid: await keyId(request.publicKey),
        enrolledAt: now,
      });
    } catch (error) {
      if (isUniqueViolation(error))
        throw new ConflictError(`an active agent named "${request.name}" already exists`);
      throw error;
    }
    await linkEnrollment(tx, enrollment.id, agent.id);
    return {
      agentId: agent.id,
      name: agent.name,
      protocol: PROTOCOL_VERSION,
      coordinatorKey: coordinatorKey.publicJwk,
    };
  });
}
