/**
 * The admin API's response shapes, as JSON (timestamps are ISO 8601 strings). The coordinator
 * documents its routes with them (OpenAPI) and the CLI parses every answer with them.
 */
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { NameSchema } from './protocol.js';

const Timestamp = z.iso.datetime({ offset: true });
const Nullable = <T extends z.ZodType>(schema: T) => schema.nullable();

/** A duration written as in the policy (`15m`, `24h`, `90d`), above zero. */
export function PositiveDuration(examples: string) {
  return z.string().refine((text) => {
    try {
      return parseDuration(text) > 0;
    } catch {
      return false;
    }
  }, `a duration such as ${examples}`);
}

export const HostName = NameSchema.describe('A host (agent) name');

export const HostUpsdReadingSchema = z.object({
  ups: z.string().describe('The UPS id the host reads'),
  status: Nullable(z.array(z.string())).describe(
    'ups.status words as the host read them; null when it could not read',
  ),
  error: z
    .string()
    .optional()
    .describe(
      'Why the host could not read it (wrong credentials, upsd unreachable, …); never taken as battery',
    ),
  dead: z.boolean().describe('The host has lost this reading while it was last on battery'),
  readAt: Timestamp.describe("When the host read it, on the coordinator's clock"),
});

export const HostSeesSchema = z.object({
  readings: z.array(HostUpsdReadingSchema),
  warnings: z
    .array(z.string())
    .describe('Problems with its `host.upsd` list, such as an id that feeds nothing in its briefing'),
  receivedAt: Timestamp.describe('When the coordinator received the report'),
});

export const HostSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  kid: z.string().describe('Key id of the agent key'),
  status: z.enum(['active', 'revoked']),
  enrolledAt: Timestamp,
  lastSeenAt: Nullable(Timestamp),
  lastEventSeq: Nullable(z.number().int()),
  connected: z.boolean(),
  sees: HostSeesSchema.optional().describe(
    'What the host reads from its own upsd (`host.upsd` in its config), as it last reported it; absent when it reports nothing',
  ),
});

export const UpsStateSchema = z.object({
  ups: z.string(),
  power: z.enum(['online', 'battery', 'unknown']),
  powerSince: Timestamp,
  status: Nullable(z.array(z.string())).describe('ups.status words; null when unknown'),
  vars: z.record(z.string(), z.string()),
  lastEvents: z.array(z.string()),
  observedAt: Timestamp,
  reportedBy: z.uuid(),
  dead: z.boolean(),
});

export const UpsEventSchema = z.object({
  id: z.number().int(),
  ups: z.string(),
  host: z.string().describe('The watcher host that reported it'),
  seq: z.number().int(),
  events: z.array(z.string()).describe('NUT notify events: ONBATT, ONLINE, LOWBATT, FSD, COMMBAD, …'),
  status: Nullable(z.array(z.string())),
  vars: z.record(z.string(), z.string()),
  dead: z.boolean(),
  dropped: z.number().int(),
  observedAt: Timestamp,
  receivedAt: Timestamp,
});

export const RunSchema = z.object({
  id: z.uuid(),
  number: Nullable(z.number().int()),
  kind: z.enum(['outage', 'drill']),
  ups: Nullable(z.string()),
  reason: Nullable(z.string()),
  state: z.enum(['active', 'ended']),
  phase: z.enum(['active', 'restoring']),
  startedAt: Timestamp,
  endedAt: Nullable(Timestamp),
  endReason: Nullable(z.string()),
  firedStages: z.array(z.string()),
});

export const OrderSchema = z.object({
  id: z.uuid(),
  runId: z.uuid(),
  agentId: z.uuid(),
  kind: z.enum(['shutdown', 'wake', 'ups-power-off']),
  host: z.string(),
  stage: z.string(),
  drill: z.boolean(),
  createdAt: Timestamp,
  expiresAt: Timestamp,
  lastSentAt: Nullable(Timestamp),
  ackStatus: Nullable(z.enum(['accepted', 'duplicate', 'rejected'])),
  ackReason: Nullable(z.string()),
  ackedAt: Nullable(Timestamp),
  outcome: Nullable(z.enum(['started', 'succeeded', 'failed', 'drill'])),
  outcomeAt: Nullable(Timestamp),
  exitCode: Nullable(z.number().int()),
  output: Nullable(z.string()),
  error: Nullable(z.string()),
});

export const RunEventSchema = z.object({
  id: z.number().int(),
  runId: z.uuid(),
  at: Timestamp,
  kind: z.string().describe('run-started, stage-fired, order, progress, host-down, run-ended, …'),
  stage: Nullable(z.string()),
  host: Nullable(z.string()),
  detail: Nullable(z.string()),
});

export const RunDetailSchema = RunSchema.extend({
  orders: z.array(OrderSchema),
  timeline: z.array(RunEventSchema),
});

