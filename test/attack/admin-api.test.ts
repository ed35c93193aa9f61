/**
 * Attack: the admin API of a real coordinator process, over real HTTP. Calls without a token, with
 * a wrong one, with a token whose scope is too small (a read-only token made through the API), with
 * bodies over 1 MiB (with and without a Content-Length), malformed JSON and unknown fields: each is
 * a 4xx `application/problem+json` whose detail says what is wrong, nothing is stored, and the
 * coordinator keeps serving. (The per-address throttle of failed attempts is covered in memory by
 * test/admin-api.test.ts; here every refusal is followed by a success, which resets it.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type FleetHarness, sharedPostgresMissingReason, startFleet } from '../helpers/fleet-harness.js';
import { describeRequiring } from '../helpers/requirements.js';

const ADMIN_TOKEN = 'attack-admin-admin-token-0123456789ab';
const MIB = 1024 * 1024;

interface Answer {
  status: number;
  contentType: string | null;
  authenticate: string | null;
  body: { type?: string; detail?: string; errors?: string[] } & Record<string, unknown>;
}

describeRequiring('attack: admin API calls that must be refused', await sharedPostgresMissingReason(), () => {
  let dir: string;
  let fleet: FleetHarness;
  let readToken: string;

  async function call(
    method: string,
    path: string,
    options: { token?: string | null; authorization?: string; body?: string; json?: unknown } = {},
  ): Promise<Answer> {
    const token = options.token === undefined ? ADMIN_TOKEN : options.token;
    const authorization = options.authorization ?? (token === null ? undefined : `Bearer ${token}`);
    const body = options.json === undefined ? options.body : JSON.stringify(options.json);
    const response = await fetch(`${fleet.base}${path}`, {
      method,
      headers: {
        ...(authorization === undefined ? {} : { authorization }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body }),
    });
    const text = await response.text();
    return {
      status: response.status,
      contentType: response.headers.get('content-type'),
      authenticate: response.headers.get('www-authenticate'),
      body: text === '' ? {} : JSON.parse(text),
    };
  }

  /**
   * A PUT written on a raw socket, its answer read until the server closes or has sent it all. An
   * HTTP client library may give up with "socket hang up" when the server answers before the body
   * is sent and closes; the bytes the server sent are what a user's client would get to read.
   * With `length` the body has a Content-Length, without it goes chunked.
   */
  function rawPut(path: string, chunks: readonly string[], length?: number): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const socket = connect(fleet.port, '127.0.0.1');
      let received = '';
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        const [head = '', ...rest] = received.split('\r\n\r\n');
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
        if (!Number.isInteger(status)) {
          reject(new Error(`no HTTP answer: ${JSON.stringify(received.slice(0, 200))}`));
          return;
        }
        const header = (name: string) => new RegExp(`^${name}: *(.*)$`, 'im').exec(head)?.[1]?.trim() ?? null;
        resolve({
          status,
          contentType: header('content-type'),
          authenticate: header('www-authenticate'),
          body: JSON.parse(rest.join('\r\n\r\n')),
        });
        socket.destroy();
      };
      socket.setEncoding('utf8');
      socket.on('data', (data: string) => {
        received += data;
        const length = Number(/^content-length: *(\d+)/im.exec(received)?.[1]);
        const bodyStart = received.indexOf('\r\n\r\n');
        if (bodyStart >= 0 && Buffer.byteLength(received.slice(bodyStart + 4)) >= length) finish();
      });
      socket.on('error', () => undefined);
      socket.on('close', finish);
      const headers = [
        `PUT ${path} HTTP/1.1`,
        'host: 127.0.0.1',
        `authorization: Bearer ${ADMIN_TOKEN}`,
        'content-type: application/json',
        length === undefined ? 'transfer-encoding: chunked' : `content-length: ${length}`,
      ];
      socket.write(`${headers.join('\r\n')}\r\n\r\n`);
      for (const chunk of chunks) {
        const bytes = Buffer.byteLength(chunk);
        socket.write(length === undefined ? `${bytes.toString(16)}\r\n${chunk}\r\n` : chunk);
      }
      if (length === undefined) socket.write('0\r\n\r\n');
    });
  }

  /** Refused with `status`, as a problem whose detail matches `detail`; a good call right after works. */
  async function expectRefused(what: string, answer: Answer, status: number, detail: RegExp): Promise<void> {
    expect(answer.status, what).toBe(status);
    expect(answer.contentType, what).toBe('application/problem+json');
    expect(answer.body.status, what).toBe(status);
    expect(String(answer.body.detail), what).toMatch(detail);
    expect((await call('GET', '/api/v1/hosts')).status, `serving after: ${what}`).toBe(200);
  }

  /** What the refused calls could have changed. */
  async function state() {
    const tokens = await call('GET', '/api/v1/tokens');
    const policy = await call('GET', '/api/v1/policy');
    const hosts = await call('GET', '/api/v1/hosts');
    return {
      tokens: (tokens.body.items as { name: string; revokedAt: string | null }[]).map((t) => [
        t.name,
        t.revokedAt,
      ]),
      policy: policy.status,
      hosts: hosts.body.items,
    };
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'upsfleet-attack-admin-'));
    fleet = await startFleet({ dir, adminToken: ADMIN_TOKEN, database: 'postgres' });
    const created = await call('POST', '/api/v1/tokens', { json: { name: 'grafana', scopes: ['read'] } });
    expect(created.status).toBe(201);
    readToken = String(created.body.token);
  });

  afterAll(async () => {
    await fleet?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('no token, a wrong token, another scheme: 401 with a bearer challenge', async () => {
    const before = await state();
    for (const [what, options] of [
      ['no token', { token: null }],
      ['a wrong token', { token: 'ufa_not-a-token-anyone-was-given-0123456789' }],
      ['basic auth', { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` }],
    ] as const) {
      const answer = await call('PUT', '/api/v1/policy', { ...options, json: { ups: [] } });
      expect(answer.authenticate, what).toMatch(/^Bearer/);
      await expectRefused(what, answer, 401, /missing bearer token|unknown, expired or revoked token/);
    }
    expect(await state()).toEqual(before);
  });

  it('a read-only token may look but is refused every change with 403 naming the scope', async () => {
    const before = await state();
    expect((await call('GET', '/api/v1/hosts', { token: readToken })).status).toBe(200);
    const changes: [string, string, string, unknown, string][] = [
      ['apply a policy', 'PUT', '/api/v1/policy', { ups: [{ name: 'u', watcher: 'w' }] }, 'write'],
      ['enroll a host', 'POST', '/api/v1/enrollments', { name: 'intruder' }, 'write'],
      ['start a drill', 'POST', '/api/v1/drills', {}, 'write'],
      ['mint an admin token', 'POST', '/api/v1/tokens', { name: 'mine', scopes: ['admin'] }, 'admin'],
      ['revoke the admin token', 'DELETE', '/api/v1/tokens/admin', undefined, 'admin'],
    ];
    for (const [what, method, path, json, scope] of changes) {
      const answer = await call(method, path, { token: readToken, ...(json === undefined ? {} : { json }) });
      await expectRefused(
        what,
        answer,
        403,
        new RegExp(`"grafana" has scopes \\[read\\]; this operation needs "${scope}"`),
      );
    }
    expect(await state()).toEqual(before);
  });

  it('bodies over 1 MiB are refused with 413, with or without a Content-Length', async () => {
    const before = await state();
    const big = JSON.stringify({ ups: [{ name: 'u', watcher: 'w' }], padding: 'x'.repeat(MIB) });
    await expectRefused(
      'with a Content-Length',
      await rawPut('/api/v1/policy', [big], Buffer.byteLength(big)),
      413,
      /over .*1 MiB/,
    );
    const chunks = Array.from({ length: 20 }, () => 'x'.repeat(64 * 1024));
    await expectRefused('chunked', await rawPut('/api/v1/policy', chunks), 413, /over .*1 MiB/);
    expect(await state()).toEqual(before);
  });

  it('malformed JSON, unknown fields and wrong values: 400 listing each problem', async () => {
    const before = await state();
    await expectRefused(
      'malformed JSON',
      await call('POST', '/api/v1/enrollments', { body: '{"name": "web9",' }),
      400,
      /not valid JSON/,
    );
    await expectRefused(
      'an unknown field',
      await call('POST', '/api/v1/enrollments', { json: { name: 'web9', command: 'rm -rf /' } }),
      400,
      /command/,
    );
    const token = await call('POST', '/api/v1/tokens', {
      json: { name: 'Bad Name', scopes: ['root'], expiresIn: 'soon' },
    });
    await expectRefused('three wrong values', token, 400, /name/);
    expect(token.body.detail).toMatch(/scopes/);
    expect(token.body.detail).toMatch(/expiresIn/);
    const policy = await call('PUT', '/api/v1/policy', {
      json: {
        ups: [{ name: 'nas-ups', watcher: 'nas' }],
        stages: [{ name: 's', hosts: ['ghost'], trigger: {} }],
      },
    });
    await expectRefused('an invalid policy', policy, 422, /unknown host "ghost"/);
    expect(policy.body.errors?.length).toBeGreaterThanOrEqual(2);
    expect(await state()).toEqual(before);
  });

  it('a policy document with an object where a name belongs: 422, not a crash of the handler', async () => {
    const answer = await call('PUT', '/api/v1/policy', {
      body: '{"ups":[{"name":"nas-ups","watcher":"nas"}],"hosts":[{"name":{"toString":1},"ups":["nas-ups"]}]}',
    });
    await expectRefused('an object as a host name', answer, 422, /hosts\[0\]\.name/);
  });

  it('keeps serving afterwards', async () => {
    expect((await fetch(`${fleet.base}/healthz`)).status).toBe(200);
    expect(fleet.coordinator.child.exitCode).toBeNull();
    const applied = await call('PUT', '/api/v1/policy', {
      json: { ups: [{ name: 'nas-ups', watcher: 'nas' }] },
    });
    expect(applied.status).toBe(200);
  });
});
