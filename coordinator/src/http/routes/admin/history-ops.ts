/** What happened: UPS events, runs and their timelines, orders, and the audit log. All paginated. */
import { z } from 'zod';
import {
  AuditEntrySchema,
  EventsPageSchema,
  OrderSchema,
  pageSchema,
  RunDetailSchema,
  RunSchema,
} from '../../../../../shared/src/admin-api.js';
import { NotFoundError } from '../../../../../shared/src/errors.js';
import { NameSchema } from '../../../../../shared/src/protocol.js';
import { listAudit } from '../../../db/queries/audit.js';
import { listOrders, type OrderRow } from '../../../db/queries/orders.js';
import { findRun, findRunByNumber, listRunEvents, listRuns } from '../../../db/queries/runs.js';
import { latestUpsEventId, listUpsEvents } from '../../../db/queries/ups-events.js';
import { decodeCursor, encodeCursor, PageQuery, pageOf } from '../../cursor.js';
import { adminOperation } from './admin-operation.js';
import type { AdminDeps } from './deps.js';

const Time = z.iso.datetime({ offset: true }).describe('ISO 8601, e.g. 2026-11-24T08:00:00Z');

const EventsQuery = z.strictObject({
  ...PageQuery,
  ups: NameSchema.optional().describe('Only this UPS'),
  host: NameSchema.optional().describe('Only events reported by this watcher host'),
  type: z
    .string()
    .regex(/^[A-Z]+$/, 'a NUT event name in capitals, e.g. ONBATT')
    .optional()
    .describe('Only events that include this NUT event (ONBATT, ONLINE, LOWBATT, FSD, COMMBAD, …)'),
  since: Time.optional().describe('Observed at or after'),
  until: Time.optional().describe('Observed before'),
  after: z
    .string()
    .max(200)
    .optional()
    .describe('Follow: only events newer than this `head` cursor, oldest first'),
});

const RunsQuery = z.strictObject({
  ...PageQuery,
  kind: z.enum(['outage', 'drill']).optional(),
});

const OrdersQuery = z.strictObject({
  ...PageQuery,
  run: z.uuid().optional().describe('Only this run'),
  host: z.string().min(1).max(100).optional().describe('Only orders for this host (or UPS, for power-off)'),
});

const AuditQuery = z.strictObject({
  ...PageQuery,
  actor: z.string().min(1).max(100).optional().describe('Only changes made with this token'),
  action: z.string().min(1).max(100).optional().describe('Only this operation, e.g. policy.apply'),
});

function publicOrder(order: OrderRow) {
  const { token: _token, ...rest } = order;
  return rest;
}

