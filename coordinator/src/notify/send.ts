/**
 * One HTTP request to a chat service, bounded by a timeout, its answer read (at most 64 KiB) and
 * interpreted. The only place notifications touch the network.
 */

import { decodeChunks } from '../../../shared/src/base64.js';
import type { Clock } from '../../../shared/src/clock.js';
import type { ChannelType } from './channels.js';
import type { HttpRequest } from './formatters.js';
import { interpretAnswer, interpretError, type Outcome } from './responses.js';

/** At most this much of an answer is read: enough for any error body, never a flood. */
const MAX_ANSWER_BYTES = 64 * 1024;

async function readLimited(response: Response): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.byteLength;
    if (total >= MAX_ANSWER_BYTES) {
      await reader.cancel();
      break;
    }
  }
  return decodeChunks(chunks);
}

export interface Sent {
  readonly outcome: Outcome;
  /** The HTTP status, when there was an answer. */
  readonly status?: number;
}

/** Sends `request`; undefined when `stop` aborted it (the caller leaves its message queued). */
export async function sendRequest(
  fetchImpl: typeof globalThis.fetch,
  type: ChannelType,
  request: HttpRequest,
  options: { readonly timeoutMs: number; readonly stop: AbortSignal; readonly clock: Clock },
): Promise<Sent | undefined> {
  try {
    const response = await fetchImpl(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: AbortSignal.any([AbortSignal.timeout(options.timeoutMs), options.stop]),
    });
    const body = await readLimited(response);
    const answer = { status: response.status, headers: response.headers, body };
    return { outcome: interpretAnswer(type, answer, options.clock.now()), status: response.status };
  } catch (error) {
    if (options.stop.aborted) return undefined;
    return { outcome: interpretError(error) };
  }
}
