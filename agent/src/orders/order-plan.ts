import type { AgentMessage, OrderClaims } from '../../../shared/src/protocol.js';

/** A verified order of one kind, as the plan of that kind sees it. */
export interface OrderOf<K extends OrderClaims['kind']> {
  readonly orderId: string;
  readonly claims: Extract<OrderClaims, { kind: K }>;
}

/**
 * What an order kind tells the pipeline: refuse the order (this agent cannot carry it out), or a
 * plan to carry it out. Deciding does no I/O; only `act` does.
 */
export type OrderDecision =
  | { readonly ok: true; readonly plan: OrderPlan }
  | { readonly ok: false; readonly reason: string };

/** The fields of a `result` frame, without its type and order id. */
export type ResultFields = Omit<Extract<AgentMessage, { type: 'result' }>, 'type' | 'orderId'>;

/** The fields of a `progress` frame (a before hook, the shutdown command), without its type and order id. */
export type ProgressFields = Omit<Extract<AgentMessage, { type: 'progress' }>, 'type' | 'orderId'>;

/**
 * How a plan reports while it acts. Both hand a frame to the link without waiting for it: a
 * coordinator that cannot be reached never delays or stops the action (the frame is logged as lost).
 */
export interface OrderReport {
  /**
   * An intermediate result, such as `started`. The pipeline records `started` in the executed-order
   * store (fsynced) and resolves after that, so that a restart from then on never repeats the
   * shutdown command; a plan awaits it right before running that command. Never rejects.
   */
  result(fields: ResultFields): Promise<void> | void;
  /** A step of the order: each before hook, then the shutdown command. */
  progress(fields: ProgressFields): void;
}

/** How an order ended: the last `result` the coordinator receives for it. */
export type FinalResult = ResultFields & { readonly outcome: 'succeeded' | 'failed' | 'drill' };

export interface OrderPlan {
  /** What will happen, for the "accepted" log line (never a secret). */
  readonly summary: string;
  /** How the order is first recorded in the executed-order store. */
  readonly recordAs: 'accepted' | 'drill';
  /**
   * When the order cannot be recorded durably: `proceed` (a replay after a restart could run it again,
   * which is better than not acting) or `refuse` (acting twice would do harm).
   */
  readonly whenUnrecorded: 'proceed' | 'refuse';
  /**
   * A copy of the order arrives after this agent's process died while carrying it out (recorded
   * `accepted` in this boot, not expired, not running now): `resume` carries the whole plan out
   * again; `duplicate` answers it as already handled (acting twice could do harm).
   */
  readonly whenInterrupted: 'resume' | 'duplicate';
  /** Carries the order out, reporting steps and intermediate results on the way. Never rejects. */
  act(report: OrderReport): Promise<FinalResult>;
}

export function refuse(reason: string): OrderDecision {
  return { ok: false, reason };
}

export function accept(plan: OrderPlan): OrderDecision {
  return { ok: true, plan };
}
