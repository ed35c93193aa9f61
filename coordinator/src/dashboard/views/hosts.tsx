/** The hosts: connected or not, stage, what it reads itself, its offline rule, its last drill. */
import { ago } from '../status-words.js';
import type { DashboardView } from '../view-model.js';

export function HostsTable(props: { view: DashboardView }) {
  const { hosts, now } = props.view;
  if (hosts.length === 0) return <p class="muted">No hosts yet: enroll one, then list it in the policy.</p>;
  const connected = hosts.filter((h) => h.connected).length;
  return (
    <>
      <p class="muted small">
        {connected} of {hosts.length} connected
      </p>
      <div class="table-wrap">
        <table class="hosts">
          <thead>
            <tr>
              <th>host</th>
              <th>connection</th>
              <th>stage</th>
              <th>fed by</th>
              <th>reads itself</th>
              <th>offline rule</th>
              <th>last drill</th>
            </tr>
          </thead>
          <tbody>
            {hosts.map((host) => (
              <tr data-host={host.name}>
                <th scope="row">{host.name}</th>
                <td class={host.connected ? 'tone-ok' : host.enrolled ? 'tone-bad' : 'tone-unknown'}>
                  <span class="dot" />{' '}
                  {host.connected
                    ? 'connected'
                    : host.enrolled
                      ? `offline${host.lastSeenAt === null ? '' : `, seen ${ago(host.lastSeenAt, now)}`}`
                      : 'not enrolled'}
                </td>
                <td>{host.stage ?? <span class="muted">in no stage</span>}</td>
                <td>{host.ups.join(', ') || <span class="muted">-</span>}</td>
                <td>{host.ownReading ?? <span class="muted">-</span>}</td>
                <td class="small">{host.offlineRule ?? <span class="muted">-</span>}</td>
                <td class={host.lastDrill === undefined ? '' : host.lastDrill.ok ? 'tone-ok' : 'tone-bad'}>
                  {host.lastDrill === undefined ? (
                    <span class="muted">never</span>
                  ) : (
                    <>
                      {host.lastDrill.ok ? 'passed' : 'failed'}{' '}
                      <span class="muted small">
                        {ago(host.lastDrill.at, now)} · {host.lastDrill.text}
                      </span>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
