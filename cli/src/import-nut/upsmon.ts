/** upsmon.conf, as far as upsfleet has an equivalent. Pure. */
import { type ConfigLine, configLines, type Origin } from './config-lines.js';

export interface Monitor {
  readonly ups: string;
  readonly host: string;
  readonly port: number;
  readonly powerValue: number;
  readonly username: string;
  readonly password: string;
  readonly role: string;
  readonly origin: Origin;
}

export interface Upsmon {
  readonly monitors: readonly Monitor[];
  readonly shutdownCmd?: { readonly command: string; readonly origin: Origin };
  readonly notifyCmd?: { readonly command: string; readonly origin: Origin };
  /** NOTIFYFLAG EVENT flags: the events whose flags include EXEC. */
  readonly execEvents: readonly { readonly event: string; readonly origin: Origin }[];
  /** Numeric settings by name (MINSUPPLIES, POLLFREQ, POLLFREQALERT, DEADTIME, HOSTSYNC, FINALDELAY, …). */
  readonly numbers: ReadonlyMap<string, { readonly value: number; readonly origin: Origin }>;
  readonly unmapped: readonly Origin[];
}

/** The settings kept as numbers: mapped, or explained in a comment. */
const NUMBERS = new Set(['MINSUPPLIES', 'POLLFREQ', 'POLLFREQALERT', 'DEADTIME', 'HOSTSYNC', 'FINALDELAY']);

/** `ups@host[:port]`. */
function parseSystem(system: string): { ups: string; host: string; port: number } | undefined {
  const match = /^([^@\s]+)@(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(system);
  if (match?.[1] === undefined || match[2] === undefined) return undefined;
  return { ups: match[1], host: match[2].replace(/^\[|\]$/g, ''), port: Number(match[3] ?? 3493) };
}

export function parseUpsmon(file: string, text: string): Upsmon {
  const { lines, bad } = configLines(file, text);
  const monitors: Monitor[] = [];
  const execEvents: { event: string; origin: Origin }[] = [];
  const numbers = new Map<string, { value: number; origin: Origin }>();
  const unmapped: Origin[] = [...bad];
  let shutdownCmd: Upsmon['shutdownCmd'];
  let notifyCmd: Upsmon['notifyCmd'];
  const single = (line: ConfigLine) => (line.words.length === 2 ? line.words[1] : undefined);

  for (const line of lines) {
    const [directive = '', ...args] = line.words;
    const name = directive.toUpperCase();
    if (name === 'MONITOR' && args.length === 5) {
      const system = parseSystem(args[0] ?? '');
      const powerValue = Number(args[1]);
      if (system !== undefined && Number.isInteger(powerValue)) {
        monitors.push({
          ...system,
          powerValue,
          username: args[2] ?? '',
          password: args[3] ?? '',
          role: (args[4] ?? '').toLowerCase(),
          origin: line,
        });
        continue;
      }
    } else if (name === 'SHUTDOWNCMD' && single(line) !== undefined) {
      shutdownCmd = { command: single(line) ?? '', origin: line };
      continue;
    } else if (name === 'NOTIFYCMD' && single(line) !== undefined) {
      notifyCmd = { command: single(line) ?? '', origin: line };
      continue;
    } else if (name === 'NOTIFYFLAG' && args.length === 2) {
      const flags = (args[1] ?? '').toUpperCase().split('+');
      if (flags.includes('EXEC')) execEvents.push({ event: (args[0] ?? '').toUpperCase(), origin: line });
      continue;
    } else if (NUMBERS.has(name) && args.length === 1 && Number.isFinite(Number(args[0]))) {
      numbers.set(name, { value: Number(args[0]), origin: line });
      continue;
    }
    unmapped.push(line);
  }
  return {
    monitors,
    ...(shutdownCmd === undefined ? {} : { shutdownCmd }),
    ...(notifyCmd === undefined ? {} : { notifyCmd }),
    execEvents,
    numbers,
    unmapped,
  };
}
