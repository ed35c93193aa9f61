/**
 * The wire protocol between agents and the coordinator: one module, schemas that are the types.
 *
 * - WebSocket frames: one discriminated union on `type` per direction, parsed once at the edge by
 *   `parseAgentMessage` / `parseCoordinatorMessage`, then trusted.
 * - Signed payloads (orders, UPS events) travel as compact JWS strings inside frames or HTTP bodies;
 *   their claims are defined here and verified by `signing.ts`.
 * - HTTP bodies of the agent API (`/agent/v1/...`).
 */
import { z } from 'zod';
import { ProtocolError } from './errors.js';
import { AddressOrRangeSchema } from './ip-ranges.js';
import { interpretStatus, type PowerState } from './nut-status.js';

/** Bumped on any incompatible change to the frames or claims below. */
export const PROTOCOL_VERSION = 1;

/** Largest WebSocket frame either side accepts; larger frames close the connection (1009). */
export const MAX_FRAME_BYTES = 64 * 1024;

/** How agent tokens and signed payloads name their audience. */
export const Audience = {
  /** Agent → coordinator: the short-lived token that opens the WebSocket or authorises an HTTP push. */
  AgentAuth: 'upsfleet:agent-auth',
  /** Agent → coordinator: a signed UPS event. */
  Event: 'upsfleet:event',
  /** Coordinator → every agent: a key-rotation statement. */
  Rekey: 'upsfleet:agents',
  /** Coordinator → every agent: the lease ("I can reach my database and I am deciding"). */
  Lease: 'upsfleet:lease',
} as const;

/** The issuer of everything the coordinator signs. Orders carry the target agent's id as audience. */
export const COORDINATOR_ISSUER = 'upsfleet:coordinator';

/** WebSocket close codes. 1000–1015 are RFC 6455's; 4000–4999 are ours (4xxx mirrors HTTP where it fits). */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  MessageTooBig: 1009,
  /** A frame that is not JSON, not a known type, or fails its schema. */
  ProtocolError: 4400,
  /** Credentials refused after the connection was open (e.g. a re-check failed). */
  Unauthorized: 4401,
  /** The agent was revoked by an admin. */
  Revoked: 4403,
  /** No pong within the liveness window. */
  HeartbeatTimeout: 4408,
  /** A newer connection of the same agent replaced this one. */
  Replaced: 4409,
  /** The peer speaks another PROTOCOL_VERSION. */
  UnsupportedVersion: 4426,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

export function closeCodeName(code: number): string {
  const entry = Object.entries(CloseCode).find(([, value]) => value === code);
  return entry ? entry[0] : `code ${code}`;
}

// ---------------------------------------------------------------------------------------------
// Common pieces

/** Host, agent and UPS names: what an admin types; safe in logs, URLs and NUT commands. */
export const NameSchema = z
  .string()
  .min(1)
  .max(63)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    'use letters, digits, ".", "_" and "-", starting with a letter or digit',
  );

export const Ed25519PublicJwkSchema = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'x must be 32 bytes, base64url'),
});
export type Ed25519PublicJwk = z.infer<typeof Ed25519PublicJwkSchema>;

/** The events upsmon would send (NOTIFYTYPE), derived by the watcher from `ups.status`. */
export const NotifyEventSchema = z.enum([
  'ONLINE',
  'ONBATT',
  'LOWBATT',
  'FSD',
  'COMMOK',
  'COMMBAD',
  'NOCOMM',
  'REPLBATT',
  'CAL',
  'NOTCAL',
  'OFF',
  'NOTOFF',
  'BYPASS',
  'NOTBYPASS',
  'OVER',
  'NOTOVER',
  'TRIM',
  'NOTTRIM',
  'BOOST',
  'NOTBOOST',
  'ALARM',
  'NOTALARM',
]);
export type NotifyEvent = z.infer<typeof NotifyEventSchema>;

