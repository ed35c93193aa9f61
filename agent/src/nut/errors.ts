import { AppError } from '../../../shared/src/errors.js';

/**
 * Every `ERR <CODE>` upsd can send (server/neterr.h, as tabled in NUT.md), plus `UNKNOWN`, which
 * 2.8.0 answers to `GET TRACKING <id>` for an unknown or failed id.
 */
export const NUT_ERROR_CODES = [
  'ACCESS-DENIED',
  'UNKNOWN-UPS',
  'VAR-NOT-SUPPORTED',
  'CMD-NOT-SUPPORTED',
  'INVALID-ARGUMENT',
  'MISSING-ARGUMENT',
  'INSTCMD-FAILED',
  'SET-FAILED',
  'READONLY',
  'TOO-LONG',
  'INVALID-VALUE',
  'FEATURE-NOT-SUPPORTED',
  'FEATURE-NOT-CONFIGURED',
  'ALREADY-SSL-MODE',
  'DRIVER-NOT-CONNECTED',
  'DATA-STALE',
  'ALREADY-LOGGED-IN',
  'ALREADY-SET-USERNAME',
  'ALREADY-SET-PASSWORD',
  'INVALID-USERNAME',
  'INVALID-PASSWORD',
  'USERNAME-REQUIRED',
  'PASSWORD-REQUIRED',
  'UNKNOWN-COMMAND',
  'VAR-UNKNOWN',
  'UNKNOWN-TYPE',
  'UNKNOWN-INSTCMD',
  'UNKNOWN',
] as const;

export type KnownNutErrorCode = (typeof NUT_ERROR_CODES)[number];

/** `UNRECOGNIZED` stands for a code this client does not know; `rawCode` keeps the wire text. */
export type NutErrorCode = KnownNutErrorCode | 'UNRECOGNIZED';

const KNOWN: ReadonlySet<string> = new Set(NUT_ERROR_CODES);

export function isKnownNutErrorCode(code: string): code is KnownNutErrorCode {
  return KNOWN.has(code);
}

/** upsd answered `ERR <CODE> [extra]`. The connection is still usable. */
export class NutError extends AppError {
  override readonly name = 'NutError';
  readonly nutCode: NutErrorCode;
  /** The code exactly as upsd sent it (differs from `nutCode` only when that is `UNRECOGNIZED`). */
  readonly rawCode: string;
  /** Whatever followed the code on the ERR line, if anything. */
  readonly extra: string | undefined;
  /** The failed command, safe to log (a password is redacted). */
  readonly command: string;
  readonly ups: string | undefined;

  constructor(rawCode: string, extra: string | undefined, command: string, ups: string | undefined) {
    const detail = extra === undefined ? '' : ` (${extra})`;
    super('nut', `upsd ERR ${rawCode}${detail} for ${command}`, {
      details: { nutCode: rawCode, command, ...(ups === undefined ? {} : { ups }) },
    });
    this.rawCode = rawCode;
    this.nutCode = isKnownNutErrorCode(rawCode) ? rawCode : 'UNRECOGNIZED';
    this.extra = extra;
    this.command = command;
    this.ups = ups;
  }
}

export type NutProtocolErrorReason =
  | 'syntax'
  | 'line-too-long'
  | 'unexpected-reply'
  | 'list-mismatch'
  | 'reply-too-large'
  | 'unsafe-argument'
  | 'unsupported';

/** upsd (or something pretending to be it) sent what this client cannot parse, or a caller passed an unsafe argument. */
export class NutProtocolError extends AppError {
  override readonly name = 'NutProtocolError';
  readonly reason: NutProtocolErrorReason;

  constructor(reason: NutProtocolErrorReason, message: string, options?: { cause?: unknown }) {
    super('protocol', message, { ...options, details: { reason } });
    this.reason = reason;
  }
}

export type NutConnectionErrorReason =
  /** TCP connect failed or did not finish in time. */
  | 'connect-failed'
  /** The request got no complete reply in time; the connection was dropped. */
  | 'timeout'
  /** upsd closed the connection, or the socket failed. */
  | 'connection-lost'
  /** The reply could not be parsed; the connection was dropped because replies may be out of step. */
  | 'protocol'
  /** `close()` was called, or the client was already closed. */
  | 'closed';

/** The request never got an answer because of the transport. Retry on a new connection. */
export class NutConnectionError extends AppError {
  override readonly name = 'NutConnectionError';
  readonly reason: NutConnectionErrorReason;
  readonly command: string | undefined;

  constructor(
    reason: NutConnectionErrorReason,
    message: string,
    options?: { cause?: unknown; command?: string | undefined },
  ) {
    const command = options?.command;
    super('nut', command === undefined ? message : `${message} (during ${command})`, {
      cause: options?.cause,
      details: { reason, ...(command === undefined ? {} : { command }) },
    });
    this.reason = reason;
    this.command = command;
  }
}
