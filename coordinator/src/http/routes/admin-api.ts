import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import type { Clock } from '../../../../shared/src/clock.js';
import { parseDuration } from '../../../../shared/src/duration.js';
import { AppError, NotFoundError } from '../../../../shared/src/errors.js';
import type { Logger } from '../../../../shared/src/logger.js';
import { CloseCode, NameSchema } from '../../../../shared/src/protocol.js';
import { formatPlan } from '../../cli/plan-format.js';
import { parsePlanOptions, parseScenario, simulatePlan } from '../../core/plan.js';
import { PolicyError, parsePolicy } from '../../core/policy.js';
import type { Db } from '../../db/client.js';
import { findActiveAgentByName, listAgents, revokeAgent } from '../../db/queries/agents.js';
import { listOrders, type OrderRow } from '../../db/queries/orders.js';
import { latestPolicy } from '../../db/queries/policies.js';
import { findRun, findRunByNumber, listRunEvents, listRuns } from '../../db/queries/runs.js';
import { listUpsEvents, listUpsStates } from '../../db/queries/ups-events.js';
import type { AgentKeys } from '../../fleet/agent-keys.js';
import { type KeyRing, rotateCoordinatorKey } from '../../fleet/coordinator-key.js';
import { createEnrollment } from '../../fleet/enrollment.js';
import type { Fleet } from '../../fleet/fleet.js';
import type { Hub } from '../../ws/hub.js';
import { type AdminEnv, requireToken } from '../admin-auth.js';
import { readJson } from '../validate.js';

const EnrollmentBody = z.strictObject({
  name: NameSchema,
  ttl: z
    .string()
    .refine((text) => {
      try {
        return parseDuration(text) > 0;
      } catch {
        return false;
      }
    }, 'a duration such as 15m or 24h')
    .optional(),
});

const PlanBody = z.strictObject({
  scenario: z.unknown().optional(),
  options: z.unknown().optional(),
  /** A policy document to try instead of the current one. */
  policy: z.unknown().optional(),
});

/** The UPSes' present charge and runtime (and their low thresholds), as the watchers last reported them. */
function presentReadings(rows: readonly { ups: string; vars: unknown }[]) {
  const seconds = (text: string | undefined) =>
    text === undefined || Number.isNaN(Number(text)) ? undefined : Number(text) * 1000;
  const percent = (text: string | undefined) =>
    text === undefined || Number.isNaN(Number(text)) ? undefined : Number(text);
  return Object.fromEntries(
    rows.map((row) => {
      const vars = (row.vars ?? {}) as Record<string, string>;
      const reading = {
        charge: percent(vars['battery.charge']),
        runtime: seconds(vars['battery.runtime']),
        lowBatteryCharge: percent(vars['battery.charge.low']),
        lowBatteryRuntime: seconds(vars['battery.runtime.low']),
      };
      return [row.ups, Object.fromEntries(Object.entries(reading).filter(([, v]) => v !== undefined))];
    }),
  );
}

