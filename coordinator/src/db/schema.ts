/**
 * The one schema file. camelCase keys, snake_case columns, timestamptz everywhere.
 * Migrations are generated from it (`npm run db:generate`), committed, and never edited.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import type { Ed25519PublicJwk } from '../../../shared/src/protocol.js';
import type { EngineState } from '../core/engine-state.js';
import type { SettingValue, StoredObject, UpsVars } from './stored-values.js';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const agentStatus = pgEnum('agent_status', ['active', 'revoked']);
export const powerState = pgEnum('power_state', ['online', 'battery', 'unknown']);
export const runState = pgEnum('run_state', ['active', 'ended']);
export const runKind = pgEnum('run_kind', ['outage', 'drill']);
export const runPhase = pgEnum('run_phase', ['active', 'restoring']);
export const orderKind = pgEnum('order_kind', ['shutdown', 'wake', 'ups-power-off', 'nut-fsd']);
export const ackStatus = pgEnum('ack_status', ['accepted', 'duplicate', 'rejected']);
export const orderOutcome = pgEnum('order_outcome', ['started', 'succeeded', 'failed', 'drill']);

/** Key/value settings the coordinator keeps for itself (e.g. its signing key). */
export const settings = pgTable('settings', {
  key: text('key').primaryKey(),
  value: jsonb('value').$type<SettingValue>().notNull(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

export const apiTokens = pgTable('api_tokens', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull().unique(),
  /** sha256 of the token, hex. The token itself is shown once and never stored. */
  tokenHash: text('token_hash').notNull().unique(),
  scopes: text('scopes').array().notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
  lastUsedAt: ts('last_used_at'),
  revokedAt: ts('revoked_at'),
  /** Who made it ("bootstrap", or the name of the admin token that created it). */
  createdBy: text('created_by'),
  expiresAt: ts('expires_at'),
});

export const enrollments = pgTable('enrollments', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  tokenHash: text('token_hash').notNull().unique(),
  createdAt: ts('created_at').notNull().defaultNow(),
  expiresAt: ts('expires_at').notNull(),
  usedAt: ts('used_at'),
  agentId: uuid('agent_id'),
});

export const agents = pgTable(
  'agents',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    /** Ed25519 public JWK registered at enrollment. */
    publicKey: jsonb('public_key').$type<Ed25519PublicJwk>().notNull(),
    kid: text('kid').notNull(),
    status: agentStatus('status').notNull().default('active'),
    enrolledAt: ts('enrolled_at').notNull().defaultNow(),
    lastSeenAt: ts('last_seen_at'),
    /** Highest UPS event sequence number accepted from this agent. */
    lastEventSeq: bigint('last_event_seq', { mode: 'number' }),
  },
  (t) => [uniqueIndex('agents_active_name').on(t.name).where(sql`${t.status} = 'active'`)],
);

export const policies = pgTable('policies', {
  id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
  /** The policy as applied (any JSON an admin sent); read back only through parsePolicy. */
  document: jsonb('document').$type<unknown>().notNull(),
  appliedAt: ts('applied_at').notNull().defaultNow(),
  appliedBy: text('applied_by').notNull(),
});

export const upsStates = pgTable('ups_states', {
  ups: text('ups').primaryKey(),
  power: powerState('power').notNull(),
  /** When `power` last changed (observed time). */
  powerSince: ts('power_since').notNull(),
  status: text('status').array(),
  vars: jsonb('vars').$type<UpsVars>().notNull().default({}),
  lastEvents: text('last_events').array().notNull(),
  observedAt: ts('observed_at').notNull(),
  reportedBy: uuid('reported_by').notNull(),
  /** upsmon's dead-UPS verdict from the watcher: last seen on battery, silent past the dead time. */
  dead: boolean('dead').notNull().default(false),
});

/**
 * NUT accounts a bridge serves (`upsfleet hosts nut-credentials NAME`): one per legacy host (named as
 * the host), or a read-only one (`host` null) for dashboards and exporters. Only the hash is kept.
 * A client that insists on a fixed account (Synology DSM: `monuser`/`secret`) gets `loginName`; one
 * login name may serve several hosts only when each is bound to its client's addresses
 * (`sourceAddresses`, none overlapping: coordinator/src/core/nut-accounts.ts).
 */
