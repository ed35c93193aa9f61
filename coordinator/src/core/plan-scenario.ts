/**
 * Plan scenarios: what happens to the UPSes in a `policy plan` simulation. Parsed once at the edge
 * (CLI/API) with every error named, then turned into timed UPS readings for the simulator.
 */
import { z } from 'zod';
import { parseDuration } from '../../../shared/src/duration.js';
import { AppError } from '../../../shared/src/errors.js';
import { interpretStatus, isKnownStatusToken, parseStatusWords } from '../../../shared/src/nut-status.js';
import type { EngineInput } from './engine-state.js';
import type { Policy } from './policy.js';

/** A duration: milliseconds as a number, or text such as `90s`, `5m`, `1m30s`. */
const Ms = z.union([z.number().min(0), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  try {
    return parseDuration(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
    return z.NEVER;
  }
});
const Percent = z.number().min(0).max(100);

const ReadingSchema = z.strictObject({
  /** battery.charge, %. */
  charge: Percent.optional(),
  /** battery.runtime at the present load. */
  runtime: Ms.optional(),
  /** battery.charge.low: LB below this. */
  lowBatteryCharge: Percent.optional(),
  /** battery.runtime.low: LB below this. */
  lowBatteryRuntime: Ms.optional(),
});

const StatusText = z.string().superRefine((text, ctx) => {
  const words = parseStatusWords(text);
  const unknown = words.filter((word) => !isKnownStatusToken(word));
  if (unknown.length > 0)
    ctx.addIssue({ code: 'custom', message: `unknown status word(s) ${unknown.join(', ')}` });
  else if (interpretStatus(words).power === 'unknown')
    ctx.addIssue({ code: 'custom', message: `"${text}" says neither OL nor OB` });
});

const TimelineEventSchema = z.strictObject({
  at: Ms,
  ups: z.string().min(1),
  status: StatusText,
  charge: Percent.optional(),
  runtime: Ms.optional(),
  /** upsmon's dead-UPS verdict: the UPS stopped answering on battery; its load has lost power. */
  dead: z.boolean().optional(),
});

export const ScenarioSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('battery-now'),
    /** The UPSes that lose mains (default: every UPS in the policy). */
    ups: z.array(z.string().min(1)).min(1).optional(),
    /** The present readings, per UPS. */
    readings: z.record(z.string(), ReadingSchema).optional(),
  }),
  z.strictObject({
    kind: z.literal('timeline'),
    events: z.array(TimelineEventSchema).min(1, 'a timeline needs at least one event'),
  }),
]);

export const PlanOptionsSchema = z.strictObject({
  stepMs: Ms.refine((ms) => ms >= 1_000, 'at least 1s').optional(),
  hostShutdownMs: Ms.optional(),
  hostBootMs: Ms.optional(),
  horizonMs: Ms.refine((ms) => ms <= 86_400_000, 'at most 24h').optional(),
  unresponsive: z.array(z.string().min(1)).optional(),
  /** Agents enrolled so far; when given, hosts missing here never answer. */
  enrolled: z.array(z.string().min(1)).optional(),
});

export type Scenario = z.output<typeof ScenarioSchema>;
export type ScenarioInput = z.input<typeof ScenarioSchema>;
export type UpsReading = z.output<typeof ReadingSchema>;
export type TimelineEvent = z.output<typeof TimelineEventSchema>;
export type PlanOptions = z.output<typeof PlanOptionsSchema>;

export class ScenarioError extends AppError {
  override readonly name = 'ScenarioError';
  readonly errors: readonly string[];
  constructor(errors: readonly string[]) {
    super('unprocessable', `invalid plan scenario:\n  - ${errors.join('\n  - ')}`, { details: { errors } });
    this.errors = errors;
  }
}

function parseWith<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ScenarioError(
    result.error.issues.map((issue) => {
      const path = issue.path.reduce<string>(
        (out, key) =>
          typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key),
        '',
      );
      return `${path || '(scenario)'}: ${issue.message}`;
    }),
  );
}

/** Validates a scenario (decoded JSON/YAML); throws ScenarioError naming every bad field. */
export function parseScenario(input: unknown): Scenario {
  return parseWith(ScenarioSchema, input);
}

export function parsePlanOptions(input: unknown): PlanOptions {
  return parseWith(PlanOptionsSchema, input ?? {});
}

/** What changed for a UPS between two readings, as the plan shows it. */
export type UpsChange = 'on battery' | 'on mains' | 'low battery' | 'FSD' | 'dead';

