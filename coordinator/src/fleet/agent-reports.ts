/**
 * What host agents tell the fleet: hello (briefing, then every order still owed), goodbye, an ack or
 * result for an order, a step of an order's progress. Each must run inside a batch (group-commit.ts).
 */
import type { AgentMessage } from '../../../shared/src/protocol.js';
import { applyConnection, connectionMatters, type EngineInput } from '../core/engine.js';
import {
  findOrder,
  type OrderReport,
  type OrderRow,
  pendingOrdersFor,
  recordAck,
  recordResult,
} from '../db/queries/orders.js';
import { addRunEvent } from '../db/queries/runs.js';
import type { NotificationFact } from '../notify/facts.js';
import type { FleetContext } from './context.js';
import { decideInput } from './decide-input.js';
import { deliverOrders, findRunId } from './effects.js';
import { reportInput } from './inputs.js';
import type { BridgeHello } from './nut-bridges.js';

/** An agent said hello: it counts as connected, gets its briefing, then every order still owed to it. */
export async function agentReady(
  fleet: FleetContext,
  agentId: string,
  name: string,
  bridge?: BridgeHello,
): Promise<void> {
  await connection(fleet, { kind: 'host-connected', host: name });
  // Orders are owed only within a run (pendingOrdersFor): without one, a hello reads nothing.
  const owed = fleet.state.run !== undefined;
  const work = async () => {
    await fleet.briefings.hello(fleet.policy, fleet.state.ups, agentId, name);
    if (bridge !== undefined) await fleet.bridges.hello(fleet.policy, fleet.state, agentId, name, bridge);
    if (owed) await resendOwed(fleet, agentId, name);
  };
  // What a hello sends reflects committed decisions only.
  if (fleet.batch === undefined) await work();
  else fleet.batch.afterCommit.push(work);
}

/** Every order still owed to the agent, sent again (after commit). */
async function resendOwed(fleet: FleetContext, agentId: string, name: string): Promise<void> {
  const { db, clock, logger } = fleet.deps;
  const now = clock.now();
  const pending = await pendingOrdersFor(db, agentId, new Date(now));
  const sent = await deliverOrders(
    fleet.deps,
    pending.map((order) => ({
      agentId,
      orderId: order.id,
      token: order.token,
      host: order.host,
      kind: order.kind,
    })),
    now,
  );
  if (sent.length > 0) logger.info('re-sent pending orders', { agent: name, count: sent.length });
}

export function agentGone(fleet: FleetContext, name: string): Promise<void> {
  fleet.briefings.gone(name);
  fleet.bridges.gone(name);
  return connection(fleet, { kind: 'host-disconnected', host: name });
}

/**
 * A hello or goodbye: decided (and stored) only when the run needs it; otherwise only noted, at
 * no cost however large the fleet. The connection counts either way, even if the decision fails.
 */
async function connection(
  fleet: FleetContext,
  input: Extract<EngineInput, { kind: 'host-connected' | 'host-disconnected' }>,
): Promise<void> {
  try {
    if (connectionMatters(fleet.state, input)) await decideInput(fleet, input);
  } finally {
    applyConnection(fleet.connections, input);
  }
}

export async function agentReport(
  fleet: FleetContext,
  agentId: string,
  message: Extract<AgentMessage, { type: 'ack' | 'result' }>,
): Promise<void> {
  const { clock, logger, metrics, notifier } = fleet.deps;
  const db = fleet.db;
  const at = new Date(clock.now());
  const report: OrderReport =
    message.type === 'ack'
      ? {
          type: 'ack',
          orderId: message.orderId,
          agentId,
          status: message.status,
          ...(message.reason === undefined ? {} : { reason: message.reason }),
          at,
        }
      : {
          type: 'result',
          orderId: message.orderId,
          agentId,
          outcome: message.outcome,
          exitCode: message.exitCode ?? null,
          ...(message.output === undefined ? {} : { output: message.output }),
          ...(message.error === undefined ? {} : { error: message.error }),
          at,
        };
  const order = await recordReport(fleet, report);
  const what = message.type === 'ack' ? `ack ${message.status}` : `result ${message.outcome}`;
  if (order === undefined) {
    logger.warn(`${what} for an unknown order ignored`, { agent: agentId, order: message.orderId });
    return;
  }
  // Logged once the batch holding the record has committed: the line means "recorded".
  const logged = async () => logger.info(what, { agent: agentId, order: message.orderId });
  if (fleet.batch === undefined) await logged();
  else fleet.batch.afterCommit.push(logged);
  metrics?.orderReported(
    order.kind,
    message.type,
    message.type === 'ack' ? message.status : message.outcome,
    (at.getTime() - order.createdAt.getTime()) / 1000,
  );
  if (message.type === 'result' && message.outcome === 'failed' && notifier !== undefined) {
    const failed: NotificationFact = {
      kind: 'order-failed',
      at: at.getTime(),
      run: fleet.state.run?.number ?? 0,
      drill: order.drill,
      host: order.host,
      stage: order.stage,
      error: message.error,
      exitCode: message.exitCode ?? null,
    };
    await db.transaction((tx) => notifier.publish(tx, [failed], at.getTime()));
    if (fleet.batch === undefined) notifier.kick();
    else fleet.batch.notified = true;
  }
  const run = fleet.state.run;
  const activeId = run === undefined ? undefined : await findRunId(db, fleet.batch?.runIds, run.number);
  if (activeId === undefined || order.runId !== activeId) return;
  if (order.kind === 'nut-fsd') {
    await nutFsdReport(fleet, activeId, order.host, message, at);
    return;
  }
  if (order.kind !== 'shutdown') {
    const detail =
      message.type === 'ack'
        ? message.status
        : `${message.outcome}${message.error ? `: ${message.error}` : ''}`;
    await addRunEvent(db, {
      runId: activeId,
      at,
      kind: `${order.kind}-${message.type}`,
      host: order.host,
      detail,
    });
    return;
  }
  await decideInput(fleet, reportInput(order.host, message));
}