export function historyOperations(deps: AdminDeps) {
  const { db } = deps;
  return [
    adminOperation(
      {
        method: 'get',
        path: '/events',
        operationId: 'events.list',
        tag: 'history',
        access: 'read',
        summary: 'UPS events as the watchers reported them',
        description:
          "Newest first, filtered by UPS, host, event type and time. To follow, keep passing the answer's `head` as `after`: those answers list only newer events, oldest first.",
        query: EventsQuery,
        responses: { 200: { description: 'A page of events', schema: EventsPageSchema } },
      },
      async (c, { query }) => {
        const filter = {
          ...(query.ups === undefined ? {} : { ups: query.ups }),
          ...(query.host === undefined ? {} : { host: query.host }),
          ...(query.type === undefined ? {} : { type: query.type }),
          ...(query.since === undefined ? {} : { since: new Date(query.since) }),
          ...(query.until === undefined ? {} : { until: new Date(query.until) }),
        };
        if (query.after !== undefined) {
          const afterId = decodeCursor('events-head', query.after);
          const items = await listUpsEvents(db, { ...filter, afterId, limit: query.limit });
          const head = encodeCursor('events-head', items.at(-1)?.id ?? afterId);
          return c.json({ items, next: null, head });
        }
        // The head is read first and the page stops there: an event stored meanwhile is seen by
        // the next `after` call, never lost between the two.
        const latest = await latestUpsEventId(db);
        const cursor = query.cursor === undefined ? undefined : decodeCursor('events', query.cursor);
        const beforeId = Math.min(cursor ?? Number.POSITIVE_INFINITY, latest + 1);
        const rows = await listUpsEvents(db, { ...filter, beforeId, limit: query.limit + 1 });
        return c.json({
          ...pageOf('events', rows, query.limit, (row) => row.id),
          head: encodeCursor('events-head', latest),
        });
      },
    ),
    adminOperation(
      {
        method: 'get',
        path: '/runs',
        operationId: 'runs.list',
        tag: 'runs',
        access: 'read',
        summary: 'Outages and drills, newest first',
        query: RunsQuery,
        responses: { 200: { description: 'A page of runs', schema: pageSchema(RunSchema) } },
      },
      async (c, { query }) => {
        const beforeNumber = query.cursor === undefined ? undefined : decodeCursor('runs', query.cursor);
        const rows = await listRuns(db, {
          limit: query.limit + 1,
          ...(beforeNumber === undefined ? {} : { beforeNumber }),
          ...(query.kind === undefined ? {} : { kind: query.kind }),
        });
        return c.json(pageOf('runs', rows, query.limit, (row) => row.number ?? 0));
      },
    ),
    adminOperation(
      {
        method: 'get',
        path: '/runs/:id',
        operationId: 'runs.get',
        tag: 'runs',
        access: 'read',
        summary: 'One run: its orders and its timeline',
        params: z.strictObject({
          id: z
            .string()
            .regex(/^([0-9]+|[0-9a-f-]{36})$/i, 'a run id (uuid) or run number')
            .describe('The run id, or its number'),
        }),
        responses: {
          200: { description: 'The run', schema: RunDetailSchema },
          404: { description: 'No such run' },
        },
      },
      async (c, { params }) => {
        const run = /^[0-9]+$/.test(params.id)
          ? await findRunByNumber(db, Number(params.id))
          : z.uuid().safeParse(params.id).success
            ? await findRun(db, params.id)
            : undefined;
        if (run === undefined) throw new NotFoundError(`no run ${params.id}`);
        return c.json({
          ...run,
          orders: (await listOrders(db, { runId: run.id })).map(publicOrder),
          timeline: await listRunEvents(db, run.id),
        });
      },
    ),
    adminOperation(
      {
        method: 'get',
        path: '/orders',
        operationId: 'orders.list',
        tag: 'runs',
        access: 'read',
        summary: 'Signed orders sent to hosts, oldest first, with their acks and results',
        query: OrdersQuery,
        responses: { 200: { description: 'A page of orders', schema: pageSchema(OrderSchema) } },
      },
      async (c, { query }) => {
        const offset = query.cursor === undefined ? 0 : decodeCursor('orders', query.cursor);
        const rows = await listOrders(db, {
          ...(query.run === undefined ? {} : { runId: query.run }),
          ...(query.host === undefined ? {} : { host: query.host }),
          offset,
          limit: query.limit + 1,
        });
        const page = pageOf('orders', rows.map(publicOrder), query.limit, () => offset + query.limit);
        return c.json(page);
      },
    ),
    adminOperation(
      {
        method: 'get',
        path: '/audit',
        operationId: 'audit.list',
        tag: 'history',
        access: 'admin',
        summary: 'Every change made through the API: who, what, when, and how it was answered',
        query: AuditQuery,
        responses: { 200: { description: 'A page of the audit log', schema: pageSchema(AuditEntrySchema) } },
      },
      async (c, { query }) => {
        const beforeId = query.cursor === undefined ? undefined : decodeCursor('audit', query.cursor);
        const rows = await listAudit(db, {
          limit: query.limit + 1,
          ...(beforeId === undefined ? {} : { beforeId }),
          ...(query.actor === undefined ? {} : { actor: query.actor }),
          ...(query.action === undefined ? {} : { action: query.action }),
        });
        return c.json(pageOf('audit', rows, query.limit, (row) => row.id));
      },
    ),
  ];
}
