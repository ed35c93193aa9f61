/**
 * Event intake: a verified, signed UPS event from a watcher is checked against the policy, stored
 * (or recognised as a duplicate), then fed to the engine. Must run inside a batch (group-commit.ts).
 */
import { ConflictError, ForbiddenError, UnauthorizedError } from '../../../shared/src/errors.js';
import type { VerifiedUpsEvent } from '../../../shared/src/tokens.js';
import { findActiveAgent } from '../db/queries/agents.js';
import { queueUpsEvent } from '../db/queries/ups-event-batch.js';
import { type NewUpsEvent, recordUpsEvent } from '../db/queries/ups-events.js';
import { factsFromUpsEvent, nextStageFor } from '../notify/from-engine.js';
import type { FleetContext } from './context.js';
import { decideInput } from './decide-input.js';
import { upsInput } from './inputs.js';

export async function ingestEvent(
  fleet: FleetContext,
  event: VerifiedUpsEvent,
): Promise<'stored' | 'duplicate'> {
  const { clock, logger } = fleet.deps;
  const db = fleet.db;
  const agent = await findActiveAgent(db, event.agentId);
  if (agent === undefined) throw new UnauthorizedError(`agent ${event.agentId} is not active`);
  const { claims } = event;
  const entry = fleet.policy?.ups.get(claims.ups);
  if (entry !== undefined && entry.watcher !== agent.name) {
    throw new ForbiddenError(`agent "${agent.name}" is not the watcher of UPS "${entry.name}"`);
  }
  const input = upsInput(claims);
  const stored: NewUpsEvent = {
    agentId: agent.id,
    ups: claims.ups,
    seq: claims.seq,
    dropped: claims.dropped,
    dead: claims.dead,
    events: claims.events,
    status: claims.status,
    power: claims.dead ? 'battery' : input.power,
    vars: claims.vars,
    observedAt: new Date(claims.observedAt),
    receivedAt: new Date(clock.now()),
    tokenHash: event.tokenHash,
  };
  // In a batch, checked now and stored with the batch's other events just before the commit.
  const outcome =
    fleet.batch === undefined
      ? await recordUpsEvent(db, stored)
      : await queueUpsEvent(db, fleet.batch.upsEvents, stored);
  if (!outcome.stored) {
    if (outcome.reason === 'duplicate') {
      logger.info('duplicate UPS event ignored', {
        ups: claims.ups,
        seq: claims.seq,
        agent: agent.name,
      });
      return 'duplicate';
    }
    throw new ConflictError(
      outcome.reason === 'gap'
        ? `event seq ${claims.seq} leaves a gap after ${outcome.lastSeq} that it does not explain (dropped: ${claims.dropped})`
        : `event seq ${claims.seq} replayed, or re-used for a different event (last accepted: ${outcome.lastSeq}); ` +
            "if the watcher's state directory was reset, enroll it again",
    );
  }
  if (claims.dropped > 0)
    logger.warn('watcher dropped events (its queue was full)', {
      ups: claims.ups,
      dropped: claims.dropped,
    });
  logger.info('UPS event', {
    ups: claims.ups,
    status: claims.status?.join(' ') ?? 'unknown',
    events: claims.events.join(','),
    dead: claims.dead || undefined,
    seq: claims.seq,
  });
  if (entry === undefined) {
    logger.warn('event for a UPS that is not in the policy: recorded, not acted on', {
      ups: claims.ups,
    });
    return 'stored';
  }
  // Durations are measured on the coordinator's clock from when it learned of a change: a backlog
  // delivered late, or a watcher whose clock is off, must never make a stage fire at once.
  const wasDead = fleet.state.ups[claims.ups]?.dead === true;
  const current = fleet.policy;
  await decideInput(fleet, { ...input, at: clock.now() }, (after, now) =>
    factsFromUpsEvent(claims, {
      at: now,
      wasDead,
      nextStage: current === undefined ? undefined : nextStageFor(current, after, claims.ups, now),
    }),
  );
  return 'stored';
}
