/**
 * Notification delivery on Node: one loop around the shared delivery step (delivery.ts), woken by
 * `kick()` after a commit that queued messages, or by one timer at the next due time the step
 * returned (at most a minute away: a missed kick only delays). The edge runs the same step from its
 * Durable Object's alarm instead (edge/alarm-scheduler.ts), since a timer would keep it awake.
 */
import { createDelivery, type DeliveryOptions } from './delivery.js';

export { type DeliveryResult, NOTIFY_BACKOFF, type TestResult } from './delivery.js';
export type NotifierOptions = DeliveryOptions;

/** Even without a kick, the loop looks at the outbox this often (a missed kick only delays). */
const IDLE_POLL_MS = 60_000;

export function createNotifier(options: NotifierOptions) {
  const { clock } = options;
  const delivery = createDelivery(options);
  let stopped = true;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopping = new AbortController();

  function arm(at: number | undefined): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (stopped) return;
    const delay = at === undefined ? IDLE_POLL_MS : Math.min(IDLE_POLL_MS, Math.max(25, at - clock.now()));
    timer = setTimeout(() => {
      timer = undefined;
      kick();
    }, delay);
    timer.unref();
  }

  async function pass(): Promise<void> {
    arm(await delivery.deliverDue(stopping.signal));
  }

  /** Wakes the delivery loop now (after a commit that queued messages). Never throws. */
  function kick(): void {
    if (stopped) return;
    if (running !== undefined) {
      again = true;
      return;
    }
    again = false;
    running = pass().finally(() => {
      running = undefined;
      if (again) kick();
    });
  }

  return {
    publish: delivery.publish,
    health: delivery.health,
    kick,

    /** Resolves once no delivery pass is running (tests; a graceful stop). */
    async idle(): Promise<void> {
      while (running !== undefined) await running;
    },

    start(): void {
      if (!stopped) return;
      stopped = false;
      stopping = new AbortController();
      kick();
    },

    /** Stops the loop; a request in flight is cut short and its message stays queued. */
    async stop(): Promise<void> {
      stopped = true;
      stopping.abort();
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await running;
    },

    /** Sends a test message to the channel now (even a disabled one); records nothing in the outbox. */
    testChannel(name: string) {
      return delivery.testChannel(name, stopping.signal);
    },
  };
}

export type Notifier = ReturnType<typeof createNotifier>;
