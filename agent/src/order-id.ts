/**
 * Reads the id (jti) of an order token WITHOUT verifying it, only to label the `ack` of an order that
 * was refused, so the coordinator can match it. Never used to decide anything.
 */
export function peekOrderId(token: string): string {
  const payload = token.split('.')[1];
  if (payload === undefined || payload.length > 16 * 1024) return 'unreadable';
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    if (typeof claims === 'object' && claims !== null && 'jti' in claims && typeof claims.jti === 'string') {
      const id = claims.jti.replace(/[^\x20-\x7e]/g, '?').slice(0, 128);
      return id === '' ? 'unreadable' : id;
    }
  } catch {
    // fall through
  }
  return 'unreadable';
}

/** The first characters of an id, for log messages (the full id goes in the fields). */
export function shortId(id: string): string {
  return id.length <= 12 ? id : `${id.slice(0, 8)}…`;
}