export const EnrollmentSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  token: z.string().describe('The single-use enrollment token: shown once'),
  expiresAt: Timestamp,
});

export const TokenSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  scopes: z.array(z.enum(['read', 'write', 'admin'])),
  createdAt: Timestamp,
  createdBy: Nullable(z.string()),
  expiresAt: Nullable(Timestamp),
  lastUsedAt: Nullable(Timestamp),
  revokedAt: Nullable(Timestamp),
});

export const AuditEntrySchema = z.object({
  id: z.number().int(),
  at: Timestamp,
  actor: z.string().describe('The API token that made the change'),
  action: z.string().describe('The operation (its OpenAPI operationId)'),
  method: z.string(),
  path: z.string(),
  status: z.number().int().describe('The HTTP status it was answered with'),
  target: Nullable(z.string()),
  remote: Nullable(z.string()),
});

export const PolicyRecordSchema = z.object({
  document: z.unknown().describe('The policy as applied'),
  appliedAt: Timestamp,
  appliedBy: z.string(),
});

export const ValidationSchema = z.object({
  valid: z.boolean(),
  errors: z.array(z.string()),
  warnings: z.array(z.string()),
});

export const PlanResultSchema = z
  .looseObject({
    text: z.string().describe('The plan as the CLI prints it'),
  })
  .describe('The simulated timeline: per stage and host, when and why');

export const StatusSchema = z.object({
  time: Timestamp,
  ups: z.array(UpsStateSchema),
  hosts: z.object({ enrolled: z.number().int(), connected: z.number().int() }),
  run: Nullable(
    z.object({
      number: z.number().int(),
      kind: z.enum(['outage', 'drill']),
      phase: z.enum(['active', 'restoring']),
      reason: z.string(),
      startedAt: Timestamp,
      firedStages: z.array(z.string()),
    }),
  ),
  policy: z.object({ applied: z.boolean(), stages: z.array(z.string()) }),
  notifications: z.array(
    z.object({
      name: z.string(),
      failing: z.boolean(),
      consecutiveFailures: z.number().int(),
      pending: z.number().int(),
      lastError: Nullable(z.string()),
    }),
  ),
});

export const ListOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });

/** A page of items; `next` is null on the last page. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    next: z.string().nullable().describe('Cursor of the next page; null on the last page'),
  });
}

export const EventsPageSchema = pageSchema(UpsEventSchema).extend({
  head: z.string().describe('Pass as `after` to get only newer events (for following)'),
});

export const HostRevokedSchema = z.object({ revoked: z.string(), agentId: z.uuid() });

export const NutCredentialsSchema = z.object({
  username: z.string().describe("The USERNAME its client sends: the account's name unless one was given"),
  password: Nullable(z.string()).describe(
    'The generated password, shown this once (only its hash is stored); null when the password was given',
  ),
  host: Nullable(z.string()).describe('The legacy host this account is; null for a read-only account'),
  from: Nullable(z.array(z.string())).describe(
    'The addresses or CIDR ranges its client may log in from; null: any',
  ),
  ups: Nullable(z.string()).describe('The UPS name to give in MONITOR (the alias when there is one)'),
  bridge: Nullable(z.string()).describe('The agent that serves it over NUT'),
  address: Nullable(z.string()).describe('HOST:PORT where the bridge serves NUT, while it is connected'),
  monitor: Nullable(z.string()).describe(
    "The line for the host's upsmon.conf, when the bridge's address is known and the password was generated",
  ),
});

export const NutCredentialsRemovedSchema = z.object({ removed: z.string() });

export const PolicyAppliedSchema = z.object({
  applied: z.literal(true),
  stages: z.array(z.string()),
  warnings: z.array(z.string()),
});

export const DrillStartedSchema = z.object({ runId: z.uuid().optional(), number: z.number().int() });

export const StageFiredSchema = z.object({ fired: z.string() });

export const TokenCreatedSchema = TokenSchema.extend({ token: z.string() });

export const TokenRevokedSchema = z.object({ revoked: z.string() });

export const ChannelViewSchema = z
  .looseObject({
    name: z.string(),
    type: z.string(),
    events: z.array(z.string()),
    ups: z.array(z.string()),
    hosts: z.array(z.string()),
    enabled: z.boolean(),
    health: z.object({
      failing: z.boolean(),
      consecutiveFailures: z.number().int(),
      lastError: z.string().nullable(),
      lastFailureAt: z.string().nullable(),
      lastSuccessAt: z.string().nullable(),
    }),
  })
  .describe('A channel with its secrets masked (robot keys, bot tokens, HMAC secrets)');

export const ChannelRemovedSchema = z.object({ removed: z.string() });

export const ChannelTestSchema = z.object({
  ok: z.boolean(),
  status: z.number().int().optional(),
  error: z.string().optional(),
});
