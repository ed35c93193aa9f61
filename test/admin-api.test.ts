/**
 * The admin surface over HTTP, in memory: the OpenAPI document against the routes actually served,
 * responses against their documented schemas, scoped tokens, the audit log, cursor pagination,
 * bad input, and the failed-authentication throttle.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AGENT_WS_PATH } from '../coordinator/src/ws/session-core.js';
import {
  AuditEntrySchema,
  HostSchema,
  RunDetailSchema,
  StatusSchema,
  TokenSchema,
  UpsEventSchema,
} from '../shared/src/admin-api.js';
import type { NotifyEvent } from '../shared/src/protocol.js';
import type { SigningKeyPair } from '../shared/src/signing.js';
import { signUpsEvent } from '../shared/src/tokens.js';
import {
  createTestCoordinator,
  type EnrolledAgent,
  type TestCoordinator,
} from './helpers/coordinator-app.js';

let t: TestCoordinator;
beforeAll(async () => {
  t = await createTestCoordinator();
});
afterAll(async () => {
  await t.close();
});

async function json(response: Response, status: number): Promise<Record<string, unknown>> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return JSON.parse(text) as Record<string, unknown>;
}

async function problem(response: Response, status: number): Promise<{ detail: string; errors?: string[] }> {
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  return (await json(response, status)) as { detail: string; errors?: string[] };
}

/** An admin call with `token` instead of the bootstrap token. */
const as = (token: string, method: string, path: string, body?: unknown) =>
  t.admin(method, path, body, token);

async function createToken(name: string, scopes: string[], expiresIn?: string): Promise<string> {
  const created = await json(
    await t.admin('POST', '/api/v1/tokens', { name, scopes, ...(expiresIn ? { expiresIn } : {}) }),
    201,
  );
  return String(created.token);
}

const POLICY = {
  ups: [{ name: 'ups-a', watcher: 'nas' }],
  hosts: [{ name: 'web-1', ups: ['ups-a'] }],
  stages: [{ name: 'apps', hosts: ['web-1'], trigger: { onBattery: '60s' } }],
};

describe('the OpenAPI document', () => {
  let document: {
    openapi: string;
    paths: Record<string, Record<string, { operationId: string; responses: Record<string, unknown> }>>;
  };
  beforeAll(async () => {
    document = (await json(await t.request('/openapi.json'), 200)) as typeof document;
  });

  it('is OpenAPI 3.1 and lists exactly the routes the app serves', () => {
    expect(document.openapi).toMatch(/^3\.1\./);
    const served = new Set(
      t.app.routes
        .filter((route) => route.method !== 'ALL')
        .map((route) => `${route.method} ${route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`),
    );
    const documented = new Set(
      Object.entries(document.paths).flatMap(([path, item]) =>
        Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
      ),
    );
    // The WebSocket is upgraded outside Hono (ws/upgrade.ts), on this one documented path.
    documented.delete(`GET ${AGENT_WS_PATH}`);
    expect([...served].sort()).toEqual([...documented].sort());
    for (const must of [
      'GET /api/v1/events',
      'POST /api/v1/tokens',
      'PUT /api/v1/policy',
      'GET /openapi.json',
    ])
      expect(served).toContain(must);
  });

  it('gives every operation a unique operationId and documents its errors', () => {
    const ids = Object.values(document.paths).flatMap((item) =>
      Object.values(item).map((op) => op.operationId),
    );
    expect(new Set(ids).size).toBe(ids.length);
    for (const item of Object.values(document.paths))
      for (const op of Object.values(item)) expect(op.responses.default).toBeDefined();
  });

  it('describes request bodies from the schemas that validate them (unknown fields refused)', () => {
    const create = document.paths['/api/v1/tokens']?.post as unknown as {
      requestBody: { content: { 'application/json': { schema: Record<string, unknown> } } };
    };
    const schema = create.requestBody.content['application/json'].schema;
    expect(schema).toMatchObject({
      type: 'object',
      required: ['name', 'scopes'],
      additionalProperties: false,
      properties: { scopes: { type: 'array', items: { enum: ['read', 'write', 'admin'] } } },
    });
  });

  it('is rendered as a reference page listing every operation', async () => {
    const response = await t.request('/docs');
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    for (const path of Object.keys(document.paths)) expect(html).toContain(path);
    expect(html).not.toMatch(/<script/i);
  });
});