// ---------------------------------------------------------------------------------------------
// Signed payloads (the claims inside the JWS; iss/aud/iat/exp/jti are added by signing.ts)

/**
 * What the coordinator orders one agent to do. It never carries a command line: a host runs its own
 * configured shutdown; a waker sends a Wake-on-LAN packet; a watcher sends one NUT instant command
 * to its UPS with its own configured account.
 */
const ShutdownOrderSchema = z.object({
  kind: z.literal('shutdown'),
  runId: z.string().min(1),
  stage: z.string().min(1),
  /** A drill order is verified and reported but never runs the real shutdown. */
  drill: z.boolean(),
});

const WakeOrderSchema = z.object({
  kind: z.literal('wake'),
  runId: z.string().min(1),
  /** The host being woken (for the record). */
  host: NameSchema,
  /** 12 lowercase hex digits. */
  mac: z.string().regex(/^[0-9a-f]{12}$/),
  /** Where the magic packet goes: the LAN's broadcast address in production. */
  address: z.union([z.ipv4(), z.ipv6()]),
  port: z.number().int().min(1).max(65535),
});

const UpsPowerOffOrderSchema = z.object({
  kind: z.literal('ups-power-off'),
  runId: z.string().min(1),
  /** The UPS's id in the watcher's config (its name in the policy). */
  ups: NameSchema,
  /** A NUT instant command such as shutdown.return. */
  command: z.string().regex(/^[a-z][a-z0-9.]{0,62}$/),
});

/**
 * For a host that only speaks NUT (`nut: { bridge: AGENT }` in the policy): its stage fired, so the
 * bridge agent shows FSD to that host's NUT account. Its acknowledgement says FSD is shown; its
 * result `started` says the host's NUT client logged out or went away after seeing FSD.
 */
const NutFsdOrderSchema = z.object({
  kind: z.literal('nut-fsd'),
  runId: z.string().min(1),
  stage: z.string().min(1),
  host: NameSchema,
  /** A drill order is acknowledged and reported but never shows FSD. */
  drill: z.boolean(),
});

/** A stage's trigger as a host evaluates it on its own: durations in ms; `manual` has no offline meaning. */
export const OfflineTriggerSchema = z.object({
  onBattery: z.number().int().nonnegative().optional(),
  chargeBelow: z.number().min(0).max(100).optional(),
  runtimeBelow: z.number().int().nonnegative().optional(),
  lowBattery: z.boolean().optional(),
  fsd: z.boolean().optional(),
  dead: z.boolean().optional(),
});
export type OfflineTrigger = z.infer<typeof OfflineTriggerSchema>;

/**
 * The rule a host follows on its own for one stage that lists it, compiled by the coordinator from
 * the policy (coordinator/src/core/offline-rule.ts): its stage's trigger, then — for a stage with
 * `after:` — the longest the coordinator would wait for the stages before it, so that on its own the
 * host never goes down earlier than the coordinator would have ordered it.
 */
export const OfflineStageRuleSchema = z.object({
  stage: NameSchema,
  trigger: OfflineTriggerSchema,
  /** ms after the trigger holds: the chain of graces of the stages before it (0 without `after:`). */
  wait: z.number().int().nonnegative(),
  /**
   * ms of on-battery time by which those stages are down at the latest by their own on-battery
   * triggers and graces (the wait ends then if that is sooner); null when one has no such bound.
   */
  waitBound: z.number().int().nonnegative().nullable(),
});
export type OfflineStageRule = z.infer<typeof OfflineStageRuleSchema>;

/**
 * What the coordinator tells each host about its power, signed, so that the host can protect itself
 * when the coordinator is gone: the state of the UPSes that feed it and its fallback rule ("if I
 * lose the coordinator while my power is in trouble, shut down after `after` ms"). The host caches
 * the latest one; a newer one replaces it.
 */
