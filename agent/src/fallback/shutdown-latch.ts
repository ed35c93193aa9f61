/**
 * Whether this host already went down since it booted, so that the two paths to its shutdown never
 * both run it: a coordinator's order re-sent after the link returns is refused once the host shut
 * down on its own, and an offline countdown does nothing once an order's shutdown has started.
 */
export interface ShutdownLatch {
  /** Why an order must not run the shutdown: it already ran on the host's own decision. */
  ownReason(): string | undefined;
  /** Why the host's own decision must not run it: an order already did. */
  orderReason(): string | undefined;
  markOwn(reason: string): void;
  markOrder(reason: string): void;
}

export function createShutdownLatch(own?: string): ShutdownLatch {
  let byOwn = own;
  let byOrder: string | undefined;
  return {
    ownReason: () => byOwn,
    orderReason: () => byOrder,
    markOwn(reason) {
      byOwn ??= reason;
    },
    markOrder(reason) {
      byOrder ??= reason;
    },
  };
}
