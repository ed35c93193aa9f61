import { assertNever } from '../../../shared/src/assert-never.js';
import type { VerifiedOrder } from '../../../shared/src/tokens.js';
import type { NutFsdAbility } from '../bridge/bridge-role.js';
import { planNutFsd } from './nut-fsd-plan.js';
import { type OrderDecision, refuse } from './order-plan.js';
import { type PowerOffAbility, planPowerOff } from './power-off-plan.js';
import { planShutdown, type ShutdownAbility } from './shutdown-plan.js';
import { planWake, type WakeAbility } from './wake-plan.js';

/** What this agent can do; an absent ability means orders of that kind are refused, saying why. */
export interface OrderAbilities {
  /** From the `host:` section. */
  readonly shutdown: ShutdownAbility | undefined;
  /** From the `wake:` section. */
  readonly wake: WakeAbility | undefined;
  /** From the `ups:` list (entries with `powerOff`). */
  readonly powerOff: PowerOffAbility | undefined;
  /** From the `bridge:` section. */
  readonly nutFsd?: NutFsdAbility | undefined;
}

/** One place that maps every order kind to this agent's plan for it (or its refusal). */
export function createOrderDecider(abilities: OrderAbilities): (order: VerifiedOrder) => OrderDecision {
  return (order) => {
    const { orderId, claims } = order;
    switch (claims.kind) {
      case 'shutdown':
        return abilities.shutdown === undefined
          ? refuse('no host: section: this agent does not shut its host down')
          : planShutdown({ orderId, claims }, abilities.shutdown);
      case 'wake':
        return abilities.wake === undefined
          ? refuse("wake orders are not enabled in this agent's config (no wake: section)")
          : planWake({ orderId, claims }, abilities.wake);
      case 'ups-power-off':
        return abilities.powerOff === undefined
          ? refuse(`UPS ${claims.ups} is not watched by this agent (no ups: list)`)
          : planPowerOff({ orderId, claims }, abilities.powerOff);
      case 'nut-fsd':
        return planNutFsd(order, abilities.nutFsd);
      default:
        return assertNever(claims, 'order kind');
    }
  };
}
