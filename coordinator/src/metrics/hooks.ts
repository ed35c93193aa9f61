/**
 * The counters the coordinator feeds as things happen (events, orders, notifications, refused
 * credentials). Every label value comes from a closed set (protocol enums, order kinds) or from
 * admin configuration (channel names), never from what a client sent, so the series stay bounded.
 */
import { Counter, Histogram, type Registry } from './prom.js';

export type EventOutcome = 'stored' | 'duplicate' | 'refused';
export type NotificationOutcome = 'sent' | 'retry' | 'failed';
export type AuthFailureKind = 'admin' | 'agent';
export type OrderReport = 'ack' | 'result';

/** What the coordinator calls; each call is cheap and synchronous. */
export interface MetricsHooks {
  eventReceived(outcome: EventOutcome): void;
  orderIssued(kind: string): void;
  /** `latencySeconds`: from the order's creation to this ack or result. */
  orderReported(kind: string, report: OrderReport, outcome: string, latencySeconds: number): void;
  notification(channel: string, outcome: NotificationOutcome): void;
  authFailure(kind: AuthFailureKind): void;
}

/** 1 ms (an order to a host on the LAN) up to 60 s (a host whose hooks stop containers and VMs). */
export const ORDER_LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

const EVENT_OUTCOMES: readonly EventOutcome[] = ['stored', 'duplicate', 'refused'];
const AUTH_FAILURE_KINDS: readonly AuthFailureKind[] = ['admin', 'agent'];

export function createMetricsHooks(registry: Registry): MetricsHooks {
  const registers = [registry];
  const events = new Counter({
    name: 'upsfleet_events_received_total',
    help: 'Signed UPS events received from watchers, by what became of them.',
    labelNames: ['outcome'],
    registers,
  });
  const ordersIssued = new Counter({
    name: 'upsfleet_orders_issued_total',
    help: 'Signed orders issued to agents, by kind.',
    labelNames: ['kind'],
    registers,
  });
  const orderReports = new Counter({
    name: 'upsfleet_order_reports_total',
    help: 'Acks and results agents reported for their orders, by outcome.',
    labelNames: ['kind', 'report', 'outcome'],
    registers,
  });
  const orderLatency = new Histogram({
    name: 'upsfleet_order_latency_seconds',
    help: "Time from an order's creation to the agent's ack or result.",
    labelNames: ['kind', 'report'],
    buckets: ORDER_LATENCY_BUCKETS,
    registers,
  });
  const notifications = new Counter({
    name: 'upsfleet_notifications_total',
    help: 'Notification delivery attempts, by channel and outcome.',
    labelNames: ['channel', 'outcome'],
    registers,
  });
  const authFailures = new Counter({
    name: 'upsfleet_auth_failures_total',
    help: 'Refused credentials: admin API tokens and agent tokens.',
    labelNames: ['kind'],
    registers,
  });
  // Series with a closed label set exist from the start, at 0, so that rate() and alerts see them.
  for (const outcome of EVENT_OUTCOMES) events.inc({ outcome }, 0);
  for (const kind of AUTH_FAILURE_KINDS) authFailures.inc({ kind }, 0);

  return {
    eventReceived: (outcome) => events.inc({ outcome }),
    orderIssued: (kind) => ordersIssued.inc({ kind }),
    orderReported(kind, report, outcome, latencySeconds) {
      orderReports.inc({ kind, report, outcome });
      // The coordinator's clock stepping back could make it negative: clamp, and skip NaN.
      if (Number.isFinite(latencySeconds))
        orderLatency.observe({ kind, report }, Math.max(0, latencySeconds));
    },
    notification: (channel, outcome) => notifications.inc({ channel, outcome }),
    authFailure: (kind) => authFailures.inc({ kind }),
  };
}
