import { type Env, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import type { Clock } from '../../../../shared/src/clock.js';
import { AppError, UnauthorizedError } from '../../../../shared/src/errors.js';
import {
  Ed25519PublicJwkSchema,
  EnrollRequestSchema,
  EnrollResponseSchema,
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
import { type Catalog, mountOperations, operationsFor } from '../operation.js';

const limit = bodyLimit({
  maxSize: MAX_FRAME_BYTES * 4,
  onError: () => {
    throw new AppError('payload_too_large', `request body over ${MAX_FRAME_BYTES * 4} bytes`);
  },
});

const RotateKeySchema = z.strictObject({
  publicKey: Ed25519PublicJwkSchema,
  /** An agent token (aud upsfleet:agent-auth, iss = agent id) signed with the NEW key. */
  proof: z.string().min(1).max(4096),
});

const agentOperation = operationsFor<Env>();

export function agentOperations(deps: {
  replayGuard: ReplayGuard;
  db: Db;
  clock: Clock;
  signingKey: SigningKeyPair;
  agentKeys: AgentKeys;
  fleet: Fleet;
}) {
  return [
    agentOperation(
      {
        method: 'post',
        path: '/enroll',
        operationId: 'agent.enroll',
        tag: 'agent',
        access: 'public',
        summary: 'Enroll an agent with a single-use enrollment token',
        description:
          "Authenticated by the enrollment token in the body. The agent registers its Ed25519 public key and receives the coordinator's.",
        body: EnrollRequestSchema,
        responses: {
          201: { description: 'Enrolled', schema: EnrollResponseSchema },
          401: { description: 'Unknown, used or expired enrollment token' },
        },
      },
      async (c, { body }) => {
        const response = await enrollAgent(deps.db, deps.clock, deps.signingKey, body);
        return c.json(response, 201);
      },
    ),
    agentOperation(
      {
        method: 'post',
        path: '/keys',
        operationId: 'agent.rotateKey',
        tag: 'agent',
        access: 'agent',
        summary: "Replace the agent's key",
        description:
          'Bearer: an agent token signed with the current key. `proof`: an agent token signed with the new key.',
        body: RotateKeySchema,
        responses: {
          200: {
            description: 'Rotated',
            schema: z.object({ agentId: z.string(), rotated: z.literal(true) }),
          },
          401: { description: 'A signature did not verify' },
        },
      },
      async (c, { body }) => {
        // Key rotation: authenticated by the current key (bearer), and the new key proves itself by
        // signing an agent token of its own; only then does the coordinator trust the new key.
        const token = bearerToken(c.req.header('authorization'));
        if (token === undefined)
          throw new UnauthorizedError('missing bearer token signed with the current key');
        const agentId = await verifyAgentAuth(
          token,
          deps.agentKeys.keyOf,
          deps.replayGuard,
          deps.clock.now(),
        );
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
        return c.json({ agentId, rotated: true as const });
      },
    ),
    agentOperation(
      {
        method: 'post',
        path: '/events',
        operationId: 'agent.pushEvents',
        tag: 'agent',
        access: 'agent',
        summary: 'Push signed UPS events (the HTTP path; the WebSocket is the usual one)',
        description:
          'Each event is a token signed by the watcher agent; they are stored in order. A refused event stops the batch: `accepted` and `duplicates` say how far it got.',
        body: EventPushSchema,
        responses: {
          200: {
            description: 'Stored',
            schema: z.object({ accepted: z.array(z.number().int()), duplicates: z.array(z.number().int()) }),
          },
          401: { description: 'A signature did not verify' },
          409: { description: 'An event out of sequence' },
        },
      },
      async (c, { body }) => {
        const { events } = body;
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
      },
    ),
  ];
}

/** `/agent/v1`: enrollment, key rotation and the HTTP push of signed events. The WebSocket is upgraded in ws/upgrade.ts. */
export function mountAgentApi(deps: Parameters<typeof agentOperations>[0], catalog: Catalog) {
  return mountOperations(new Hono().use(limit), '/agent/v1', agentOperations(deps), catalog);
}
