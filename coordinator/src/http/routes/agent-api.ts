import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Clock } from '../../../../shared/src/clock.js';
import { AppError } from '../../../../shared/src/errors.js';
import { EnrollRequestSchema, EventPushSchema, MAX_FRAME_BYTES } from '../../../../shared/src/protocol.js';
import type { SigningKeyPair } from '../../../../shared/src/signing.js';
import { verifyUpsEvent } from '../../../../shared/src/tokens.js';
import type { Db } from '../../db/client.js';
import type { AgentKeys } from '../../fleet/agent-keys.js';
import { enrollAgent } from '../../fleet/enrollment.js';
import type { Fleet } from '../../fleet/fleet.js';
import { readJson } from '../validate.js';

const limit = bodyLimit({
  maxSize: MAX_FRAME_BYTES * 4,
  onError: () => {
    throw new AppError('payload_too_large', `request body over ${MAX_FRAME_BYTES * 4} bytes`);
  },
});

/** `/agent/v1`: enrollment and the HTTP push of signed events. The WebSocket is upgraded in ws/upgrade.ts. */
export function agentApiRoutes(deps: {
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