export const nutCredentials = pgTable('nut_credentials', {
  /**
   * The account's NAME: the host's (or the reader's) name. The column is still called `username`
   * (migration 0005), when it always was the name the client logs in with too.
   */
  name: text('username').primaryKey(),
  /** The USERNAME its client sends, when that is not `name` (a fixed one such as `monuser`). */
  loginName: text('login_name'),
  /** The addresses or CIDR ranges its client may log in from; null: any. */
  sourceAddresses: text('source_addresses').array(),
  /** The legacy host this account is; null for a read-only account. */
  host: text('host'),
  passwordHash: text('password_hash').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export const upsEvents = pgTable(
  'ups_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    ups: text('ups').notNull(),
    agentId: uuid('agent_id')
      .notNull()
      .references(() => agents.id),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    events: text('events').array().notNull(),
    status: text('status').array(),
    vars: jsonb('vars').$type<UpsVars>().notNull().default({}),
    observedAt: ts('observed_at').notNull(),
    receivedAt: ts('received_at').notNull().defaultNow(),
    /** Events the watcher dropped just before this one (its queue overflowed). */
    dropped: integer('dropped').notNull().default(0),
    /** sha256 of the signed event: a re-send is a duplicate only when it is the very same event. */
    tokenHash: text('token_hash'),
    dead: boolean('dead').notNull().default(false),
  },
  (t) => [
    uniqueIndex('ups_events_agent_seq').on(t.agentId, t.seq),
    index('ups_events_ups_time').on(t.ups, t.observedAt),
  ],
);

/**
 * The UPS's readings downsampled to one row a minute (the last values seen in that minute), written
 * with each stored event: the dashboard's hour, day and week charts read this, never the raw events.
 */
export const upsReadings = pgTable(
  'ups_readings',
  {
    ups: text('ups').notNull(),
    minute: ts('minute').notNull(),
    /** battery.charge, %. */
    charge: real('charge'),
    /** battery.runtime, seconds. */
    runtime: real('runtime'),
    /** ups.load, %. */
    load: real('load'),
    /** input.voltage, V. */
    voltage: real('voltage'),
    /** On battery at any reading within the minute. */
    onBattery: boolean('on_battery').notNull().default(false),
    samples: integer('samples').notNull().default(1),
  },
  (t) => [primaryKey({ columns: [t.ups, t.minute] })],
);

/** One outage (or drill), fleet-wide, from the first sign of trouble until it is restored or ends. */
export const runs = pgTable(
  'runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** The engine's run number (1, 2, 3, …). */
    number: integer('number'),
    kind: runKind('kind').notNull().default('outage'),
    /** Unused since fleet-wide runs (kept for the first migration). */
    ups: text('ups'),
    /** What started it, e.g. "power lost: nas-ups". */
    reason: text('reason'),
    state: runState('state').notNull().default('active'),
    phase: runPhase('phase').notNull().default('active'),
    startedAt: ts('started_at').notNull(),
    endedAt: ts('ended_at'),
    endReason: text('end_reason'),
    /** Stages whose orders were issued, in order; a restarted coordinator never fires them again. */
    firedStages: text('fired_stages').array().notNull().default(sql`'{}'::text[]`),
  },
  (t) => [
    uniqueIndex('runs_one_active').on(t.state).where(sql`${t.state} = 'active'`),
    uniqueIndex('runs_number').on(t.number),
  ],
);

/** A run's timeline: every stage, host, wake and power-off event the engine produced. */
export const runEvents = pgTable(
  'run_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id),
    at: ts('at').notNull(),
    kind: text('kind').notNull(),
    stage: text('stage'),
    host: text('host'),
    detail: text('detail'),
  },
  (t) => [index('run_events_run').on(t.runId, t.id)],
);

/** The engine's state, stored after every decision so that a restart resumes exactly there. */
export const engineState = pgTable('engine_state', {
  id: integer('id').primaryKey(),
  state: jsonb('state').$type<EngineState>().notNull(),
  updatedAt: ts('updated_at').notNull(),
});

