/** Notification channels: where messages go (WeChat Work, Slack, Discord, Telegram, ntfy, webhook) and which. */
import { z } from 'zod';
import {
  ChannelRemovedSchema,
  ChannelTestSchema,
  ChannelViewSchema,
  ListOf,
} from '../../../../../shared/src/admin-api.js';
import { NotFoundError, ProtocolError } from '../../../../../shared/src/errors.js';
import { deleteChannel, findChannel, listChannels } from '../../../db/queries/notifications.js';
import { ChannelInputSchema, ChannelPatchSchema, splitChannelInput } from '../../../notify/channels.js';
import type { Delivery } from '../../../notify/delivery.js';
import { NOTIFICATION_KINDS } from '../../../notify/facts.js';
import { maskChannel } from '../../../notify/masking.js';
import { createChannel, updateChannel } from '../../../notify/outbox.js';
import { adminOperation } from './admin-operation.js';
import type { AdminDeps } from './deps.js';

const ChannelName = z.strictObject({
  name: z.string().min(1).max(63).describe('The channel name'),
});

function checkKinds(events: readonly string[] | undefined): void {
  const unknown = (events ?? []).filter((kind) => !(NOTIFICATION_KINDS as readonly string[]).includes(kind));
  if (unknown.length > 0)
    throw new ProtocolError(
      `unknown event kinds: ${unknown.join(', ')}; known: ${NOTIFICATION_KINDS.join(', ')}`,
      { details: { errors: unknown.map((kind) => `events: unknown kind "${kind}"`) } },
    );
}

export function notificationOperations(
  deps: AdminDeps & { notifier: { testChannel: Delivery['testChannel'] } },
) {
  const { db } = deps;
  const now = () => new Date(deps.clock.now());
  const path = '/notifications/channels';
  return [
    adminOperation(
      {
        method: 'get',
        path,
        operationId: 'notifications.list',
        tag: 'notifications',
        access: 'read',
        summary: 'Notification channels, their routing and delivery health',
        responses: {
          200: { description: 'Every channel', schema: ListOf(ChannelViewSchema) },
        },
      },
      async (c) => c.json({ items: (await listChannels(db)).map(maskChannel) }),
    ),
    adminOperation(
      {
        method: 'put',
        path: `${path}/:name`,
        operationId: 'notifications.put',
        tag: 'notifications',
        access: 'write',
        summary: 'Create or replace a channel',
        description:
          'The whole definition: type, settings (URLs, tokens, secrets) and routing. `events` lists the kinds ' +
          `to send (empty: all): ${NOTIFICATION_KINDS.join(', ')}. \`ups\` and \`hosts\` narrow it further, like NUT's NOTIFYFLAG per channel.`,
        params: ChannelName,
        body: ChannelInputSchema,
        responses: {
          200: { description: 'Replaced', schema: ChannelViewSchema },
          201: { description: 'Created', schema: ChannelViewSchema },
        },
      },
      async (c, { params, body }) => {
        if (body.name !== params.name)
          throw new ProtocolError(`the body names "${body.name}" but the path "${params.name}"`);
        checkKinds(body.events);
        const existing = await findChannel(db, params.name);
        if (existing === undefined) return c.json(maskChannel(await createChannel(db, body, now())), 201);
        const { name: _name, ...changes } = splitChannelInput(body);
        const row = await updateChannel(db, params.name, changes, now());
        if (row === undefined) throw new NotFoundError(`no notification channel "${params.name}"`);
        return c.json(maskChannel(row));
      },
    ),
    adminOperation(
      {
        method: 'patch',
        path: `${path}/:name`,
        operationId: 'notifications.patch',
        tag: 'notifications',
        access: 'write',
        summary: 'Change routing or enable/disable a channel (settings stay as they are)',
        params: ChannelName,
        body: ChannelPatchSchema,
        responses: {
          200: { description: 'Changed', schema: ChannelViewSchema },
          404: { description: 'No such channel' },
        },
      },
      async (c, { params, body }) => {
        checkKinds(body.events);
        const row = await updateChannel(
          db,
          params.name,
          Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined)),
          now(),
        );
        if (row === undefined) throw new NotFoundError(`no notification channel "${params.name}"`);
        return c.json(maskChannel(row));
      },
    ),
    adminOperation(
      {
        method: 'delete',
        path: `${path}/:name`,
        operationId: 'notifications.delete',
        tag: 'notifications',
        access: 'write',
        summary: 'Remove a channel and its undelivered messages',
        params: ChannelName,
        responses: {
          200: { description: 'Removed', schema: ChannelRemovedSchema },
          404: { description: 'No such channel' },
        },
      },
      async (c, { params }) => {
        if (!(await deleteChannel(db, params.name)))
          throw new NotFoundError(`no notification channel "${params.name}"`);
        return c.json({ removed: params.name });
      },
    ),
    adminOperation(
      {
        method: 'post',
        path: `${path}/:name/test`,
        operationId: 'notifications.test',
        tag: 'notifications',
        access: 'write',
        summary: 'Send a test message now and say whether it arrived',
        params: ChannelName,
        responses: {
          200: {
            description: 'What the chat service answered',
            schema: ChannelTestSchema,
          },
          404: { description: 'No such channel' },
        },
      },
      async (c, { params }) => c.json(await deps.notifier.testChannel(params.name)),
    ),
  ];
}
