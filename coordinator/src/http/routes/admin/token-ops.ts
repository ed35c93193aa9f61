/** API tokens: named, scoped, optionally expiring; the secret is shown once and only its hash kept. */
import { z } from 'zod';
import {
  ListOf,
  PositiveDuration,
  TokenCreatedSchema,
  TokenRevokedSchema,
  TokenSchema,
} from '../../../../../shared/src/admin-api.js';
import { parseDuration } from '../../../../../shared/src/duration.js';
import { ConflictError, NotFoundError } from '../../../../../shared/src/errors.js';
import { createApiToken, listApiTokens, revokeApiToken, SCOPES } from '../../../db/queries/api-tokens.js';
import { generateSecret, hashSecret } from '../../../secrets.js';
import { adminOperation } from './admin-operation.js';
import type { AdminDeps } from './deps.js';

const TokenName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'lower-case letters, digits, ".", "_" or "-" (at most 63)')
  .describe('A name saying who or what uses it, e.g. grafana or ci-drill');

const CreateTokenBody = z.strictObject({
  name: TokenName,
  scopes: z
    .array(z.enum(SCOPES))
    .min(1)
    .describe(
      'read: look; write: act (policy, drills, enrollments, revocations); admin: tokens, audit, keys',
    ),
  expiresIn: PositiveDuration('30d, 12h or 90m')
    .optional()
    .describe('Lifetime (e.g. 90d); no expiry when omitted'),
});

export function tokenOperations(deps: AdminDeps) {
  const { db } = deps;
  return [
    adminOperation(
      {
        method: 'get',
        path: '/tokens',
        operationId: 'tokens.list',
        tag: 'access',
        access: 'admin',
        summary: 'API tokens (never their secrets)',
        responses: {
          200: { description: 'Every token, revoked ones included', schema: ListOf(TokenSchema) },
        },
      },
      async (c) => c.json({ items: await listApiTokens(db) }),
    ),
    adminOperation(
      {
        method: 'post',
        path: '/tokens',
        operationId: 'tokens.create',
        tag: 'access',
        access: 'admin',
        summary: 'Create an API token',
        body: CreateTokenBody,
        responses: {
          201: {
            description: 'The token; `token` is shown this once',
            schema: TokenCreatedSchema,
          },
          409: { description: 'A token with this name exists (names are never reused)' },
        },
      },
      async (c, { body }) => {
        c.set('auditTarget', body.name);
        const secret = generateSecret('ufa');
        const now = deps.clock.now();
        const created = await createApiToken(db, {
          name: body.name,
          tokenHash: hashSecret(secret),
          scopes: [...new Set(body.scopes)],
          createdBy: c.get('principal').name,
          expiresAt: body.expiresIn === undefined ? null : new Date(now + parseDuration(body.expiresIn)),
        });
        if (created === undefined)
          throw new ConflictError(
            `a token named "${body.name}" exists (also when revoked): choose another name`,
          );
        return c.json({ ...created, token: secret }, 201);
      },
    ),
    adminOperation(
      {
        method: 'delete',
        path: '/tokens/:name',
        operationId: 'tokens.revoke',
        tag: 'access',
        access: 'admin',
        summary: 'Revoke an API token',
        description: 'Refused for the last usable admin token, so that nobody is locked out.',
        params: z.strictObject({ name: z.string().min(1).max(63) }),
        responses: {
          200: { description: 'Revoked', schema: TokenRevokedSchema },
          404: { description: 'No usable token with this name' },
          409: { description: 'It is the last admin token' },
        },
      },
      async (c, { params }) => {
        const outcome = await revokeApiToken(db, params.name, new Date(deps.clock.now()));
        if (outcome === 'not-found') throw new NotFoundError(`no usable token named "${params.name}"`);
        if (outcome === 'last-admin')
          throw new ConflictError(
            `"${params.name}" is the last admin token: create another admin token first`,
          );
        deps.logger.warn('API token revoked', { token: params.name, by: c.get('principal').name });
        return c.json({ revoked: params.name });
      },
    ),
  ];
}
