/**
 * The shape of the fleet policy document (YAML on disk, JSON through the API). Cross-references
 * (unknown hosts, cycles, …) are checked in policy.ts, so that every problem is reported at once.
 */
import { z } from 'zod';
import { parseDuration } from '../../../shared/src/duration.js';
import { NameSchema } from '../../../shared/src/protocol.js';

export const DurationSchema = z.string().transform((text, ctx) => {
  try {
    return parseDuration(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
    return z.NEVER;
  }
});

/** A NUT instant command name, e.g. `shutdown.return`. */
const InstantCommand = z
  .string()
  .regex(/^[a-z][a-z0-9.]{0,62}$/, 'a NUT instant command such as shutdown.return');

const Mac = z
  .string()
  .regex(/^[0-9A-Fa-f]{2}([:-]?[0-9A-Fa-f]{2}){5}$/, 'a MAC address such as 00:11:22:33:44:55')
  .transform((mac) => mac.replace(/[:-]/g, '').toLowerCase());

export const UpsEntrySchema = z.strictObject({
  name: NameSchema,
  /** The enrolled agent whose watcher reports this UPS. */
  watcher: NameSchema,
  /** After the last stage, the watcher sends this NUT instant command (e.g. shutdown.return). */
  powerOff: InstantCommand.optional(),
  /**
   * The coordinator's own dead-UPS rule: last seen on battery and nothing heard for this long (the
   * watcher itself gone) counts as dead. Watchers send a snapshot every 5 s while on battery.
   */
  deadAfter: DurationSchema.prefault('60s'),
});

export const HostEntrySchema = z.strictObject({
  name: NameSchema,
  tags: z.array(NameSchema).default([]),
  /** The UPSes that feed this host (several for dual power supplies). */
  ups: z.array(NameSchema).min(1, 'a host is fed by at least one UPS'),
  /** NUT's MINSUPPLIES: the host is endangered when fewer feeds than this are healthy. */
  minSupplies: z.number().int().min(1).default(1),
  /** This host's fail-safe: `false` for none, or its own delay instead of the policy's `fallback`. */
  fallback: z.union([z.literal(false), z.strictObject({ after: DurationSchema })]).optional(),
  /**
   * A host that runs no agent, only a NUT client (upsmon, a NAS, WinNUT): served by agent `bridge`'s
   * NUT server, which shows it FSD when its stage fires. `alias`: another name its first UPS answers
   * to for it (Synology DSM insists on `ups`).
   */
  nut: z.strictObject({ bridge: NameSchema, alias: NameSchema.optional() }).optional(),
  /** Wake-on-LAN: the magic packet is sent by agent `via`, on the host's LAN, to address:port. */
  wake: z
    .strictObject({
      mac: Mac,
      via: NameSchema,
      address: z.union([z.ipv4(), z.ipv6()], 'an IP address (the LAN broadcast address in production)'),
      port: z.number().int().min(1).max(65535).default(9),
    })
    .optional(),
});

/** Fires on whichever condition comes first. */
export const TriggerSchema = z
  .strictObject({
    onBattery: DurationSchema.optional(),
    chargeBelow: z.number().min(0).max(100).optional(),
    runtimeBelow: DurationSchema.optional(),
    lowBattery: z.boolean().optional(),
    fsd: z.boolean().optional(),
    dead: z.boolean().optional(),
    /** Only an admin (API/CLI) fires it. */
    manual: z.boolean().optional(),
  })
  .refine(
    (t) => Object.values(t).some((v) => v !== undefined && v !== false),
    'a trigger needs at least one condition',
  );

export const StageEntrySchema = z.strictObject({
  name: NameSchema,
  /** Host names, or `tag:NAME` for every host with that tag. */
  hosts: z.array(z.string().min(1)).min(1, 'a stage shuts down at least one host'),
  trigger: TriggerSchema,
  /** Stages whose hosts must be down (confirmed, or their grace expired) before this one starts. */
  after: z.array(NameSchema).default([]),
  /** How long its hosts get to confirm they are down. */
  grace: DurationSchema.prefault('2m'),
});

export const RestoreSchema = z.strictObject({
  /** Mains must have been back this long, without interruption... */
  stableFor: DurationSchema.prefault('2m'),
  /** ...and every UPS at least this charged, before anything is woken. */
  minCharge: z.number().min(0).max(100).default(0),
  /** Hosts to wake, in this order (names or `tag:NAME`). */
  wake: z.array(z.string().min(1)).default([]),
  /** How long to wait for a woken host's agent to reconnect before waking the next. */
  wakeTimeout: DurationSchema.prefault('5m'),
});

export const PolicySchema = z.strictObject({
  ups: z.array(UpsEntrySchema).min(1, 'list at least one UPS'),
  hosts: z.array(HostEntrySchema).default([]),
  stages: z.array(StageEntrySchema).default([]),
  restore: RestoreSchema.prefault({}),
  /**
   * Every host's fail-safe, sent to it signed: if it loses the coordinator while its power is in
   * trouble, it shuts down by itself after `after`. `false` turns it off fleet-wide.
   */
  fallback: z.union([z.literal(false), z.strictObject({ after: DurationSchema })]).prefault({ after: '5m' }),
});

export type PolicyDocument = z.output<typeof PolicySchema>;
export type PolicyInput = z.input<typeof PolicySchema>;
export type Trigger = z.output<typeof TriggerSchema>;