export const BriefingClaimsSchema = z.object({
  kind: z.literal('briefing'),
  /** Strictly increasing per coordinator, so an old briefing never replaces a newer one. */
  version: z.number().int().nonnegative(),
  feeds: z
    .array(
      z.object({
        ups: NameSchema,
        power: z.enum(['online', 'battery', 'unknown']),
        dead: z.boolean(),
        observedAt: z.number().int().nonnegative(),
      }),
    )
    .max(16),
  /** How many feeds must be healthy (NUT's MINSUPPLIES). */
  minSupplies: z.number().int().min(1),
  /** null: no fallback for this host. */
  fallback: z.object({ after: z.number().int().nonnegative() }).nullable(),
  /** The offline rules of the stages that list this host (empty: it is in no stage). */
  offline: z.array(OfflineStageRuleSchema).max(16).default([]),
});
export type BriefingClaims = z.infer<typeof BriefingClaimsSchema>;
export type BriefingInput = z.input<typeof BriefingClaimsSchema>;

/**
 * The lease, one token for the whole fleet, signed only after a successful round trip to the
 * coordinator's database: while a host holds a valid one, the coordinator decides. `seq` grows with
 * every lease, so a replayed one is recognised.
 */
export const LeaseClaimsSchema = z.object({
  kind: z.literal('lease'),
  seq: z.number().int().nonnegative(),
});
export type LeaseClaims = z.infer<typeof LeaseClaimsSchema>;

export const OrderClaimsSchema = z.discriminatedUnion('kind', [
  ShutdownOrderSchema,
  WakeOrderSchema,
  UpsPowerOffOrderSchema,
  NutFsdOrderSchema,
]);
export type OrderClaims = z.infer<typeof OrderClaimsSchema>;

/**
 * What a bridge agent serves over NUT's protocol, signed (aud = the bridge agent): every UPS of the
 * fleet by its policy name with what its watcher last read, the legacy hosts it serves (whether
 * each must see FSD now, and their offline rules), and the NUT accounts (hashed passwords). The
 * bridge keeps the latest one, so it goes on serving when the coordinator is gone.
 */
export const BridgeClaimsSchema = z.object({
  kind: z.literal('bridge'),
  /** Strictly increasing per coordinator, so an old state never replaces a newer one. */
  version: z.number().int().nonnegative(),
  upses: z
    .array(
      z.object({
        name: NameSchema,
        /** The `ups.status` words, or null while unknown. */
        status: z.array(z.string().min(1).max(32)).max(32).nullable(),
        /** Every variable the watcher has reported (ups.status included), as upsd served them. */
        vars: z.record(z.string().max(64), z.string().max(256)),
        dead: z.boolean(),
        observedAt: z.number().int().nonnegative(),
      }),
    )
    .max(32),
  hosts: z
    .array(
      z.object({
        name: NameSchema,
        /** The UPSes that feed it (it logs in to one of them). */
        ups: z.array(NameSchema).max(16),
        /** Another name its first UPS answers to for this host (Synology DSM insists on `ups`). */
        alias: NameSchema.nullable(),
        /** Its stage fired in the active run: it sees FSD until the run restores. */
        fsd: z.boolean(),
        /** What the bridge applies for it on its own when the coordinator is unreachable. */
        offline: z.array(OfflineStageRuleSchema).max(16),
        /**
         * Its fallback rule, as a host's briefing carries it: on its own and in trouble for `after`,
         * it is shown FSD (null: none; absent from coordinators before it: none).
         */
        fallback: z.object({ after: z.number().int().nonnegative() }).nullable().default(null),
        minSupplies: z.number().int().min(1),
      }),
    )
    .max(256),
  accounts: z
    .array(
      z.object({
        username: NameSchema,
        /** `pbkdf2-sha256$<iterations>$<salt>$<hash>` (shared/src/nut-password.ts). */
        hash: z.string().min(1).max(256),
        /** The legacy host this account is; null for a read-only account (it never sees FSD early). */
        host: NameSchema.nullable(),
        /**
         * The addresses (or CIDR ranges) its client may log in from; null: any. Several accounts
         * share a username only with addresses that do not overlap: LOGIN is username + password +
         * the connection's address.
         */
        from: z.array(AddressOrRangeSchema).max(16).nullable().default(null),
      }),
    )
    .max(256),
});
export type BridgeClaims = z.infer<typeof BridgeClaimsSchema>;
export type BridgeInput = z.input<typeof BridgeClaimsSchema>;

