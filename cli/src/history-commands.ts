/** `upsfleet events [--follow]`, `upsfleet runs [RUN]`, `upsfleet audit`. */
import type { z } from 'zod';
import {
  AuditEntrySchema,
  EventsPageSchema,
  pageSchema,
  RunDetailSchema,
  RunSchema,
  UpsEventSchema,
} from '../../shared/src/admin-api.js';
import { formatTable } from '../../shared/src/text-table.js';
import { type CliContext, str, timelineLine } from './cli-context.js';
import { followStream } from './follow-stream.js';

const time = (iso: string | null) => (iso === null ? '-' : iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z'));

function eventLine(e: z.output<typeof UpsEventSchema>): string[] {
  const vars = e.vars;
  const battery = [
    vars['battery.charge'] === undefined ? undefined : `${vars['battery.charge']}%`,
    vars['battery.runtime'] === undefined ? undefined : `${vars['battery.runtime']}s`,
  ].filter(Boolean);
  return [
    time(e.observedAt),
    e.ups,
    e.events.join(',') || '-',
    e.status === null ? 'unknown' : e.status.join(' '),
    battery.join(' ') || '-',
    `${e.host}#${e.seq}${e.dead ? ' DEAD' : ''}${e.dropped > 0 ? ` (${e.dropped} dropped)` : ''}`,
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
  const page = await ctx.client.get(`/api/v1/events?${query}`, EventsPageSchema);
  if (!flags.follow) {
    ctx.out(page, () =>
      page.items.length === 0
        ? 'No events.'
        : formatTable(EVENT_HEADERS, page.items.map(eventLine)) +
          (page.next === null ? '' : `\n(more: --json shows the "next" cursor)`),
    );
    return 0;
  }
  // Following: the latest page oldest first, then each new event from the live stream, resumed
  // right after the newest one shown (nothing is missed between the two).
  const print = (items: readonly z.output<typeof UpsEventSchema>[]) => {
    for (const item of items)
      ctx.write(ctx.json ? `${JSON.stringify(item)}\n` : `${eventLine(item).join('  ')}\n`);
  };
  if (!ctx.json) ctx.write(`${EVENT_HEADERS.join('  ')}\n`);
  print([...page.items].reverse());
  const newest = page.items.reduce((max, item) => Math.max(max, item.id), 0);
  const wanted = (event: z.output<typeof UpsEventSchema>) =>
    (flags.ups === undefined || event.ups === flags.ups) &&
    (flags.host === undefined || event.host === flags.host) &&
    (flags.type === undefined || event.events.includes(flags.type.toUpperCase()));
  const stop = new AbortController();
  void ctx.interrupted().then(() => stop.abort());
  let dropped = false;
  await followStream(
    ctx.client,
    {
      topics: ['ups'],
      after: page.items.length === 0 ? undefined : `${newest}.0`,
      signal: stop.signal,
      onDrop: () => {
        if (!dropped && !ctx.json)
          process.stderr.write('(connection to the coordinator lost: reconnecting…)\n');
        dropped = true;
      },
    },
    (message) => {
      if (message.event !== 'ups') return false;
      dropped = false;
      const event = UpsEventSchema.parse((JSON.parse(message.data) as { event: unknown }).event);
      if (wanted(event)) print([event]);
      return false;
    },
  );
  return 0;
}

export async function runsCommand(ctx: CliContext, id: string | undefined, limit?: string): Promise<number> {
  if (id !== undefined) {
    const run = await ctx.client.get(`/api/v1/runs/${encodeURIComponent(id)}`, RunDetailSchema);
    ctx.out(run, () =>
      [
        `${run.kind === 'drill' ? 'Drill' : 'Run'} ${str(run.number)} (${run.id}): ${str(run.reason)}`,
        `  ${run.state}${run.state === 'active' ? ` (${run.phase})` : ''}, started ${time(run.startedAt)}${run.endedAt === null ? '' : `, ended ${time(run.endedAt)}: ${str(run.endReason)}`}`,
        '',
        'Timeline:',
        ...run.timeline.map((event) => `  ${timelineLine(event, time)}`),
        '',
        run.orders.length === 0
          ? 'No orders.'
          : formatTable(
              ['STAGE', 'HOST', 'KIND', 'ACK', 'OUTCOME', 'EXIT', 'ERROR'],
              run.orders.map((o) => [
                o.stage,
                o.host,
                o.kind,
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
  const page = await ctx.client.get(
    `/api/v1/runs${limit === undefined ? '' : `?limit=${limit}`}`,
    pageSchema(RunSchema),
  );
  ctx.out(page, () =>
    page.items.length === 0
      ? 'No runs yet.'
      : formatTable(
          ['RUN', 'KIND', 'STATE', 'STARTED', 'REASON', 'STAGES FIRED', 'END'],
          page.items.map((r) => [
            str(r.number),
            r.kind,
            r.state === 'active' ? `active (${r.phase})` : r.state,
            time(r.startedAt),
            str(r.reason),
            r.firedStages.join(',') || '-',
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
  const page = await ctx.client.get(`/api/v1/audit?${query}`, pageSchema(AuditEntrySchema));
  ctx.out(page, () =>
    formatTable(
      ['WHEN', 'WHO', 'WHAT', 'TARGET', 'STATUS', 'FROM'],
      page.items.map((e) => [time(e.at), e.actor, e.action, str(e.target), String(e.status), str(e.remote)]),
    ),
  );
  return 0;
}