/**
 * Records an ack or result; returns the order, or undefined if it does not exist or is another
 * agent's. Within a batch the order is read (once per batch) and the report joins the batch's
 * multi-row write just before the commit.
 */
async function recordReport(fleet: FleetContext, report: OrderReport): Promise<OrderRow | undefined> {
  const { batch, db } = fleet;
  if (batch === undefined) return report.type === 'ack' ? recordAck(db, report) : recordResult(db, report);
  let order = batch.orders.get(report.orderId);
  if (order === undefined) {
    order = await findOrder(db, report.orderId);
    if (order !== undefined) batch.orders.set(order.id, order);
  }
  if (order === undefined || order.agentId !== report.agentId) return undefined;
  batch.reports.push(report);
  return report.type === 'ack'
    ? { ...order, ackStatus: report.status, ackReason: report.reason ?? null, ackedAt: report.at }
    : {
        ...order,
        outcome: report.outcome,
        outcomeAt: report.at,
        exitCode: report.exitCode ?? null,
        output: report.output ?? null,
        error: report.error ?? null,
      };
}

/** A step of an order (a before hook, the shutdown command) for the run's timeline. */
export async function agentProgress(
  fleet: FleetContext,
  agentId: string,
  message: Extract<AgentMessage, { type: 'progress' }>,
): Promise<void> {
  const { clock, logger } = fleet.deps;
  const db = fleet.db;
  const order = await findOrder(db, message.orderId);
  if (order === undefined || order.agentId !== agentId) {
    logger.warn('progress for an unknown order ignored', { agent: agentId, order: message.orderId });
    return;
  }
  const detail = `${message.step}: ${message.state}${message.exitCode === undefined || message.exitCode === null ? '' : ` (exit ${message.exitCode})`}`;
  await addRunEvent(db, {
    runId: order.runId,
    at: new Date(clock.now()),
    kind: 'progress',
    host: order.host,
    detail,
  });
  logger.info(`${order.host}: ${detail}`, { order: order.id });
}

/**
 * A bridge's word on a legacy host's FSD: `accepted` = the host is shown FSD; result `succeeded` =
 * its NUT client logged out or went away after seeing FSD, which is how NUT itself counts a
 * secondary as shutting down (upsmon's primary waits for exactly that). Both go on the timeline; a
 * host whose client left counts as down, confirmed, as an agent's shutdown followed by its disconnect.
 */
async function nutFsdReport(
  fleet: FleetContext,
  runId: string,
  host: string,
  message: Extract<AgentMessage, { type: 'ack' | 'result' }>,
  at: Date,
): Promise<void> {
  const detail =
    message.type === 'ack'
      ? `${message.status}${message.reason ? `: ${message.reason}` : ''}`
      : `${message.outcome}${message.output ? `: ${message.output}` : ''}${message.error ? `: ${message.error}` : ''}`;
  await addRunEvent(fleet.db, { runId, at, kind: `nut-fsd-${message.type}`, host, detail });
  const left =
    message.type === 'result' && (message.outcome === 'started' || message.outcome === 'succeeded');
  // A legacy host has no agent connection: its NUT client leaving is its going away.
  if (left) applyConnection(fleet.connections, { kind: 'host-disconnected', host });
  await decideInput(fleet, reportInput(host, message));
}