/** What a watcher saw on one UPS. `status: null` means unknown (no data, stale, driver gone). */
export const UpsEventClaimsSchema = z.object({
  /** Per-agent sequence number, strictly increasing; the coordinator refuses replays. */
  seq: z.number().int().nonnegative(),
  ups: NameSchema,
  /** When the watcher observed it (ms since the epoch). */
  observedAt: z.number().int().nonnegative(),
  /** The `ups.status` words, or null when the state is unknown. */
  status: z.array(z.string().min(1).max(32)).max(32).nullable(),
  events: z.array(NotifyEventSchema).max(32),
  /** Selected variables (battery.charge, battery.runtime, ups.load, …) as upsd reported them. */
  vars: z.record(z.string().max(64), z.string().max(256)).default({}),
  /** Events the watcher had to drop just before this one (its disk queue was full): an explained gap. */
  dropped: z.number().int().nonnegative().default(0),
  /**
   * upsmon's dead-UPS rule: last seen on battery, then silent for longer than the dead time. The
   * UPS counts as critical (upsmon promotes it to OB+LB).
   */
  dead: z.boolean().default(false),
});
export type UpsEventClaims = z.infer<typeof UpsEventClaimsSchema>;
export type UpsEventInput = z.input<typeof UpsEventClaimsSchema>;

// ---------------------------------------------------------------------------------------------
// WebSocket frames, agent → coordinator

const HelloSchema = z.object({
  type: z.literal('hello'),
  protocol: z.number().int(),
  version: z.string().max(64),
  roles: z.array(z.enum(['host', 'watcher', 'bridge'])).min(1),
  /** A bridge says where it serves NUT (for the MONITOR line `hosts nut-credentials` prints). */
  bridge: z
    .object({
      listen: z.string().min(1).max(300),
      /**
       * It checks each account's `from` at LOGIN. A bridge that does not say so would ignore them
       * (and take the first account with a shared username): it is sent no account bound to addresses.
       */
      accountAddresses: z.boolean().optional(),
    })
    .optional(),
});

/** A signed UPS event (compact JWS whose claims are `UpsEventClaims`). */
const EventFrameSchema = z.object({
  type: z.literal('event'),
  token: z
    .string()
    .min(1)
    .max(16 * 1024),
});

/** The agent's answer to an order: accepted (it will act), duplicate (already executed), rejected. */
const AckSchema = z.object({
  type: z.literal('ack'),
  orderId: z.string().min(1).max(128),
  status: z.enum(['accepted', 'duplicate', 'rejected']),
  reason: z.string().max(512).optional(),
});

/** How the local shutdown went: `started` (argv spawned), `succeeded`/`failed` (it returned). */
const ResultSchema = z.object({
  type: z.literal('result'),
  orderId: z.string().min(1).max(128),
  outcome: z.enum(['started', 'succeeded', 'failed', 'drill']),
  exitCode: z.number().int().nullable().optional(),
  signal: z.string().max(32).nullable().optional(),
  /** The tail of the command's output, for the run's record. */
  output: z.string().max(4096).optional(),
  error: z.string().max(512).optional(),
});

/** A step of carrying out an order: each `before` hook, then the shutdown command itself. */
const ProgressSchema = z.object({
  type: z.literal('progress'),
  orderId: z.string().min(1).max(128),
  /** The hook's name, or `shutdown`. */
  step: z.string().min(1).max(64),
  state: z.enum(['started', 'succeeded', 'failed', 'timed-out', 'skipped']),
  exitCode: z.number().int().nullable().optional(),
  output: z.string().max(4096).optional(),
});

