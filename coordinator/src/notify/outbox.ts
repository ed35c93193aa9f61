/**
 * Writing to the notification outbox: channels created from API input, and messages routed to every
 * enabled channel that wants them, written at once or held back into the flapping digest of their
 * window (collapse.ts decides; the rows are db/queries/notifications.ts's).
 */
import type { Db } from '../db/client.js';
import {
  type ChannelRow,
  insertChannel,
  insertOutboxRow,
  listEnabledChannels,
  readCollapseRows,
  updateChannelRow,
  updateOutboxMessage,
} from '../db/queries/notifications.js';
import { type ChannelConfig, type ChannelInput, splitChannelInput } from './channels.js';
import { type CollapseState, DEFAULT_COLLAPSE_WINDOW_MS, decideCollapse } from './collapse.js';
import type { Message } from './messages.js';
import { routes } from './routing.js';
import { readStoredDigest } from './stored-message.js';

export async function createChannel(db: Db, input: ChannelInput, now: Date): Promise<ChannelRow> {
  const { config, ...rest } = splitChannelInput(input);
  const { type, ...settings } = config;
  return insertChannel(db, { ...rest, type, config: settings }, now);
}

export interface ChannelChanges {
  /** New settings; the channel's failure count starts again from zero. */
  readonly config?: ChannelConfig;
  readonly events?: readonly string[];
  readonly ups?: readonly string[];
  readonly hosts?: readonly string[];
  readonly enabled?: boolean;
}

/** Returns the updated channel, or undefined when there is none of that name. */
export function updateChannel(
  db: Db,
  name: string,
  changes: ChannelChanges,
  now: Date,
): Promise<ChannelRow | undefined> {
  const { config, ...rest } = changes;
  if (config === undefined) return updateChannelRow(db, name, rest, now);
  const { type, ...settings } = config;
  return updateChannelRow(db, name, { ...rest, settings: { type, config: settings } }, now);
}

/** The latest window of this key on this channel: its opener and its digest still to send. */
async function collapseState(
  db: Db,
  channelId: string,
  key: string,
  now: number,
  windowMs: number,
): Promise<CollapseState & { pendingId?: number }> {
  const rows = await readCollapseRows(db, channelId, key, now, windowMs);
  if (rows.opener === undefined) return {};
  const state = {
    opener: { at: rows.opener.createdAt.getTime(), kind: rows.opener.kind },
    recentSent: rows.recentSent,
  };
  if (rows.pending === undefined) return state;
  const digest = readStoredDigest(rows.pending.message, rows.pending.id);
  return { ...state, pending: { digest, count: rows.pending.count }, pendingId: rows.pending.id };
}

/**
 * Writes each message for every enabled channel whose routing matches, inside the caller's
 * transaction: at once (due now), or held back into the flapping digest of its window. Returns how
 * many rows were written or merged.
 */
export async function enqueue(
  db: Db,
  messages: readonly Message[],
  now: number,
  options: { windowMs?: number } = {},
): Promise<number> {
  if (messages.length === 0) return 0;
  const windowMs = options.windowMs ?? DEFAULT_COLLAPSE_WINDOW_MS;
  const targets = await listEnabledChannels(db);
  let written = 0;
  for (const message of messages) {
    for (const channel of targets) {
      if (!routes(channel, message)) continue;
      const key = message.collapseKey;
      const state = key === undefined ? {} : await collapseState(db, channel.id, key, now, windowMs);
      const decision = decideCollapse(message, now, state, windowMs);
      if (decision.action === 'hold' && decision.merge && state.pendingId !== undefined) {
        await updateOutboxMessage(db, state.pendingId, decision.message, decision.count);
      } else {
        const held = decision.action === 'hold';
        await insertOutboxRow(db, {
          channelId: channel.id,
          kind: message.kind,
          collapseKey: key ?? null,
          message: held ? decision.message : message,
          count: held ? decision.count : 1,
          dueAt: new Date(held ? decision.dueAt : now),
          createdAt: new Date(now),
        });
      }
      written++;
    }
  }
  return written;
}
