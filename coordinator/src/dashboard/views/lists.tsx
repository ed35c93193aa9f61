/** Recent UPS events and the notification channels' health. */
import { ago } from '../status-words.js';
import type { DashboardView } from '../view-model.js';

export function RecentEvents(props: { view: DashboardView }) {
  const { events, now } = props.view;
  if (events.length === 0) return <p class="muted">No UPS events yet.</p>;
  return (
    <ol class="events">
      {events.map((event) => (
        <li>
          <time datetime={event.observedAt.toISOString()}>{ago(event.observedAt, now)}</time>{' '}
          <b>{event.ups}</b> <code>{event.status?.join(' ') ?? 'unknown'}</code>
          {event.events.length === 0 ? '' : ` ${event.events.join(', ')}`}
          {event.dead ? ' dead' : ''}
          {typeof (event.vars as Record<string, string>)['battery.charge'] === 'string'
            ? ` · ${(event.vars as Record<string, string>)['battery.charge']} %`
            : ''}
          <span class="muted small"> via {event.host}</span>
        </li>
      ))}
    </ol>
  );
}

export function Channels(props: { view: DashboardView }) {
  const { channels } = props.view;
  if (channels.length === 0)
    return (
      <p class="muted">
        No notification channels: <code>upsfleet notify apply</code>
      </p>
    );
  return (
    <ul class="channels">
      {channels.map((channel) => (
        <li class={channel.failing ? 'tone-bad' : 'tone-ok'}>
          <span class="dot" /> <b>{channel.name}</b>{' '}
          {channel.failing
            ? `failing (${channel.consecutiveFailures} in a row${channel.lastError === null ? '' : `: ${channel.lastError}`})`
            : 'working'}
          {channel.pending === 0 ? '' : ` · ${channel.pending} waiting`}
        </li>
      ))}
    </ul>
  );
}
