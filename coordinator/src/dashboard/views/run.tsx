/** The live timeline of the current (or last) run or drill, each host's order, and the outage's curve. */
import { formatOffset } from '../../core/plan-format.js';
import type { RunEventRow } from '../../db/queries/runs.js';
import { ago } from '../status-words.js';
import type { DashboardView, RunView } from '../view-model.js';
import { JsonData } from './json-data.js';

function entryText(entry: RunEventRow): string {
  const who = entry.stage ?? entry.host ?? '';
  const detail = entry.detail === null ? '' : ` (${entry.detail})`;
  switch (entry.kind) {
    case 'run-started':
      return `started${detail}`;
    case 'stage-fired':
      return `stage ${who} fired${detail}`;
    case 'stage-waiting':
      return `stage ${who} ${entry.detail ?? 'waits'}`;
    case 'stage-complete':
      return `stage ${who} complete`;
    case 'stage-cancelled':
      return `stage ${who} cancelled${detail}`;
    case 'order':
      return `order sent to ${entry.host ?? '?'}${entry.stage === null ? '' : ` (stage ${entry.stage})`}`;
    case 'host-down':
      return `${who} down${detail}`;
    case 'progress':
      return `${who}: ${entry.detail ?? ''}`;
    case 'run-ended':
      return `ended${detail}`;
    default:
      return `${entry.kind.replace(/-/g, ' ')} ${who}${detail}`;
  }
}

function orderState(order: RunView['orders'][number]): { text: string; tone: string } {
  if (order.outcome === 'drill')
    return order.error === null
      ? { text: 'checks passed', tone: 'ok' }
      : { text: 'checks failed', tone: 'bad' };
  if (order.outcome === 'succeeded') return { text: 'done', tone: 'ok' };
  if (order.outcome === 'failed') return { text: 'failed', tone: 'bad' };
  if (order.outcome === 'started') return { text: 'shutting down', tone: 'warn' };
  if (order.ackStatus === 'rejected') return { text: 'refused', tone: 'bad' };
  if (order.ackStatus !== null) return { text: 'acknowledged', tone: 'warn' };
  return { text: order.lastSentAt === null ? 'waiting for the host' : 'sent', tone: 'unknown' };
}

export function RunPanel(props: { view: DashboardView }) {
  const { run: current, now } = props.view;
  if (current === undefined) return <p class="muted">No outage or drill yet.</p>;
  const { run, timeline, orders, curve } = current;
  const start = run.startedAt.getTime();
  const down = new Set(timeline.filter((e) => e.kind === 'host-down').map((e) => e.host));
  const title = `${run.kind === 'drill' ? 'Drill' : 'Outage'} ${run.number ?? ''}`;
  return (
    <div class={`run run-${run.state}`} data-run={run.number ?? ''} data-state={run.state}>
      <p class="run-head">
        <b>{title}</b>{' '}
        <span class={run.state === 'active' ? 'badge tone-warn' : 'badge'}>
          {run.state === 'active' ? (run.phase === 'restoring' ? 'restoring' : 'in progress') : 'ended'}
        </span>{' '}
        <span class="muted small">
          started {ago(run.startedAt, now)}
          {run.reason === null ? '' : ` · ${run.reason}`}
          {run.endReason === null ? '' : ` · ended: ${run.endReason}`}
        </span>
      </p>
      <div class="run-body">
        <ol class="timeline" aria-label="Timeline">
          {timeline.map((entry) => (
            <li data-kind={entry.kind}>
              <time datetime={entry.at.toISOString()}>{formatOffset(entry.at.getTime() - start)}</time>{' '}
              {entryText(entry)}
            </li>
          ))}
        </ol>
        {curve === undefined ? null : (
          <div class="curve">
            <div class="chart" data-chart="curve" />
            <JsonData data={curve} />
          </div>
        )}
      </div>
      {orders.length === 0 ? null : (
        <div class="table-wrap">
          <table class="orders">
            <thead>
              <tr>
                <th>host</th>
                <th>stage</th>
                <th>state</th>
                <th>{run.kind === 'drill' ? 'checks' : 'detail'}</th>
              </tr>
            </thead>
            <tbody>
              {orders
                .filter((order) => order.kind === 'shutdown')
                .map((order) => {
                  const state = orderState(order);
                  const lines = [
                    ...(order.output?.split('\n') ?? []),
                    ...(order.error === null ? [] : [order.error]),
                  ];
                  return (
                    <tr data-order-host={order.host} data-order-state={state.text}>
                      <th scope="row">{order.host}</th>
                      <td>{order.stage}</td>
                      <td class={`tone-${down.has(order.host) ? 'ok' : state.tone}`}>
                        {down.has(order.host) && run.kind !== 'drill' ? 'down' : state.text}
                      </td>
                      <td class="small">
                        {lines.length === 0 ? (
                          <span class="muted">-</span>
                        ) : (
                          lines.map((line) => <div>{line}</div>)
                        )}
                      </td>
                    </tr>
                  );
                })}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
