import { isAddressIn } from '../../../shared/src/ip-ranges.js';
import type { BridgeClaims } from '../../../shared/src/protocol.js';

export type BridgeAccount = BridgeClaims['accounts'][number];

/**
 * The account a client is: the one with its username whose addresses (`from`, checked as the
 * `allow:` list is) include the connection's. Several accounts share a username only with
 * addresses that do not overlap (the coordinator refuses the rest), so at most one fits; should a
 * state ever list two, neither is the client's.
 */
export function findAccount(
  claims: BridgeClaims | undefined,
  username: string | undefined,
  address: string,
): BridgeAccount | undefined {
  if (claims === undefined || username === undefined) return undefined;
  const fitting = claims.accounts.filter(
    (account) =>
      account.username === username && (account.from === null || isAddressIn(address, account.from)),
  );
  return fitting.length === 1 ? fitting[0] : undefined;
}

/** Whether some account has this username (from any address): for saying why a LOGIN was refused. */
export const hasUsername = (claims: BridgeClaims | undefined, username: string): boolean =>
  claims?.accounts.some((account) => account.username === username) === true;
