import { createAuthThrottle } from '../../../shared/src/auth-throttle.js';
import type { Clock } from '../../../shared/src/clock.js';
import type { Logger } from '../../../shared/src/logger.js';
import { verifyNutPassword } from '../../../shared/src/nut-password.js';
import type { NutServerAuth } from '../nut-server/types.js';
import { findAccount, hasUsername } from './bridge-accounts.js';
import type { BridgeState } from './bridge-state.js';

/**
 * LOGIN against the accounts in the bridge's state (hashes only): the account with this username
 * bound to the connection's address (or to none), then its password. With the admin API's throttle:
 * after 10 failures within a minute from one address, every LOGIN from it is refused
 * (ERR ACCESS-DENIED, even with the right password) until the minute has passed.
 */
export function createBridgeAuth(
  state: BridgeState,
  options: { clock: Clock; logger: Logger },
): NutServerAuth {
  const throttle = createAuthThrottle({ clock: options.clock });
  return {
    async login({ username, password, ups, address }) {
      if (throttle.blockedFor(address) !== undefined) {
        options.logger.warn('bridge: LOGIN refused, too many failures from this address', {
          address,
          username,
        });
        return false;
      }
      const account = findAccount(state.claims, username, address);
      const ok = account !== undefined && (await verifyNutPassword(password, account.hash));
      if (ok) throttle.succeeded(address);
      else {
        throttle.failed(address);
        const why =
          account !== undefined
            ? 'wrong password'
            : hasUsername(state.claims, username)
              ? 'no account with this username for this address'
              : 'unknown user';
        options.logger.warn(`bridge: LOGIN refused: ${why}`, { address, username, ups });
      }
      return ok;
    },
  };
}
