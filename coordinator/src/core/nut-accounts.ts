/**
 * Which NUT accounts may share a login name. A bridge maps a LOGIN to its account by username,
 * password and the connection's address; several accounts may use one username (every Synology DSM
 * logs in as `monuser`/`secret`) only when each is bound to its client's addresses and no two of
 * those overlap, so that one address always means one account. Pure.
 */
import { AppError } from '../../../shared/src/errors.js';
import { rangesOverlap } from '../../../shared/src/ip-ranges.js';

export interface NutAccountShape {
  /** The account's NAME (its host's name, or a reader's). */
  readonly name: string;
  /** What its client sends as USERNAME. */
  readonly username: string;
  /** Addresses or CIDR ranges its client logs in from; null: any. */
  readonly from: readonly string[] | null;
}

/** A NUT account that would make a LOGIN ambiguous; `details.clash` names the other account. */
export class NutAccountClashError extends AppError {
  override readonly name = 'NutAccountClashError';
  constructor(message: string, clash: { account: string; username: string; from: readonly string[] | null }) {
    super('unprocessable', message, { details: { clash } });
  }
}

const describeFrom = (from: readonly string[] | null) => (from === null ? 'any address' : from.join(', '));

/**
 * The first clash between `candidate` and the other accounts (its own earlier version, by name, is
 * ignored: it is being replaced), as an error saying what to change; undefined if there is none.
 */
export function findNutAccountClash(
  candidate: NutAccountShape,
  existing: readonly NutAccountShape[],
): NutAccountClashError | undefined {
  for (const other of existing) {
    if (other.name === candidate.name || other.username !== candidate.username) continue;
    const clash = { account: other.name, username: other.username, from: other.from };
    const prefix = `NUT username "${candidate.username}" is already used by account "${other.name}" (from ${describeFrom(other.from)})`;
    if (candidate.from === null)
      return new NutAccountClashError(
        `${prefix}: accounts sharing a username must each be bound to their client's addresses (--from ADDR)`,
        clash,
      );
    if (other.from === null)
      return new NutAccountClashError(
        `${prefix}, which is not bound to addresses: give "${other.name}" its client's addresses (--from ADDR) first`,
        clash,
      );
    for (const mine of candidate.from) {
      const theirs = other.from.find((entry) => rangesOverlap(mine, entry));
      if (theirs !== undefined)
        return new NutAccountClashError(
          `${prefix}: ${mine} overlaps ${theirs}, so a LOGIN from there could be either account`,
          clash,
        );
    }
  }
  return undefined;
}
