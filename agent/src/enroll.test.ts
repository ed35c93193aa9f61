import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EnrollRequestSchema } from '../../shared/src/protocol.js';
import { generateSigningKey } from '../../shared/src/signing.js';
import { enroll } from './enroll.js';
import { loadEnrollment, statePath } from './state-dir.js';
import { createTempDir } from './test-support.js';

const TOKEN = 'enroll-token-0123456789abcdef';

describe('enroll', () => {
  let dir: { path: string; remove(): Promise<void> };
  let stateDir: string;
  beforeEach(async () => {
    dir = await createTempDir('enroll');
    stateDir = join(dir.path, 'agent');
  });
  afterEach(async () => dir.remove());

  async function coordinatorFetch(requests: Request[]): Promise<typeof globalThis.fetch> {
    const { publicJwk } = (await generateSigningKey()).keyPair;
    return async (input, init) => {
      const request = new Request(input, init);
      requests.push(request.clone());
      const body = EnrollRequestSchema.parse(await request.json());
      return Response.json(
        { agentId: 'agent-1', name: body.name, protocol: 1, coordinatorKey: publicJwk },
        { status: 201 },
      );
    };
  }

  it('registers a new key, pins the coordinator key and stores the identity', async () => {
    const requests: Request[] = [];
    const identity = await enroll({
      coordinatorUrl: 'http://127.0.0.1:8080/',
      token: TOKEN,
      name: 'web1',
      stateDir,
      fetch: await coordinatorFetch(requests),
      now: () => Date.parse('2026-11-23T22:00:00Z'),
    });
    expect(identity).toEqual({
      agentId: 'agent-1',
      name: 'web1',
      coordinatorUrl: 'http://127.0.0.1:8080',
      enrolledAt: '2026-11-23T22:00:00.000Z',
    });
    expect(requests[0]?.url).toBe('http://127.0.0.1:8080/agent/v1/enroll');
    const sent = EnrollRequestSchema.parse(await requests[0]?.json());
    const loaded = await loadEnrollment(stateDir);
    expect(loaded.keyPair.publicJwk).toEqual(sent.publicKey);
    expect((await stat(statePath(stateDir, 'agentKey'))).mode & 0o777).toBe(0o600);
    expect((await stat(stateDir)).mode & 0o777).toBe(0o700);
  });

  it('refuses a state dir that is already enrolled, before contacting the coordinator', async () => {
    const requests: Request[] = [];
    const fetch = await coordinatorFetch(requests);
    await enroll({ coordinatorUrl: 'http://127.0.0.1:8080', token: TOKEN, name: 'web1', stateDir, fetch });
    await expect(
      enroll({ coordinatorUrl: 'http://127.0.0.1:8080', token: TOKEN, name: 'web2', stateDir, fetch }),
    ).rejects.toThrow(/already enrolled as web1/);
    expect(requests).toHaveLength(1);
  });

  it('shows the status and the problem detail the coordinator sent, never the token', async () => {
    const fetch: typeof globalThis.fetch = async () =>
      new Response(
        JSON.stringify({
          type: 'about:blank',
          title: 'Unauthorized',
          status: 401,
          detail: 'enrollment token expired',
        }),
        { status: 401, statusText: 'Unauthorized', headers: { 'content-type': 'application/problem+json' } },
      );
    const failure = enroll({
      coordinatorUrl: 'http://127.0.0.1:8080',
      token: TOKEN,
      name: 'web1',
      stateDir,
      fetch,
    });
    await expect(failure).rejects.toThrow('401 Unauthorized: enrollment token expired');
    await expect(failure).rejects.not.toThrow(TOKEN);
    await expect(loadEnrollment(stateDir)).rejects.toThrow(/not enrolled/);
  });

  it('says when the coordinator cannot be reached', async () => {
    await expect(
      enroll({ coordinatorUrl: 'http://127.0.0.1:1', token: TOKEN, name: 'web1', stateDir }),
    ).rejects.toThrow(/cannot reach the coordinator/);
  });
});