describe('scoped tokens', () => {
  let reader: string;
  let writer: string;
  beforeAll(async () => {
    reader = await createToken('grafana', ['read']);
    writer = await createToken('ops-bot', ['write']);
  });

  it('a new token is shown once; the list never shows a secret or a hash', async () => {
    const listed = await json(await t.admin('GET', '/api/v1/tokens'), 200);
    const items = z.array(TokenSchema.strict()).parse(listed.items);
    expect(items.map((item) => item.name)).toEqual(expect.arrayContaining(['admin', 'grafana', 'ops-bot']));
    expect(JSON.stringify(listed)).not.toContain(reader);
    expect(items.find((item) => item.name === 'grafana')).toMatchObject({
      scopes: ['read'],
      createdBy: 'admin',
    });
  });

  it('read may look but not act; write may act but not manage tokens', async () => {
    expect((await as(reader, 'GET', '/api/v1/hosts')).status).toBe(200);
    const refused = await problem(await as(reader, 'PUT', '/api/v1/policy', POLICY), 403);
    expect(refused.detail).toBe('token "grafana" has scopes [read]; this operation needs "write"');
    expect((await as(writer, 'POST', '/api/v1/enrollments', { name: 'web-9' })).status).toBe(201);
    expect((await as(writer, 'GET', '/api/v1/hosts')).status).toBe(200);
    await problem(await as(writer, 'GET', '/api/v1/tokens'), 403);
    await problem(await as(writer, 'GET', '/api/v1/audit'), 403);
  });

  it('a token name is never reused, not even after revocation', async () => {
    const again = await problem(
      await t.admin('POST', '/api/v1/tokens', { name: 'grafana', scopes: ['read'] }),
      409,
    );
    expect(again.detail).toContain('grafana');
  });

  it('a revoked token stops working at once', async () => {
    const doomed = await createToken('doomed', ['read']);
    expect((await as(doomed, 'GET', '/api/v1/ups')).status).toBe(200);
    await json(await t.admin('DELETE', '/api/v1/tokens/doomed'), 200);
    expect((await problem(await as(doomed, 'GET', '/api/v1/ups'), 401)).detail).toBe(
      'unknown, expired or revoked token',
    );
  });

  it('an expiring token works until its expiry and not after', async () => {
    const brief = await createToken('brief', ['read'], '1h');
    expect((await as(brief, 'GET', '/api/v1/ups')).status).toBe(200);
    t.clock.advance(60 * 60 * 1000);
    await problem(await as(brief, 'GET', '/api/v1/ups'), 401);
  });

  it('the last admin token cannot be revoked (nobody gets locked out)', async () => {
    const refused = await problem(await t.admin('DELETE', '/api/v1/tokens/admin'), 409);
    expect(refused.detail).toContain('last admin token');
    expect((await t.admin('GET', '/api/v1/tokens')).status).toBe(200);
  });
});

describe('the audit log', () => {
  it('records every change (refused ones too) with who, what and the answer; reads are not changes', async () => {
    const deployer = await createToken('deployer', ['write']);
    await json(await as(deployer, 'PUT', '/api/v1/policy', POLICY), 200);
    await json(await as(deployer, 'PUT', '/api/v1/policy', { stages: 'nope' }), 422);
    await json(await as(deployer, 'POST', '/api/v1/enrollments', { name: 'nas' }), 201);
    await json(await as(deployer, 'GET', '/api/v1/policy'), 200);
    const page = await json(await t.admin('GET', '/api/v1/audit?actor=deployer'), 200);
    const entries = z.array(AuditEntrySchema).parse(page.items);
    expect(entries.map((e) => [e.action, e.method, e.path, e.status, e.target])).toEqual([
      ['enrollments.create', 'POST', '/api/v1/enrollments', 201, 'nas'],
      ['policy.apply', 'PUT', '/api/v1/policy', 422, null],
      ['policy.apply', 'PUT', '/api/v1/policy', 200, null],
    ]);
    const tokens = await json(await t.admin('GET', '/api/v1/audit?action=tokens.create&limit=1000'), 200);
    expect(
      z
        .array(AuditEntrySchema)
        .parse(tokens.items)
        .map((e) => e.target),
    ).toContain('deployer');
  });
});

describe('responses match their documented schemas', () => {
  it('status, hosts, a run with its timeline', async () => {
    await json(await t.admin('PUT', '/api/v1/policy', POLICY), 200);
    StatusSchema.parse(await json(await t.admin('GET', '/api/v1/status'), 200));
    const hosts = await json(await t.admin('GET', '/api/v1/hosts'), 200);
    z.array(HostSchema).parse(hosts.items);
    const drill = await json(await t.admin('POST', '/api/v1/drills'), 202);
    const run = RunDetailSchema.parse(await json(await t.admin('GET', `/api/v1/runs/${drill.runId}`), 200));
    expect(run.kind).toBe('drill');
    expect(
      RunDetailSchema.parse(await json(await t.admin('GET', `/api/v1/runs/${drill.number}`), 200)).id,
    ).toBe(run.id);
  });
});

