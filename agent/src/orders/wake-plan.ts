import { errorMessage } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { WakeTarget } from '../wake/send-magic-packet.js';
import { isAllowedTarget, type WakeConfig } from '../wake/wake-config.js';
import { accept, type OrderDecision, type OrderOf, refuse } from './order-plan.js';

/** What an agent needs to carry out wake orders: its allowed targets and a way to send the packet. */
export interface WakeAbility {
  readonly config: WakeConfig;
  readonly send: (target: WakeTarget) => Promise<void>;
  readonly logger: Logger;
}

const formatMac = (mac: string): string => mac.replace(/(..)(?!$)/g, '$1:');

/** A wake order sends one Wake-on-LAN packet, but only to an address listed in `wake.allowed`. */
export function planWake(order: OrderOf<'wake'>, ability: WakeAbility): OrderDecision {
  const { orderId, claims } = order;
  if (!isAllowedTarget(ability.config, claims.address)) {
    return refuse(
      `wake target ${claims.address} is not in this agent's wake.allowed list (${ability.config.allowed.join(', ')})`,
    );
  }
  const where = claims.address.includes(':')
    ? `[${claims.address}]:${claims.port}`
    : `${claims.address}:${claims.port}`;
  const what = `a magic packet for ${claims.host} (${formatMac(claims.mac)}) to ${where}`;
  return accept({
    summary: `sending ${what}, run ${claims.runId}`,
    recordAs: 'accepted',
    // A second magic packet is harmless.
    whenUnrecorded: 'proceed',
    // Unchanged: a copy of a recorded wake order is answered as a duplicate.
    whenInterrupted: 'duplicate',
    act: async () => {
      try {
        await ability.send({ mac: claims.mac, address: claims.address, port: claims.port });
        ability.logger.info(`sent ${what}`, { orderId });
        return { outcome: 'succeeded', output: `sent ${what}` };
      } catch (error) {
        const message = `could not send ${what}: ${errorMessage(error)}`;
        ability.logger.error(message, { orderId });
        return { outcome: 'failed', error: message };
      }
    },
  });
}
