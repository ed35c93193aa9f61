/** The fleet at a glance: status, hosts (and revoking one), UPSes, enrollments, the coordinator's key. */
import { z } from 'zod';
import {
  EnrollmentSchema,
  HostName,
  HostRevokedSchema,
  HostSchema,
  ListOf,
  PositiveDuration,
  StatusSchema,
  UpsStateSchema,
} from '../../../../../shared/src/admin-api.js';
import { parseDuration } from '../../../../../shared/src/duration.js';
import { NotFoundError } from '../../../../../shared/src/errors.js';
import { CloseCode, NameSchema } from '../../../../../shared/src/protocol.js';
import { findActiveAgentByName, listAgents, revokeAgent } from '../../../db/queries/agents.js';
import { listActiveRuns } from '../../../db/queries/runs.js';
import { listUpsStates } from '../../../db/queries/ups-events.js';
import { rotateCoordinatorKey } from '../../../fleet/coordinator-key.js';
import { createEnrollment } from '../../../fleet/enrollment.js';
import type { HostSees } from '../../../fleet/host-reports.js';
import { adminOperation } from './admin-operation.js';
import type { AdminDeps } from './deps.js';

const EnrollmentBody = z.strictObject({
  name: NameSchema.describe('The name the host will have in the policy'),
  ttl: PositiveDuration('15m or 24h').optional().describe('How long the token stays valid (default 24h)'),
});

export interface ChannelHealth {
  readonly name: string;
  readonly failing: boolean;
  readonly consecutiveFailures: number;
  readonly pending: number;
  readonly lastError: string | null;
}

export function fleetOperations(deps: AdminDeps & { channelHealth: () => Promise<ChannelHealth[]> }) {
  const { db } = deps;
  return [
    adminOperation(
      {
        method: 'get',
        path: '/status',
        operationId: 'status.get',
        tag: 'fleet',
        access: 'read',
        summary: 'The fleet at a glance',
        description:
          "Every UPS's power and readings, how many hosts are connected, the active run, and notification channels' health.",
        responses: { 200: { description: 'The status', schema: StatusSchema } },
      },
      async (c) => {
        const [ups, agents, [run], notifications] = await Promise.all([
          listUpsStates(db),
          listAgents(db),
          listActiveRuns(db),
          deps.channelHealth(),
        ]);
        const active = agents.filter((agent) => agent.status === 'active');
        const policy = deps.fleet.policy;
        return c.json({
          time: new Date(deps.clock.now()).toISOString(),
          ups,
          hosts: {
            enrolled: active.length,
            connected: active.filter((agent) => deps.hub.isConnected(agent.id)).length,
          },
          run:
            run === undefined || run.number === null
              ? null
              : {
                  number: run.number,
                  kind: run.kind,
                  phase: run.phase,
                  reason: run.reason ?? '',
                  startedAt: run.startedAt,
                  firedStages: run.firedStages,
                },
          policy: { applied: policy !== undefined, stages: policy?.stages.map((s) => s.name) ?? [] },
          notifications,
        });
      },
    ),
    adminOperation(
      {
        method: 'get',
        path: '/hosts',
        operationId: 'hosts.list',
        tag: 'fleet',
        access: 'read',
        summary: 'Enrolled agents, whether they are connected, and what each reads from its own upsd',
        responses: { 200: { description: 'Every agent, revoked ones included', schema: ListOf(HostSchema) } },
      },
      async (c) => {
        const agents = await listAgents(db);
        return c.json({
          items: agents.map((agent) => ({
            ...agent,
            connected: deps.hub.isConnected(agent.id),
            ...seesOf(deps.hostReports?.sees(agent.name)),
          })),
        });
      },
    ),
    adminOperation(
      {
        method: 'post',
        path: '/hosts/:name/revoke',
        operationId: 'hosts.revoke',
        tag: 'fleet',
        access: 'write',
        summary: 'Revoke an agent',
        description:
          'Its connection closes with 4403 and its key verifies nothing from then on; the agent exits and stays down.',
        params: z.strictObject({ name: HostName }),
        responses: {
          200: { description: 'Revoked', schema: HostRevokedSchema },
          404: { description: 'No active agent with that name' },
        },
      },
      async (c, { params }) => {
        const agent = await findActiveAgentByName(db, params.name);
        if (agent === undefined || !(await revokeAgent(db, agent.id)))
          throw new NotFoundError(`no active agent named "${params.name}"`);
        deps.agentKeys.forget(agent.id);
        deps.hub.disconnect(agent.id, CloseCode.Revoked, 'revoked by an admin');
        deps.logger.warn('agent revoked', { agent: params.name, by: c.get('principal').name });
        return c.json({ revoked: params.name, agentId: agent.id });
      },
    ),
    adminOperation(
      {
        method: 'get',
        path: '/ups',
        operationId: 'ups.list',
        tag: 'fleet',
        access: 'read',
        summary: 'Every UPS as its watcher last reported it',
        responses: { 200: { description: 'UPS states', schema: ListOf(UpsStateSchema) } },
      },
      async (c) => c.json({ items: await listUpsStates(db) }),
    ),
    adminOperation(
      {
        method: 'post',
        path: '/enrollments',
        operationId: 'enrollments.create',
        tag: 'fleet',
        access: 'write',
        summary: 'A single-use enrollment token for a new agent',
        body: EnrollmentBody,
        responses: { 201: { description: 'The token, shown once', schema: EnrollmentSchema } },
      },
      async (c, { body }) => {
        c.set('auditTarget', body.name);
        const ttl = body.ttl === undefined ? undefined : parseDuration(body.ttl);
        return c.json(await createEnrollment(db, deps.clock, body.name, ttl), 201);
      },
    ),
    adminOperation(
      {
        method: 'post',
        path: '/coordinator/key/rotate',
        operationId: 'coordinator.rotateKey',
        tag: 'fleet',
        access: 'admin',
        summary: "Rotate the coordinator's signing key",
        description:
          'The new key is introduced to every agent by a statement signed with the old one; the old key stays valid for one order lifetime.',
        responses: {
          200: {
            description: 'The new key',
            schema: z.looseObject({ publicKey: z.record(z.string(), z.unknown()) }),
          },
        },
      },
      async (c) => {
        const rotated = await rotateCoordinatorKey({
          db,
          ring: deps.signingKey,
          hub: deps.hub,
          clock: deps.clock,
          logger: deps.logger,
        });
        return c.json({ ...rotated, publicKey: deps.signingKey.publicJwk });
      },
    ),
  ];
}

/** A host's own readings for the API: read times on the coordinator's clock, errors never as battery. */
function seesOf(sees: HostSees | undefined) {
  if (sees === undefined) return {};
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    sees: {
      readings: sees.readings.map((reading) => ({
        ups: reading.ups,
        status: reading.status,
        ...(reading.status === null ? { error: reading.reason ?? 'could not read' } : {}),
        dead: reading.dead,
        readAt: iso(Math.min(sees.receivedAt, reading.at - sees.skewMs)),
      })),
      warnings: [...sees.warnings],
      receivedAt: iso(sees.receivedAt),
    },
  };
}
