import { createAuthThrottle } from '../../../shared/src/auth-throttle.js';
import type { Clock } from '../../../shared/src/clock.js';
import type { Logger } from '../../../shared/src/logger.js';
import { verifyNutPassword } from '../../../shared/src/nut-password.js';
import type { NutServerAuth } from '../nut-server/types.js';
import type { BridgeState } from './bridge-state.js';

/**
 * LOGIN against the accounts in the bridge's state (hashes only), with the admin API's throttle:
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
      const account = state.claims?.accounts.find((a) => a.username === username);
      const ok = account !== undefined && (await verifyNutPassword(password, account.hash));
      if (ok) throttle.succeeded(address);
      else {
        throttle.failed(address);
        options.logger.warn('bridge: LOGIN refused: unknown user or wrong password', {
          address,
          username,
          ups,
        });
      }
      return ok;
    },
  };
}
