/**
 * Following the coordinator's live stream (`GET /api/v1/stream`, server-sent events) for
 * `events --follow` and `drill`: each message to a handler, and after a dropped connection a
 * reconnect (with backoff) that resumes after the last message seen, so nothing is missed.
 */
import type { EventSourceMessage } from 'eventsource-parser';
import { nextDelay } from '../../shared/src/backoff.js';
import type { AdminClient } from './admin-client.js';
import { ApiError } from './errors.js';

export type LiveTopic = 'ups' | 'run' | 'host' | 'fleet';

export interface FollowOptions {
  readonly topics: readonly LiveTopic[];
  /** Resume after this stream event id (`<ups event id>.<run event id>`). */
  readonly after?: string | undefined;
  readonly signal: AbortSignal;
  /** Told when the connection dropped and a reconnect is under way. */
  readonly onDrop?: (error: unknown) => void;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

/**
 * Hands every message to `handle` until it returns true or `signal` aborts. A refusal (401, 403,
 * 400) is thrown; a connection that cannot be made or drops is retried.
 */
export async function followStream(
  client: AdminClient,
  options: FollowOptions,
  handle: (message: EventSourceMessage) => boolean | Promise<boolean>,
): Promise<void> {
  let lastEventId = options.after;
  let attempt = 0;
  const path = `/api/v1/stream?topics=${options.topics.join(',')}`;
  while (!options.signal.aborted) {
    try {
      for await (const message of client.stream(path, { lastEventId, signal: options.signal })) {
        attempt = 0;
        if (message.id !== undefined) lastEventId = message.id;
        if (await handle(message)) return;
      }
      options.onDrop?.(new Error('the stream ended'));
    } catch (error) {
      if (options.signal.aborted) return;
      if (error instanceof ApiError) throw error;
      options.onDrop?.(error);
    }
    await sleep(nextDelay(attempt++), options.signal);
  }
}