export function upsChanges(
  before: Extract<EngineInput, { kind: 'ups' }> | undefined,
  now: Extract<EngineInput, { kind: 'ups' }>,
): UpsChange[] {
  const out: UpsChange[] = [];
  if (now.dead && before?.dead !== true) out.push('dead');
  else if (now.power === 'battery' && before?.power !== 'battery') out.push('on battery');
  else if (now.power === 'online' && before !== undefined && before.power !== 'online') out.push('on mains');
  if (now.lowBattery && !now.dead && before?.lowBattery !== true) out.push('low battery');
  if (now.fsd && before?.fsd !== true) out.push('FSD');
  return out;
}

/** A UPS reading fed to the engine at a moment of the simulation. */
export interface TimedReading {
  readonly at: number;
  readonly input: Extract<EngineInput, { kind: 'ups' }>;
}

/** battery.charge.low and battery.runtime.low when the readings do not say (common NUT driver defaults). */
export const DEFAULT_LOW_BATTERY = { charge: 10, runtime: 120_000 } as const;

function reading(ups: string, at: number, status: string, extra: Partial<TimelineEvent>): TimedReading {
  const words = interpretStatus(parseStatusWords(status));
  const dead = extra.dead === true;
  return {
    at,
    input: {
      kind: 'ups',
      ups,
      power: dead ? 'battery' : words.power,
      lowBattery: words.lowBattery || dead,
      fsd: words.fsd,
      dead,
      charge: extra.charge,
      runtime: extra.runtime,
      at,
    },
  };
}

/** "On battery now, runtime falls at the present load": readings every step and at each threshold crossing. */
function batteryNow(
  policy: Policy,
  scenario: Extract<Scenario, { kind: 'battery-now' }>,
  stepMs: number,
  horizonMs: number,
  notes: string[],
): TimedReading[] {
  const failing = scenario.ups ?? [...policy.ups.keys()];
  const out: TimedReading[] = [];
  for (const name of policy.ups.keys()) if (!failing.includes(name)) out.push(reading(name, 0, 'OL', {}));
  for (const name of failing) {
    const now = scenario.readings?.[name] ?? {};
    const lowCharge = now.lowBatteryCharge ?? DEFAULT_LOW_BATTERY.charge;
    const lowRuntime = now.lowBatteryRuntime ?? DEFAULT_LOW_BATTERY.runtime;
    const initial = now.runtime;
    if (initial === undefined) {
      notes.push(
        `${name}: no battery.runtime reading, so it never runs out here; only time and charge triggers fire`,
      );
      const lb = now.charge !== undefined && now.charge <= lowCharge;
      out.push(reading(name, 0, lb ? 'OB DISCHRG LB' : 'OB DISCHRG', { charge: now.charge }));
      continue;
    }
    if (
      now.lowBatteryRuntime === undefined ||
      (now.charge !== undefined && now.lowBatteryCharge === undefined)
    )
      notes.push(`${name}: low battery assumed at runtime ≤ ${lowRuntime / 1000}s or charge ≤ ${lowCharge}%`);
    const chargeAt = (t: number) =>
      now.charge === undefined || initial === 0 ? now.charge : (now.charge * (initial - t)) / initial;
    const times = new Set<number>([Math.max(0, initial - lowRuntime)]);
    if (now.charge !== undefined && now.charge > 0)
      times.add(Math.max(0, Math.ceil(initial * (1 - lowCharge / now.charge))));
    for (let t = 0; t < initial; t += stepMs) times.add(t);
    for (const t of [...times].filter((t) => t < initial && t <= horizonMs).sort((a, b) => a - b)) {
      const charge = chargeAt(t);
      const lb = initial - t <= lowRuntime || (charge !== undefined && charge <= lowCharge + 1e-9);
      const shown = charge === undefined ? undefined : Math.round(charge * 10) / 10;
      out.push(
        reading(name, t, lb ? 'OB DISCHRG LB' : 'OB DISCHRG', { charge: shown, runtime: initial - t }),
      );
    }
    if (initial <= horizonMs)
      out.push(reading(name, initial, 'OB DISCHRG LB', { charge: 0, runtime: 0, dead: true }));
  }
  return out;
}

/** The scenario's UPS readings, in time order (stable for equal times); `notes` collects assumptions made. */
export function scenarioReadings(
  policy: Policy,
  scenario: Scenario,
  options: { readonly stepMs: number; readonly horizonMs: number },
  notes: string[],
): TimedReading[] {
  const readings =
    scenario.kind === 'battery-now'
      ? batteryNow(policy, scenario, options.stepMs, options.horizonMs, notes)
      : [
          ...[...policy.ups.keys()].map((name) => reading(name, 0, 'OL', {})),
          ...scenario.events.map((event) => reading(event.ups, event.at, event.status, event)),
        ];
  return readings
    .map((r, index) => ({ r, index }))
    .sort((a, b) => a.r.at - b.r.at || a.index - b.index)
    .map(({ r }) => r);
}
