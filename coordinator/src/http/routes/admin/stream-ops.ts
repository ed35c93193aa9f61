/**
 * `GET /stream`: one server-sent events stream of what happens in the fleet, for the dashboard,
 * `upsfleet events --follow` and `upsfleet drill`. Nobody polls.
 */
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import {
  LIVE_TOPICS,
  type LiveFeed,
  type LiveMessage,
  type LiveTopic,
  parseCursor,
} from '../../../live/live-feed.js';
import { adminOperation } from './admin-operation.js';

/** A comment line this often keeps proxies and idle timeouts from closing a quiet stream. */
export const KEEPALIVE_MS = 15_000;
/** What EventSource waits before reconnecting (the `retry:` field). */
const RETRY_MS = 2_000;

const StreamQuery = z.strictObject({
  topics: z
    .string()
    .regex(
      /^(ups|run|host|fleet)(,(ups|run|host|fleet))*$/,
      'a comma-separated list of ups, run, host, fleet',
    )
    .optional()
    .describe('Only these kinds of message (default: all)'),
  after: z
    .string()
    .regex(/^\d{1,15}\.\d{1,15}$/, 'an event id from this stream')
    .optional()
    .describe('Resume after this event id (what the `Last-Event-ID` header does for EventSource)'),
});

const DESCRIPTION = [
  'Server-sent events (`text/event-stream`). Each message has an `event` name and JSON `data`:',
  '',
  '- `hello`: first, `{ cursor, hosts }` (hosts: name → connected);',
  '- `ups`: a stored UPS event, `{ event, state }` — the event as in `GET /events`, the UPS state as in `GET /ups`;',
  "- `run`: an entry of a run's timeline (run started, stage fired, order, ack, progress, host down, run ended, …) with its run's `number`, `kind` and `state`;",
  '- `host`: `{ name, connected }` when an agent connects or goes away;',
  '- `fleet`: `{}` after every change the fleet committed (an order acknowledged, a result, a policy applied): refresh derived views.',
  '',
  '`ups` and `run` messages carry an id: a client that reconnects with `Last-Event-ID` (or `?after=`) gets what it missed first (up to 1,000 of each).',
  'A comment line every 15 s keeps the connection open.',
].join('\n');

export function streamOperations(deps: { live: LiveFeed }) {
  return [
    adminOperation(
      {
        method: 'get',
        path: '/stream',
        operationId: 'stream.follow',
        tag: 'history',
        access: 'read',
        summary: 'Live: UPS events, run timelines and host connections as they happen (SSE)',
        description: DESCRIPTION,
        query: StreamQuery,
        responses: { 200: { description: 'An endless event stream', contentType: 'text/event-stream' } },
      },
      (c, { query }) => {
        const from = parseCursor(c.req.header('last-event-id') ?? query.after);
        const topics = new Set<LiveTopic>(
          query.topics === undefined ? LIVE_TOPICS : (query.topics.split(',') as LiveTopic[]),
        );
        c.header('x-accel-buffering', 'no');
        return streamSSE(c, async (stream) => {
          let finish = () => {};
          const finished = new Promise<void>((resolve) => {
            finish = resolve;
          });
          let chain = Promise.resolve();
          const enqueue = (write: () => Promise<unknown>) => {
            chain = chain.then(write).then(
              () => undefined,
              () => finish(),
            );
          };
          const send = (message: LiveMessage) =>
            enqueue(() =>
              stream.writeSSE({
                event: message.event,
                data: JSON.stringify(message.data),
                ...(message.id === undefined ? {} : { id: message.id }),
                ...(message.event === 'hello' ? { retry: RETRY_MS } : {}),
              }),
            );
          stream.onAbort(() => finish());
          const unsubscribe = await deps.live.subscribe({ topics, send, end: () => finish() }, from);
          const keepalive = setInterval(() => enqueue(() => stream.write(': keepalive\n\n')), KEEPALIVE_MS);
          try {
            await finished;
          } finally {
            clearInterval(keepalive);
            unsubscribe();
          }
        });
      },
    ),
  ];
}
