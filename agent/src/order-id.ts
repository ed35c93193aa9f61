import { unverifiedTokenId } from '../../shared/src/signing.js';

/** The id of an order token, unverified, to label the ack of a refused order ('unreadable' if none). */
export function peekOrderId(token: string): string {
  return unverifiedTokenId(token) ?? 'unreadable';
}

/** The first characters of an id, for log messages (the full id goes in the fields). */
export function shortId(id: string): string {
  return id.length <= 12 ? id : `${id.slice(0, 8)}…`;
}
