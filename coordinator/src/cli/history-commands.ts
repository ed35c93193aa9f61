/** `upsfleet events [--follow]`, `upsfleet runs [RUN]`, `upsfleet audit`. */
import { type CliContext, type Item, pause, str, timelineLine } from './cli-context.js';
import { formatTable } from './table.js';

type Page = { items: Item[]; next: string | null; head?: string };

const time = (iso: unknown) =>
  typeof iso === 'string' ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-';

function eventLine(e: Item): string[] {
  const vars = (e.vars ?? {}) as Record<string, string>;
  const battery = [
    vars['battery.charge'] === undefined ? undefined : `${vars['battery.charge']}%`,
    vars['battery.runtime'] === undefined ? undefined : `${vars['battery.runtime']}s`,
  ].filter(Boolean);
  return [
    time(e.observedAt),
    str(e.ups),
    (e.events as string[]).join(',') || '-',
    Array.isArray(e.status) ? e.status.join(' ') : 'unknown',
    battery.join(' ') || '-',
    `${str(e.host)}#${str(e.seq)}${e.dead ? ' DEAD' : ''}${Number(e.dropped) > 0 ? ` (${str(e.dropped)} dropped)` : ''}`,
  ];
}
const EVENT_HEADERS = ['OBSERVED', 'UPS', 'EVENTS', 'STATUS', 'BATTERY', 'FROM'];

export interface EventsFlags {
  readonly follow: boolean;
  readonly ups?: string | undefined;
  readonly host?: string | undefined;
  readonly type?: string | undefined;
  readonly since?: string | undefined;
  readonly limit?: string | undefined;
  readonly pollMs?: number;
}

/** Events newest first (a page); with --follow, then every new one as it arrives, until Ctrl-C. */
export async function eventsCommand(ctx: CliContext, flags: EventsFlags): Promise<number> {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries({
    ups: flags.ups,
    host: flags.host,
    type: flags.type?.toUpperCase(),
    since: flags.since,
    limit: flags.limit ?? (flags.follow ? '20' : undefined),
  }))
    if (value !== undefined) query.set(key, value);
  const page = await ctx.client.get<Page>(`/api/v1/events?${query}`);
  if (!flags.follow) {
    ctx.out(page, () =>
      page.items.length === 0
        ? 'No events.'
        : formatTable(EVENT_HEADERS, page.items.map(eventLine)) +
          (page.next === null ? '' : `\n(more: --json shows the "next" cursor)`),
    );
    return 0;
  }
  // Following: the latest page oldest first, then only what is newer than the head.
  const print = (items: Item[]) => {
    for (const item of items)
      ctx.write(ctx.json ? `${JSON.stringify(item)}\n` : `${eventLine(item).join('  ')}\n`);
  };
  if (!ctx.json) ctx.write(`${EVENT_HEADERS.join('  ')}\n`);
  print([...page.items].reverse());
  let head = page.head as string;
  query.delete('limit');
  for (;;) {
    if (await pause(ctx, flags.pollMs ?? 1_000)) return 0;
    query.set('after', head);
    const newer = await ctx.client.get<Page>(`/api/v1/events?${query}`);
    print(newer.items);
    head = newer.head ?? head;
  }
}

export async function runsCommand(ctx: CliContext, id: string | undefined, limit?: string): Promise<number> {
  if (id !== undefined) {
    const run = await ctx.client.get<Item & { orders: Item[]; timeline: Item[] }>(
      `/api/v1/runs/${encodeURIComponent(id)}`,
    );
    ctx.out(run, () =>
      [
        `${run.kind === 'drill' ? 'Drill' : 'Run'} ${str(run.number)} (${str(run.id)}): ${str(run.reason)}`,
        `  ${str(run.state)}${run.state === 'active' ? ` (${str(run.phase)})` : ''}, started ${time(run.startedAt)}${run.endedAt ? `, ended ${time(run.endedAt)}: ${str(run.endReason)}` : ''}`,
        '',
        'Timeline:',
        ...run.timeline.map((event) => `  ${timelineLine(event, time)}`),
        '',
        run.orders.length === 0
          ? 'No orders.'
          : formatTable(
              ['STAGE', 'HOST', 'KIND', 'ACK', 'OUTCOME', 'EXIT', 'ERROR'],
              run.orders.map((o) => [
                str(o.stage),
                str(o.host),
                str(o.kind),
                str(o.ackStatus),
                str(o.outcome),
                str(o.exitCode),
                str(o.error ?? o.ackReason),
              ]),
            ),
      ].join('\n'),
    );
    return 0;
  }
  const page = await ctx.client.get<Page>(`/api/v1/runs${limit === undefined ? '' : `?limit=${limit}`}`);
  ctx.out(page, () =>
    page.items.length === 0
      ? 'No runs yet.'
      : formatTable(
          ['RUN', 'KIND', 'STATE', 'STARTED', 'REASON', 'STAGES FIRED', 'END'],
          page.items.map((r) => [
            str(r.number),
            str(r.kind),
            r.state === 'active' ? `active (${str(r.phase)})` : str(r.state),
            time(r.startedAt),
            str(r.reason),
            (r.firedStages as string[]).join(',') || '-',
            str(r.endReason),
          ]),
        ),
  );
  return 0;
}

export async function auditCommand(
  ctx: CliContext,
  flags: { actor?: string | undefined; limit?: string | undefined },
) {
  const query = new URLSearchParams();
  if (flags.actor !== undefined) query.set('actor', flags.actor);
  if (flags.limit !== undefined) query.set('limit', flags.limit);
  const page = await ctx.client.get<Page>(`/api/v1/audit?${query}`);
  ctx.out(page, () =>
    formatTable(
      ['WHEN', 'WHO', 'WHAT', 'TARGET', 'STATUS', 'FROM'],
      page.items.map((e) => [
        time(e.at),
        str(e.actor),
        str(e.action),
        str(e.target),
        str(e.status),
        str(e.remote),
      ]),
    ),
  );
  return 0;
}
