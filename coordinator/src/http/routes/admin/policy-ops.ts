/** The fleet policy: show, validate, apply, plan; drills and manual stages. */
import { z } from 'zod';
import {
  DrillStartedSchema,
  PlanResultSchema,
  PolicyAppliedSchema,
  PolicyRecordSchema,
  StageFiredSchema,
  ValidationSchema,
} from '../../../../../shared/src/admin-api.js';
import { NotFoundError } from '../../../../../shared/src/errors.js';
import { parsePlanOptions, parseScenario, simulatePlan } from '../../../core/plan.js';
import { formatPlan } from '../../../core/plan-format.js';
import { PolicyError, parsePolicy } from '../../../core/policy.js';
import { presentReadings } from '../../../core/present-readings.js';
import { listAgents } from '../../../db/queries/agents.js';
import { latestPolicy } from '../../../db/queries/policies.js';
import { findRunByNumber } from '../../../db/queries/runs.js';
import { listUpsStates } from '../../../db/queries/ups-events.js';
import { adminOperation } from './admin-operation.js';
import type { AdminDeps } from './deps.js';

const PolicyDocument = z
  .unknown()
  .describe('A policy document (the YAML policy as JSON); see the README for every key');

const PlanBody = z.strictObject({
  scenario: z
    .unknown()
    .optional()
    .describe('{ kind: "battery-now" } (default: the present readings) or a scripted timeline'),
  options: z.unknown().optional().describe('e.g. { unresponsive: ["host"] }'),
  policy: z.unknown().optional().describe('A policy to try instead of the current one'),
});

export function policyOperations(deps: AdminDeps) {
  const { db } = deps;
  return [
    adminOperation(
      {
        method: 'get',
        path: '/policy',
        operationId: 'policy.get',
        tag: 'policy',
        access: 'read',
        summary: 'The policy in force',
        responses: {
          200: { description: 'The last policy applied', schema: PolicyRecordSchema },
          404: { description: 'No policy has been applied yet' },
        },
      },
      async (c) => {
        const policy = await latestPolicy(db);
        if (policy === undefined) throw new NotFoundError('no policy has been applied yet');
        return c.json(policy);
      },
    ),
    adminOperation(
      {
        method: 'put',
        path: '/policy',
        operationId: 'policy.apply',
        tag: 'policy',
        access: 'write',
        summary: 'Apply a policy',
        description: 'Validated first: an invalid policy is refused with every error listed (422).',
        body: PolicyDocument,
        responses: {
          200: {
            description: 'Applied',
            schema: PolicyAppliedSchema,
          },
          422: { description: 'Invalid policy: every error is listed in `errors`' },
        },
      },
      async (c, { body }) => {
        const { policy, warnings } = await deps.fleet.applyPolicy(body, `token:${c.get('principal').name}`);
        return c.json({ applied: true as const, stages: policy.stages.map((s) => s.name), warnings });
      },
    ),
    adminOperation(
      {
        method: 'post',
        path: '/policy/validate',
        operationId: 'policy.validate',
        tag: 'policy',
        access: 'read',
        summary: 'Check a policy without applying it',
        body: PolicyDocument,
        responses: { 200: { description: 'Every error and warning', schema: ValidationSchema } },
      },
      (c, { body }) => {
        try {
          const policy = parsePolicy(body);
          return c.json({ valid: true, errors: [], warnings: policy.warnings });
        } catch (error) {
          if (error instanceof PolicyError)
            return c.json({ valid: false, errors: error.errors, warnings: [] });
          throw error;
        }
      },
    ),
    adminOperation(
      {
        method: 'post',
        path: '/policy/plan',
        operationId: 'policy.plan',
        tag: 'policy',
        access: 'read',
        summary: 'Simulate the policy: the timeline each host would see, touching nothing',
        body: PlanBody,
        responses: { 200: { description: 'The simulated timeline', schema: PlanResultSchema } },
      },
      async (c, { body }) => {
        const policy = body.policy === undefined ? deps.fleet.policy : parsePolicy(body.policy);
        if (policy === undefined)
          throw new NotFoundError('no policy has been applied yet: pass one as "policy"');
        let scenario = parseScenario(body.scenario ?? { kind: 'battery-now' });
        if (scenario.kind === 'battery-now' && scenario.readings === undefined)
          scenario = { ...scenario, readings: presentReadings(await listUpsStates(db)) };
        const enrolled = (await listAgents(db)).filter((a) => a.status === 'active').map((a) => a.name);
        const result = simulatePlan(policy, scenario, { ...parsePlanOptions(body.options ?? {}), enrolled });
        return c.json({ ...result, text: formatPlan(result) });
      },
    ),
    adminOperation(
      {
        method: 'post',
        path: '/drills',
        operationId: 'drills.start',
        tag: 'runs',
        access: 'write',
        summary: 'Start a fleet-wide drill',
        description:
          'Every host receives a drill order and checks that it could shut down (hooks resolvable, command present) without running anything. Follow it with GET /runs/{id}.',
        responses: {
          202: {
            description: 'Started',
            schema: DrillStartedSchema,
          },
          409: { description: 'A run is in progress, or no policy is applied' },
        },
      },
      async (c) => {
        const number = await deps.fleet.startDrill();
        const run = await findRunByNumber(db, number);
        c.set('auditTarget', `run ${number}`);
        return c.json({ runId: run?.id, number }, 202);
      },
    ),
    adminOperation(
      {
        method: 'post',
        path: '/stages/:name/fire',
        operationId: 'stages.fire',
        tag: 'runs',
        access: 'write',
        summary: 'Fire a stage by hand',
        description: 'Starts a run if none is active. Refused during a drill or a restore.',
        params: z.strictObject({ name: z.string().min(1).max(100).describe('The stage') }),
        responses: {
          202: { description: 'Fired', schema: StageFiredSchema },
          409: { description: 'No such stage, or a drill/restore is in progress' },
        },
      },
      async (c, { params }) => {
        await deps.fleet.fireStage(params.name);
        return c.json({ fired: params.name }, 202);
      },
    ),
  ];
}