describe('events: filters and cursor pagination', () => {
  let nas: EnrolledAgent;
  let seq = 0;
  const sign = (keyPair: SigningKeyPair, agentId: string, events: NotifyEvent[], status: string[]) =>
    signUpsEvent(
      keyPair,
      agentId,
      { seq: ++seq, ups: 'ups-a', observedAt: t.clock.now(), events, status, vars: {} },
      t.clock.now(),
    );

  beforeAll(async () => {
    nas = await t.enroll('nas');
    await json(await t.admin('PUT', '/api/v1/policy', POLICY), 200);
    for (const [events, status] of [
      [['ONLINE'], ['OL']],
      [['ONBATT'], ['OB']],
      [['ONLINE'], ['OL']],
      [['ONBATT'], ['OB']],
      [['ONLINE'], ['OL']],
    ] as const) {
      t.clock.advance(1000);
      await json(
        await t.postJson('/agent/v1/events', {
          events: [await sign(nas.keyPair, nas.agentId, [...events], [...status])],
        }),
        200,
      );
    }
  });

  const events = async (query: string) => {
    const page = await json(await t.admin('GET', `/api/v1/events?${query}`), 200);
    return z
      .object({ items: z.array(UpsEventSchema), next: z.string().nullable(), head: z.string() })
      .parse(page);
  };

  it('pages newest first with an opaque cursor until next is null', async () => {
    const first = await events('limit=2');
    expect(first.items.map((e) => e.seq)).toEqual([5, 4]);
    const second = await events(`limit=2&cursor=${first.next}`);
    expect(second.items.map((e) => e.seq)).toEqual([3, 2]);
    const last = await events(`limit=2&cursor=${second.next}`);
    expect(last.items.map((e) => e.seq)).toEqual([1]);
    expect(last.next).toBeNull();
  });

  it('filters by type, host, UPS and time', async () => {
    expect((await events('type=ONBATT')).items.map((e) => e.seq)).toEqual([4, 2]);
    expect((await events('host=nas&ups=ups-a')).items).toHaveLength(5);
    expect((await events('host=pi')).items).toHaveLength(0);
    const third = (await events('limit=5')).items.find((e) => e.seq === 3);
    expect((await events(`since=${third?.observedAt}`)).items.map((e) => e.seq)).toEqual([5, 4, 3]);
    expect((await events(`until=${third?.observedAt}`)).items.map((e) => e.seq)).toEqual([2, 1]);
  });

  it('follows: `after` the head returns only newer events, oldest first', async () => {
    const { head } = await events('limit=1');
    expect((await events(`after=${head}`)).items).toEqual([]);
    t.clock.advance(1000);
    await json(
      await t.postJson('/agent/v1/events', {
        events: [await sign(nas.keyPair, nas.agentId, ['ONBATT'], ['OB'])],
      }),
      200,
    );
    const newer = await events(`after=${head}`);
    expect(newer.items.map((e) => e.seq)).toEqual([6]);
    expect((await events(`after=${newer.head}`)).items).toEqual([]);
  });

  it('a bad cursor, or one from another list, is a 400 that says what to do', async () => {
    expect((await problem(await t.admin('GET', '/api/v1/events?cursor=garbage'), 400)).detail).toContain(
      'invalid cursor for events',
    );
    const runs = await json(await t.admin('GET', '/api/v1/runs?limit=1'), 200);
    const fromRuns = runs.next ?? Buffer.from(JSON.stringify({ l: 'runs', p: 1 })).toString('base64url');
    await problem(await t.admin('GET', `/api/v1/events?cursor=${fromRuns}`), 400);
  });
});

describe('bad input is a 4xx problem that says what to fix', () => {
  it('unknown query parameters and wrong types', async () => {
    const unknown = await problem(await t.admin('GET', '/api/v1/events?colour=red'), 400);
    expect(unknown.detail).toContain('colour');
    const wrong = await problem(await t.admin('GET', '/api/v1/events?limit=lots'), 400);
    expect(wrong.errors?.[0]).toMatch(/^limit:/);
    await problem(await t.admin('GET', '/api/v1/events?limit=100000'), 400);
  });

  it('unknown body fields, wrong types, malformed JSON', async () => {
    const unknown = await problem(
      await t.admin('POST', '/api/v1/tokens', { name: 'x', scopes: ['read'], root: true }),
      400,
    );
    expect(unknown.detail).toContain('root');
    const scope = await problem(await t.admin('POST', '/api/v1/tokens', { name: 'y', scopes: ['god'] }), 400);
    expect(scope.errors?.[0]).toMatch(/^scopes\.0:/);
    await problem(await as(t.adminToken, 'POST', '/api/v1/tokens', '{"name": '), 400);
  });

  it('an oversized body is refused (413) before it is read', async () => {
    const huge = JSON.stringify({ blob: 'x'.repeat(1024 * 1024) });
    const refused = await problem(await as(t.adminToken, 'PUT', '/api/v1/policy', huge), 413);
    expect(refused.detail).toContain('1 MiB');
  });
});

describe('failed authentication is throttled', () => {
  it('after 10 failures from one address even a good token waits (429, Retry-After), then works again', async () => {
    for (let i = 0; i < 10; i++) await problem(await as(`ufa_guess-${i}`, 'GET', '/api/v1/hosts'), 401);
    const blocked = await t.admin('GET', '/api/v1/hosts');
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await problem(blocked, 429)).detail).toContain('too many failed authentication attempts');
    t.clock.advance(60_000);
    expect((await t.admin('GET', '/api/v1/hosts')).status).toBe(200);
  });
});
