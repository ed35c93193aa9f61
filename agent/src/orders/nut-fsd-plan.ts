import type { VerifiedOrder } from '../../../shared/src/tokens.js';
import type { NutFsdAbility } from '../bridge/bridge-role.js';
import { accept, type OrderDecision, refuse } from './order-plan.js';

/**
 * A `nut-fsd` order: this agent is the NUT bridge of a host that runs only a NUT client. The host is
 * shown FSD (its upsmon then shuts down by its own SHUTDOWNCMD, as when a primary sets FSD); the
 * order's result says when its client logged out or went away afterwards: "shutdown started".
 */
export function planNutFsd(order: VerifiedOrder, ability: NutFsdAbility | undefined): OrderDecision {
  const { claims } = order;
  if (claims.kind !== 'nut-fsd') return refuse(`not a nut-fsd order: ${claims.kind}`);
  if (ability === undefined) return refuse('no bridge: section: this agent serves no NUT clients');
  if (!ability.serves(claims.host))
    return refuse(`host ${claims.host} is not served by this bridge (nut: { bridge } in the policy)`);
  const host = claims.host;
  return accept({
    summary: `${claims.drill ? 'drill: would show' : 'show'} FSD to NUT host ${host} (stage ${claims.stage})`,
    recordAs: claims.drill ? 'drill' : 'accepted',
    whenUnrecorded: 'proceed',
    // Showing FSD again is harmless; a host that already left is seen leaving no more.
    whenInterrupted: 'resume',
    async act() {
      if (claims.drill)
        return {
          outcome: 'drill',
          output: `would show FSD to ${host}; its NUT client is ${ability.loggedIn(host) ? '' : 'not '}logged in`,
        };
      ability.showFsd(host, order.issuedAt);
      const left = await ability.waitForLeave(host);
      return left.left
        ? {
            outcome: 'succeeded',
            output: `${host}'s NUT client ${left.how === 'logout' ? 'logged out' : 'disconnected'} after FSD (${left.address}): shutdown started`,
          }
        : { outcome: 'failed', error: `${host} did not log out: ${left.reason}` };
    },
  });
}