const Ms = z.number().int().nonnegative();

/**
 * What a host did while on its own (no valid lease), reported once the coordinator is back: each
 * step with the host's own clock, for the run's timeline (marked as offline decisions). Kept by the
 * host until the coordinator acknowledges it (`offline-ack`), so a report is never lost to a restart.
 */
const OfflineReportSchema = z.object({
  type: z.literal('offline-report'),
  /** Unique per episode (`offline:<lostAt>`): a report sent twice is recorded once. */
  id: z.string().min(1).max(128),
  /**
   * A NUT bridge reporting for a legacy host it serves (what it did for that host on its own);
   * absent: the sending agent's own host.
   */
  host: NameSchema.optional(),
  /** When the host counted itself on its own (its clock). */
  lostAt: Ms,
  steps: z
    .array(
      z.object({
        at: Ms,
        what: z.enum(['lost', 'saw', 'countdown', 'cancelled', 'hook', 'shutdown', 'back']),
        detail: z.string().max(256),
      }),
    )
    .max(64),
  /** Set when the host ran its shutdown on its own: by which rule, and for which stage. */
  shutdown: z
    .object({
      at: Ms,
      rule: z.enum(['offline', 'fallback']),
      stage: NameSchema.nullable(),
    })
    .optional(),
});

/** What a host reads from upsd itself (`host.upsd:`), sent when it changes and every few seconds. */
const HostReadingSchema = z.object({
  type: z.literal('host-reading'),
  readings: z
    .array(
      z.object({
        ups: NameSchema,
        /** The status words, or null when unknown (then `reason` says why). */
        status: z.array(z.string().min(1).max(32)).max(32).nullable(),
        reason: z.string().max(128).optional(),
        dead: z.boolean(),
        /** When the host read it (its clock). */
        at: Ms,
      }),
    )
    .max(16),
  /** Problems with its `host.upsd:` list (an id that feeds nothing in its briefing). */
  warnings: z.array(z.string().max(256)).max(16),
});

export const AgentMessageSchema = z.discriminatedUnion('type', [
  HelloSchema,
  EventFrameSchema,
  AckSchema,
  ResultSchema,
  ProgressSchema,
  OfflineReportSchema,
  HostReadingSchema,
]);
export type AgentMessage = z.infer<typeof AgentMessageSchema>;

// ---------------------------------------------------------------------------------------------
// WebSocket frames, coordinator → agent

const WelcomeSchema = z.object({
  type: z.literal('welcome'),
  protocol: z.number().int(),
  agentId: z.string(),
  name: z.string(),
  /** Coordinator time (ms since the epoch), so an agent can log clock skew. */
  serverTime: z.number(),
});

const OrderFrameSchema = z.object({
  type: z.literal('order'),
  /** Compact JWS signed by the coordinator; claims are `OrderClaims`, jti = order id, aud = agent id. */
  token: z
    .string()
    .min(1)
    .max(16 * 1024),
});

/** The coordinator stored a signed event (so a watcher may drop it from its queue). */
const EventAckSchema = z.object({
  type: z.literal('event-ack'),
  seq: z.number().int().nonnegative(),
  /** The coordinator already had this sequence number from this agent: stored once, not acted on again. */
  duplicate: z.boolean().optional(),
});

/** A frame the coordinator refused, with a reason; the connection stays open unless it says otherwise. */
const ErrorFrameSchema = z.object({
  type: z.literal('error'),
  code: z.string().max(64),
  message: z.string().max(512),
  /** Set when the refused frame was a signed event: its sequence number. */
  seq: z.number().int().nonnegative().optional(),
});

/**
 * A key-rotation statement: signed by the coordinator's previous key, it introduces the next one.
 * Agents apply the chain in order from the key they pinned, and re-pin.
 */
export const RekeyClaimsSchema = z.object({ kind: z.literal('rekey'), key: Ed25519PublicJwkSchema });
export type RekeyClaims = z.infer<typeof RekeyClaimsSchema>;