/** Newest first; `before` is the `next` cursor of the previous page. */
const EventsQuery = z.object({
  ups: NameSchema.optional(),
  before: z.coerce.number().int().positive().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

function publicOrder(order: OrderRow) {
  const { token: _token, ...rest } = order;
  return rest;
}

/** `/api/v1`: the admin API (bearer token with scopes). */
export function adminApiRoutes(deps: {
  signingKey: KeyRing;
  db: Db;
  clock: Clock;
  fleet: Fleet;
  hub: Hub;
  agentKeys: AgentKeys;
  logger: Logger;
}) {
  const { db } = deps;
  const read = requireToken(db, 'read');
  const write = requireToken(db, 'write');
  return new Hono<AdminEnv>()
    .use(
      bodyLimit({
        maxSize: 1024 * 1024,
        onError: () => {
          throw new AppError('payload_too_large', 'request body over 1 MiB');
        },
      }),
    )
    .post('/enrollments', write, async (c) => {
      const body = await readJson(c, EnrollmentBody);
      const ttl = body.ttl === undefined ? undefined : parseDuration(body.ttl);
      return c.json(await createEnrollment(db, deps.clock, body.name, ttl), 201);
    })
    .get('/hosts', read, async (c) => {
      const agents = await listAgents(db);
      return c.json({
        items: agents.map(({ publicKey: _key, ...agent }) => ({
          ...agent,
          connected: deps.hub.isConnected(agent.id),
        })),
      });
    })
    .post('/coordinator/key/rotate', requireToken(db, 'admin'), async (c) => {
      const rotated = await rotateCoordinatorKey({
        db,
        ring: deps.signingKey,
        hub: deps.hub,
        clock: deps.clock,
        logger: deps.logger,
      });
      return c.json({ ...rotated, publicKey: deps.signingKey.publicJwk });
    })
    .post('/hosts/:name/revoke', write, async (c) => {
      const name = c.req.param('name');
      const agent = await findActiveAgentByName(db, name);
      if (agent === undefined || !(await revokeAgent(db, agent.id)))
        throw new NotFoundError(`no active agent named "${name}"`);
      // From now on its key verifies nothing, and its connection closes with 4403.
      deps.agentKeys.forget(agent.id);
      deps.hub.disconnect(agent.id, CloseCode.Revoked, 'revoked by an admin');
      deps.logger.warn('agent revoked', { agent: name, by: c.get('principal').name });
      return c.json({ revoked: name, agentId: agent.id });
    })
    .get('/ups', read, async (c) => c.json({ items: await listUpsStates(db) }))
    .get('/events', read, async (c) => {
      const query = EventsQuery.parse(c.req.query());
      const items = await listUpsEvents(db, {
        limit: query.limit,
        ...(query.ups === undefined ? {} : { ups: query.ups }),
        ...(query.before === undefined ? {} : { beforeId: query.before }),
      });
      const last = items.at(-1);
      return c.json({
        items,
        next: items.length === query.limit && last !== undefined ? String(last.id) : null,
      });
    })
    .get('/runs', read, async (c) => c.json({ items: await listRuns(db) }))
    .get('/runs/:id', read, async (c) => {
      const id = c.req.param('id');
      const run = z.uuid().safeParse(id).success ? await findRun(db, id) : undefined;
      if (run === undefined) throw new NotFoundError(`no run ${id}`);
      return c.json({
        ...run,
        orders: (await listOrders(db, { runId: run.id })).map(publicOrder),
        timeline: await listRunEvents(db, run.id),
      });
    })
    .get('/orders', read, async (c) => {
      const runId = c.req.query('run');
      const agentId = c.req.query('agent');
      const orders = await listOrders(db, {
        ...(runId === undefined ? {} : { runId: z.uuid().parse(runId) }),
        ...(agentId === undefined ? {} : { agentId: z.uuid().parse(agentId) }),
      });
      return c.json({ items: orders.map(publicOrder) });
    })
    .get('/policy', read, async (c) => {
      const policy = await latestPolicy(db);
      if (policy === undefined) throw new NotFoundError('no policy has been applied yet');
      return c.json(policy);
    })
    .put('/policy', write, async (c) => {
      const document = await readJson(c, z.unknown());
      const { policy, warnings } = await deps.fleet.applyPolicy(document, `token:${c.get('principal').name}`);
      return c.json({ applied: true, stages: policy.stages.map((s) => s.name), warnings });
    })
    .post('/policy/validate', read, async (c) => {
      const document = await readJson(c, z.unknown());
      try {
        const policy = parsePolicy(document);
        return c.json({ valid: true, errors: [], warnings: policy.warnings });
      } catch (error) {
        if (error instanceof PolicyError) return c.json({ valid: false, errors: error.errors, warnings: [] });
        throw error;
      }
    })
    .post('/policy/plan', read, async (c) => {
      const body = await readJson(c, PlanBody);
      const policy = body.policy === undefined ? deps.fleet.policy : parsePolicy(body.policy);
      if (policy === undefined)
        throw new NotFoundError('no policy has been applied yet: pass one as "policy"');
      let scenario = parseScenario(body.scenario ?? { kind: 'battery-now' });
      if (scenario.kind === 'battery-now' && scenario.readings === undefined) {
        scenario = { ...scenario, readings: presentReadings(await listUpsStates(db)) };
      }
      const enrolled = (await listAgents(db)).filter((a) => a.status === 'active').map((a) => a.name);
      const result = simulatePlan(policy, scenario, { ...parsePlanOptions(body.options ?? {}), enrolled });
      return c.json({ ...result, text: formatPlan(result) });
    })
    .post('/drills', write, async (c) => {
      const number = await deps.fleet.startDrill();
      const run = await findRunByNumber(db, number);
      return c.json({ runId: run?.id, number }, 202);
    })
    .post('/stages/:name/fire', write, async (c) => {
      await deps.fleet.fireStage(c.req.param('name'));
      return c.json({ fired: c.req.param('name') }, 202);
    });
}
