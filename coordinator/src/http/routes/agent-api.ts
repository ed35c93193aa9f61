import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import type { Clock } from '../../../../shared/src/clock.js';
import { AppError, UnauthorizedError } from '../../../../shared/src/errors.js';
import {
  Ed25519PublicJwkSchema,
  EnrollRequestSchema,
  EventPushSchema,
  MAX_FRAME_BYTES,
} from '../../../../shared/src/protocol.js';
import type { SigningKeyPair } from '../../../../shared/src/signing.js';
import { importPublicKey, keyId, type ReplayGuard } from '../../../../shared/src/signing.js';
import { verifyAgentAuth, verifyUpsEvent } from '../../../../shared/src/tokens.js';
import type { Db } from '../../db/client.js';
import { replaceAgentKey } from '../../db/queries/agents.js';
import type { AgentKeys } from '../../fleet/agent-keys.js';
import { enrollAgent } from '../../fleet/enrollment.js';
import type { Fleet } from '../../fleet/fleet.js';
import { bearerToken } from '../admin-auth.js';
import { readJson } from '../validate.js';

const limit = bodyLimit({
  maxSize: MAX_FRAME_BYTES * 4,
  onError: () => {
    throw new AppError('payload_too_large', `request body over ${MAX_FRAME_BYTES * 4} bytes`);
  },
});

/** `/agent/v1`: enrollment and the HTTP push of signed events. The WebSocket is upgraded in ws/upgrade.ts. */
const RotateKeySchema = z.strictObject({
  publicKey: Ed25519PublicJwkSchema,
  /** An agent token (aud upsfleet:agent-auth, iss = agent id) signed with the NEW key. */
  proof: z.string().min(1).max(4096),
});

export function agentApiRoutes(deps: {
  replayGuard: ReplayGuard;
  db: Db;
  clock: Clock;
  signingKey: SigningKeyPair;
  agentKeys: AgentKeys;
  fleet: Fleet;
}) {
  return new Hono()
    .use(limit)
    .post('/enroll', async (c) => {
      const request = await readJson(c, EnrollRequestSchema);
      const response = await enrollAgent(deps.db, deps.clock, deps.signingKey, request);
      return c.json(response, 201);
    })
    .post('/keys', async (c) => {
      // Key rotation: authenticated by the current key (bearer), and the new key proves itself by
      // signing an agent token of its own; only then does the coordinator trust the new key.
      const token = bearerToken(c.req.header('authorization'));
      if (token === undefined)
        throw new UnauthorizedError('missing bearer token signed with the current key');
      const agentId = await verifyAgentAuth(token, deps.agentKeys.keyOf, deps.replayGuard, deps.clock.now());
      const body = await readJson(c, RotateKeySchema);
      const newKey = await importPublicKey(body.publicKey);
      await verifyAgentAuth(
        body.proof,
        async (id) => (id === agentId ? newKey : undefined),
        deps.replayGuard,
        deps.clock.now(),
      );
      if (!(await replaceAgentKey(deps.db, agentId, body.publicKey, await keyId(body.publicKey)))) {
        throw new UnauthorizedError(`agent ${agentId} is not active`);
      }
      deps.agentKeys.forget(agentId);
      return c.json({ agentId, rotated: true });
    })
    .post('/events', async (c) => {
      const { events } = await readJson(c, EventPushSchema);
      const accepted: number[] = [];
      const duplicates: number[] = [];
      for (const token of events) {
        try {
          const event = await verifyUpsEvent(token, deps.agentKeys.keyOf, deps.clock.now());
          const outcome = await deps.fleet.ingestEvent(event);
          (outcome === 'stored' ? accepted : duplicates).push(event.claims.seq);
        } catch (error) {
          if (error instanceof AppError) {
            throw new AppError(
              error.code,
              `event ${accepted.length + 1} of ${events.length}: ${error.message}`,
              {
                cause: error,
                details: { accepted, duplicates },
              },
            );
          }
          throw error;
        }
      }
      return c.json({ accepted, duplicates });
    });
}
