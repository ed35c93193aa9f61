/** `ups.status` in plain words for the dashboard, with a tone for its colour. Pure. */
export type Tone = 'ok' | 'warn' | 'bad' | 'unknown';

const EXTRA: Record<string, string> = {
  CHRG: 'charging',
  DISCHRG: 'discharging',
  BYPASS: 'on bypass',
  CAL: 'calibrating',
  OFF: 'output off',
  OVER: 'overloaded',
  TRIM: 'trimming high voltage',
  BOOST: 'boosting low voltage',
  RB: 'battery needs replacing',
  HB: 'battery too hot',
  ALARM: 'alarm',
};

export function plainStatus(status: readonly string[] | null, dead: boolean): { text: string; tone: Tone } {
  if (dead) return { text: 'dead: silent while on battery', tone: 'bad' };
  if (status === null || status.length === 0) return { text: 'unknown: no usable reading', tone: 'unknown' };
  const words = new Set(status);
  const main = words.has('FSD')
    ? { text: 'forced shutdown', tone: 'bad' as const }
    : words.has('OL')
      ? { text: 'on mains', tone: 'ok' as const }
      : words.has('OB') && words.has('LB')
        ? { text: 'low battery', tone: 'bad' as const }
        : words.has('OB')
          ? { text: 'on battery', tone: 'warn' as const }
          : words.has('WAIT')
            ? { text: 'waiting for the driver', tone: 'unknown' as const }
            : { text: 'unknown', tone: 'unknown' as const };
  const extra = status.flatMap((word) => (EXTRA[word] === undefined ? [] : [EXTRA[word]]));
  if (words.has('LB') && !words.has('OB')) extra.unshift('battery low');
  const tone = main.tone === 'ok' && (words.has('OVER') || words.has('RB')) ? 'warn' : main.tone;
  return { text: [main.text, ...extra].join(', '), tone };
}

/** "12 s ago", "5 min ago", "3 h ago", "2 d ago". */
export function ago(at: Date | number, now: number): string {
  const ms = Math.max(0, now - (typeof at === 'number' ? at : at.getTime()));
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400 * 2) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}
