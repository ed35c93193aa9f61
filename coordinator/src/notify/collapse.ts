/**
 * Flapping collapse, pure. The first two messages of a collapse key within a window go out at once
 * (an outage and its end, "on battery" then "power back", is news, not flapping); from the third on,
 * messages with that key inside the window are merged into ONE digest, sent when the window ends ("UPS nas-ups power flapping: on battery ×6 in 2 min — now on mains"). Critical kinds are never
 * held back. The outbox query layer keeps the window's state in its rows and applies these decisions.
 */
import type { NotificationKind } from './facts.js';
import type { Message } from './messages.js';
import { humanDuration } from './text.js';

export const DEFAULT_COLLAPSE_WINDOW_MS = 120_000;

/** Never delayed, never merged: a person must hear each of these at once. */
export const NEVER_HELD: ReadonlySet<NotificationKind> = new Set<NotificationKind>([
  'lowbatt',
  'fsd',
  'dead',
  'stage-fired',
  'order-failed',
]);

export interface Digest {
  readonly key: string;
  /** When the window opened: the message sent at once. */
  readonly since: number;
  readonly windowMs: number;
  /** How often each kind happened in the window, the message sent at once included. */
  readonly counts: Readonly<Record<string, number>>;
  /** The latest message merged: how things are now. */
  readonly last: Message;
}

/** What the outbox keeps: the rendered message, and for a digest what it is made of. */
export type StoredMessage = Message & { readonly digest?: Digest };

export interface CollapseState {
  /** The message that opened the latest window for this key (channel and key), if any. */
  readonly opener?: { readonly at: number; readonly kind: string } | undefined;
  /** Messages of this key sent at once within the window (the opener included). */
  readonly recentSent?: number;
  /** The window's digest, not sent yet, and how many messages it holds. */
  readonly pending?: { readonly digest: Digest; readonly count: number } | undefined;
}

export type CollapseDecision =
  | { readonly action: 'send' }
  | {
      readonly action: 'hold';
      /** Merge into the pending digest (true) or start one (false). */
      readonly merge: boolean;
      /** The window's end. */
      readonly dueAt: number;
      readonly message: StoredMessage;
      /** Messages the digest holds now. */
      readonly count: number;
    };

/** Messages of one key sent at once per window before the rest are held for the digest. */
export const SENT_BEFORE_HOLDING = 2;

export function decideCollapse(
  message: Message,
  now: number,
  state: CollapseState,
  windowMs = DEFAULT_COLLAPSE_WINDOW_MS,
): CollapseDecision {
  const key = message.collapseKey;
  const opener = state.opener;
  if (key === undefined || NEVER_HELD.has(message.kind)) return { action: 'send' };
  if (opener === undefined || now >= opener.at + windowMs || now < opener.at) return { action: 'send' };
  if (state.pending === undefined && (state.recentSent ?? 1) < SENT_BEFORE_HOLDING) return { action: 'send' };
  const before = state.pending?.digest ?? {
    key,
    since: opener.at,
    windowMs,
    counts: { [opener.kind]: 1 },
    last: message,
  };
  const digest: Digest = {
    ...before,
    counts: { ...before.counts, [message.kind]: (before.counts[message.kind] ?? 0) + 1 },
    last: message,
  };
  return {
    action: 'hold',
    merge: state.pending !== undefined,
    dueAt: opener.at + windowMs,
    message: digestMessage(digest),
    count: (state.pending?.count ?? 0) + 1,
  };
}

/** How a kind reads as a state ("now on mains"). */
const STATE: Readonly<Record<string, string>> = {
  onbatt: 'on battery',
  online: 'on mains',
  commbad: 'unreachable',
  nocomm: 'unreachable',
  commok: 'reachable',
  replbatt: 'battery to replace',
  cal: 'calibrating',
  notcal: 'calibration done',
  off: 'output off',
  notoff: 'output on',
  bypass: 'on bypass',
  notbypass: 'off bypass',
  over: 'overloaded',
  notover: 'not overloaded',
  trim: 'trimming',
  nottrim: 'not trimming',
  boost: 'boosting',
  notboost: 'not boosting',
  alarm: 'alarm on',
  notalarm: 'alarm cleared',
};

/** How a kind reads when counted ("lost contact ×3"). */
const COUNTED: Readonly<Record<string, string>> = { commbad: 'lost contact', nocomm: 'still unreachable' };

const RECOVERY = (kind: string) => kind === 'online' || kind === 'commok' || kind.startsWith('not');

function family(key: string): string {
  const prefix = key.slice(0, key.indexOf(':'));
  if (prefix === 'power') return 'power flapping';
  if (prefix === 'comm') return 'connection flapping';
  return `${prefix.toUpperCase()} flapping`;
}

export function digestMessage(digest: Digest): StoredMessage {
  const { last } = digest;
  const entries = Object.entries(digest.counts);
  const troubles = entries.filter(([kind]) => !RECOVERY(kind));
  const counted = (troubles.length > 0 ? troubles : entries)
    .map(([kind, n]) => `${COUNTED[kind] ?? STATE[kind] ?? kind} ×${n}`)
    .join(', ');
  const subject = last.ups === undefined ? '' : `UPS ${last.ups} `;
  const title = `${subject}${family(digest.key)}`;
  const detail = `${counted} in ${humanDuration(digest.windowMs)} — now ${STATE[last.kind] ?? last.kind}`;
  return {
    kind: last.kind,
    severity: 'warning',
    title,
    text: `${title}: ${detail}`,
    markdown: `**${title.replace(/([_*])/g, '\\$1')}**\n${detail}`,
    at: last.at,
    ...(last.ups === undefined ? {} : { ups: last.ups }),
    ...(last.host === undefined ? {} : { host: last.host }),
    collapseKey: digest.key,
    digest,
  };
}
