/** `upsfleet hosts`: the table of agents, then what each host reads from its own upsd. */
import type { z } from 'zod';
import type { HostSchema } from '../../shared/src/admin-api.js';
import { formatTable } from '../../shared/src/text-table.js';
import { ago } from './cli-context.js';

type Host = z.output<typeof HostSchema>;

/** "web1 sees nas-ups OB, 3s ago"; a reading error is said as such, never as battery. */
export function hostSeesLines(host: Host, now: number): string[] {
  if (host.sees === undefined) return [];
  const lines = host.sees.readings.map((reading) => {
    const when = ago(reading.readAt, now);
    if (reading.status === null)
      return `${host.name} cannot read ${reading.ups}: ${reading.error ?? 'unknown error'} (${when})`;
    const dead = reading.dead ? ' (lost while on battery)' : '';
    return `${host.name} sees ${reading.ups} ${reading.status.join(' ')}${dead}, ${when}`;
  });
  for (const warning of host.sees.warnings) lines.push(`${host.name} warning: ${warning}`);
  return lines;
}

export function hostsText(items: readonly Host[], now: number): string {
  const table = formatTable(
    ['NAME', 'STATUS', 'CONNECTED', 'LAST SEEN', 'ID'],
    items.map((h) => [h.name, h.status, h.connected ? 'yes' : 'no', ago(h.lastSeenAt, now), h.id]),
  );
  const sees = items.flatMap((host) => hostSeesLines(host, now));
  return sees.length === 0 ? table : `${table}\n\n${sees.join('\n')}`;
}
