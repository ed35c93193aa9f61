/** upssched.conf: the timers and commands NOTIFYCMD=upssched runs. Pure. */
import { configLines, type Origin } from './config-lines.js';

export interface SchedRule {
  /** The notify event (ONBATT, LOWBATT, …). */
  readonly event: string;
  readonly ups: string;
  readonly action: 'START-TIMER' | 'CANCEL-TIMER' | 'EXECUTE';
  /** The timer or command name CMDSCRIPT receives. */
  readonly name: string;
  /** START-TIMER's seconds. */
  readonly seconds?: number;
  readonly origin: Origin;
}

export interface Upssched {
  readonly cmdScript?: { readonly path: string; readonly origin: Origin };
  readonly rules: readonly SchedRule[];
  readonly unmapped: readonly Origin[];
}

/** PIPEFN and LOCKFN are upssched's own plumbing: nothing to carry over. */
const PLUMBING = new Set(['PIPEFN', 'LOCKFN']);

export function parseUpssched(file: string, text: string): Upssched {
  const { lines, bad } = configLines(file, text);
  const rules: SchedRule[] = [];
  const unmapped: Origin[] = [...bad];
  let cmdScript: Upssched['cmdScript'];
  for (const line of lines) {
    const [directive = '', ...args] = line.words;
    const name = directive.toUpperCase();
    if (name === 'CMDSCRIPT' && args.length === 1) {
      cmdScript = { path: args[0] ?? '', origin: line };
      continue;
    }
    if (PLUMBING.has(name)) continue;
    if (name === 'AT' && args.length >= 4) {
      const [event = '', ups = '', action = '', timer = '', extra] = args;
      const upper = action.toUpperCase();
      if (upper === 'START-TIMER' && args.length === 5 && Number.isFinite(Number(extra))) {
        rules.push({
          event: event.toUpperCase(),
          ups,
          action: upper,
          name: timer,
          seconds: Number(extra),
          origin: line,
        });
        continue;
      }
      if ((upper === 'CANCEL-TIMER' || upper === 'EXECUTE') && args.length <= 5) {
        rules.push({ event: event.toUpperCase(), ups, action: upper, name: timer, origin: line });
        continue;
      }
    }
    unmapped.push(line);
  }
  return { ...(cmdScript === undefined ? {} : { cmdScript }), rules, unmapped };
}