const RekeyFrameSchema = z.object({
  type: z.literal('rekey'),
  token: z.string().min(1).max(4096),
});

/** A signed briefing (claims: `BriefingClaims`, aud = the agent id). */
const BriefingFrameSchema = z.object({
  type: z.literal('briefing'),
  token: z
    .string()
    .min(1)
    .max(16 * 1024),
});

/** What a bridge serves (claims: `BridgeClaims`, aud = the bridge agent's id). */
const BridgeFrameSchema = z.object({
  type: z.literal('bridge'),
  token: z
    .string()
    .min(1)
    .max(60 * 1024),
});

/** The fleet-wide lease (claims: `LeaseClaims`, aud = `upsfleet:lease`). */
const LeaseFrameSchema = z.object({
  type: z.literal('lease'),
  token: z.string().min(1).max(4096),
});

/** The coordinator recorded an offline report: the host may forget it. */
const OfflineAckSchema = z.object({
  type: z.literal('offline-ack'),
  id: z.string().min(1).max(128),
});

export const CoordinatorMessageSchema = z.discriminatedUnion('type', [
  WelcomeSchema,
  OrderFrameSchema,
  EventAckSchema,
  ErrorFrameSchema,
  BriefingFrameSchema,
  BridgeFrameSchema,
  RekeyFrameSchema,
  LeaseFrameSchema,
  OfflineAckSchema,
]);
export type CoordinatorMessage = z.infer<typeof CoordinatorMessageSchema>;

// ---------------------------------------------------------------------------------------------
// Agent HTTP API bodies

export const EnrollRequestSchema = z.object({
  token: z.string().min(16).max(256),
  name: NameSchema,
  publicKey: Ed25519PublicJwkSchema,
});
export type EnrollRequest = z.infer<typeof EnrollRequestSchema>;

export const EnrollResponseSchema = z.object({
  agentId: z.string(),
  name: NameSchema,
  protocol: z.number().int(),
  /** The coordinator's public key; the agent pins it and trusts no other. */
  coordinatorKey: Ed25519PublicJwkSchema,
});
export type EnrollResponse = z.infer<typeof EnrollResponseSchema>;

/** HTTP push of signed events, for watchers that cannot hold a socket. */
export const EventPushSchema = z.object({
  events: z
    .array(
      z
        .string()
        .min(1)
        .max(16 * 1024),
    )
    .min(1)
    .max(100),
});
export type EventPush = z.infer<typeof EventPushSchema>;

// ---------------------------------------------------------------------------------------------
// Parsing at the edge

function parseFrame<T>(schema: z.ZodType<T>, raw: string, direction: string): T {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (cause) {
    throw new ProtocolError(`${direction} frame is not JSON`, { cause });
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const type =
      typeof json === 'object' && json !== null && 'type' in json ? describeValue(json.type) : undefined;
    throw new ProtocolError(
      type === undefined
        ? `${direction} frame has no type`
        : `invalid ${direction} frame "${type}": ${z.prettifyError(result.error)}`,
      { details: { type } },
    );
  }
  return result.data;
}

export function parseAgentMessage(raw: string): AgentMessage {
  return parseFrame(AgentMessageSchema, raw, 'agent');
}

export function parseCoordinatorMessage(raw: string): CoordinatorMessage {
  return parseFrame(CoordinatorMessageSchema, raw, 'coordinator');
}

export function encodeMessage(message: AgentMessage | CoordinatorMessage): string {
  return JSON.stringify(message);
}

/** Power state as the coordinator reads `ups.status`; unknown is never on battery. */
export type { PowerState } from './nut-status.js';

export function powerStateOf(status: readonly string[] | null): PowerState {
  // The rules live in nut-status.ts: OL wins over a conflicting OB; DISCHRG alone is not battery.
  return interpretStatus(status).power;
}

/** A value for an error message: never throws (String() does on `{ toString: 1 }`). */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}
