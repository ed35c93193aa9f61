/** NUT accounts for the hosts a bridge serves (`upsfleet hosts nut-credentials NAME`). */
import { z } from 'zod';
import {
  HostName,
  NutCredentialsRemovedSchema,
  NutCredentialsSchema,
} from '../../../../../shared/src/admin-api.js';
import { ConflictError, NotFoundError } from '../../../../../shared/src/errors.js';
import { generateNutPassword, hashNutPassword } from '../../../../../shared/src/nut-password.js';
import { deleteNutCredential, putNutCredential } from '../../../db/queries/nut-credentials.js';
import { adminOperation } from './admin-operation.js';
import type { AdminDeps } from './deps.js';

const Body = z.strictObject({
  readOnly: z
    .boolean()
    .optional()
    .describe('A reader (dashboards, exporters): any name, never shown FSD before the UPS itself says it'),
});

/** `0.0.0.0:3493` cannot be dialled: the MONITOR line needs the bridge's own address then. */
function dialable(listen: string | undefined): string | undefined {
  if (listen === undefined) return undefined;
  return /^(0\.0\.0\.0|\[::\]|::):/.test(listen) ? undefined : listen;
}

export function nutOperations(deps: AdminDeps) {
  const { db } = deps;
  return [
    adminOperation(
      {
        method: 'post',
        path: '/hosts/:name/nut-credentials',
        operationId: 'hosts.nutCredentials',
        tag: 'fleet',
        access: 'admin',
        summary: 'Create a NUT account for a host served by a bridge, or replace its password',
        description:
          'The password is returned this once; only its hash is stored and sent to the bridge. For a host with `nut: { bridge }` in the policy, the answer includes the MONITOR line for its upsmon.conf.',
        params: z.strictObject({ name: HostName }),
        body: Body,
        responses: {
          200: { description: 'The account', schema: NutCredentialsSchema },
          409: { description: 'The host has no `nut: { bridge }` in the policy' },
        },
      },
      async (c, { params, body }) => {
        const readOnly = body.readOnly === true;
        const host = deps.fleet.policy?.hosts.get(params.name);
        const bridge = host?.nut?.bridge;
        if (!readOnly && (host === undefined || bridge === undefined))
          throw new ConflictError(
            `"${params.name}" is not a host with nut: { bridge: AGENT } in the policy (a reader takes readOnly: true)`,
          );
        const password = generateNutPassword();
        await putNutCredential(db, {
          username: params.name,
          host: readOnly ? null : params.name,
          passwordHash: await hashNutPassword(password),
          at: new Date(deps.clock.now()),
        });
        await deps.fleet.nutCredentialsChanged();
        deps.logger.info('NUT account set', { account: params.name, readOnly, by: c.get('principal').name });
        const ups = readOnly || host === undefined ? null : (host.nut?.alias ?? host.ups[0] ?? null);
        const address = bridge === undefined ? undefined : dialable(deps.fleet.bridgeListen(bridge));
        return c.json({
          username: params.name,
          password,
          host: readOnly ? null : params.name,
          ups,
          bridge: readOnly ? null : (bridge ?? null),
          address: address ?? null,
          monitor:
            ups === null || address === undefined
              ? null
              : `MONITOR ${ups}@${address} 1 ${params.name} ${password} secondary`,
        });
      },
    ),
    adminOperation(
      {
        method: 'delete',
        path: '/hosts/:name/nut-credentials',
        operationId: 'hosts.nutCredentialsRemove',
        tag: 'fleet',
        access: 'admin',
        summary: 'Remove a NUT account',
        params: z.strictObject({ name: HostName }),
        responses: {
          200: { description: 'Removed', schema: NutCredentialsRemovedSchema },
          404: { description: 'No such account' },
        },
      },
      async (c, { params }) => {
        if (!(await deleteNutCredential(db, params.name)))
          throw new NotFoundError(`no NUT account named "${params.name}"`);
        await deps.fleet.nutCredentialsChanged();
        return c.json({ removed: params.name });
      },
    ),
  ];
}