export const orders = pgTable(
  'orders',
  {
    id: uuid('id').primaryKey(),
    runId: uuid('run_id')
      .notNull()
      .references(() => runs.id),
    agentId: uuid('agent_id')
      .notNull()
      .references(() => agents.id),
    kind: orderKind('kind').notNull().default('shutdown'),
    /** The host shut down or woken, or the UPS powered off. */
    host: text('host').notNull(),
    /** The stage (shutdown), or `wake` / `power-off`. */
    stage: text('stage').notNull(),
    drill: boolean('drill').notNull().default(false),
    /** The signed order as sent; re-sent unchanged until the host reports a result. */
    token: text('token').notNull(),
    createdAt: ts('created_at').notNull(),
    expiresAt: ts('expires_at').notNull(),
    lastSentAt: ts('last_sent_at'),
    ackStatus: ackStatus('ack_status'),
    ackReason: text('ack_reason'),
    ackedAt: ts('acked_at'),
    outcome: orderOutcome('outcome'),
    outcomeAt: ts('outcome_at'),
    exitCode: integer('exit_code'),
    output: text('output'),
    error: text('error'),
  },
  (t) => [
    uniqueIndex('orders_run_stage_agent').on(t.runId, t.stage, t.agentId),
    index('orders_agent').on(t.agentId),
  ],
);

/** Every change made through the admin API: who, what, when. */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: ts('at').notNull(),
    /** The API token's name. */
    actor: text('actor').notNull(),
    /** The operation, e.g. `policy.apply` (the OpenAPI operationId). */
    action: text('action').notNull(),
    method: text('method').notNull(),
    path: text('path').notNull(),
    /** The HTTP status of the answer. */
    status: integer('status').notNull(),
    /** What it was about: a host, a token, a channel, a run. */
    target: text('target'),
    remote: text('remote'),
  },
  (t) => [index('audit_log_at').on(t.at)],
);

export const notificationChannels = pgTable('notification_channels', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull().unique(),
  /** wechat-work | slack | discord | telegram | ntfy | webhook */
  type: text('type').notNull(),
  /** Type-specific settings (URL, chat id, topic, HMAC secret, …); secrets never leave the API unmasked. */
  config: jsonb('config').$type<StoredObject>().notNull(),
  /** NOTIFYFLAG-like routing: empty means every event / every UPS / every host. */
  events: text('events').array().notNull().default(sql`'{}'::text[]`),
  ups: text('ups').array().notNull().default(sql`'{}'::text[]`),
  hosts: text('hosts').array().notNull().default(sql`'{}'::text[]`),
  enabled: boolean('enabled').notNull().default(true),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
  /** Delivery health, for status and metrics. */
  consecutiveFailures: integer('consecutive_failures').notNull().default(0),
  lastError: text('last_error'),
  lastFailureAt: ts('last_failure_at'),
  lastSuccessAt: ts('last_success_at'),
});

export const outboxState = pgEnum('outbox_state', ['pending', 'sent', 'failed']);

/** Messages to deliver: written durably, retried with backoff until sent or given up. */
export const notificationOutbox = pgTable(
  'notification_outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    channelId: uuid('channel_id')
      .notNull()
      .references(() => notificationChannels.id, { onDelete: 'cascade' }),
    /** The notification kind, e.g. `onbatt`, `stage-fired`. */
    kind: text('kind').notNull(),
    /** Messages with the same key close together are collapsed (flapping). */
    collapseKey: text('collapse_key'),
    /** The rendered message (title, text, severity, …) before channel formatting. */
    message: jsonb('message').$type<StoredObject>().notNull(),
    /** How many notifications this row stands for (a collapsed flap counts them). */
    count: integer('count').notNull().default(1),
    state: outboxState('state').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    dueAt: ts('due_at').notNull(),
    createdAt: ts('created_at').notNull(),
    sentAt: ts('sent_at'),
    lastError: text('last_error'),
  },
  (t) => [
    index('notification_outbox_due').on(t.state, t.dueAt),
    index('notification_outbox_collapse').on(t.channelId, t.collapseKey, t.createdAt),
  ],
);

export const schema = {
  settings,
  apiTokens,
  enrollments,
  agents,
  policies,
  upsStates,
  upsEvents,
  upsReadings,
  runs,
  orders,
  auditLog,
  notificationChannels,
  notificationOutbox,
};
