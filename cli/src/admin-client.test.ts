import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createAdminClient } from './admin-client.js';
import { ApiError, UnreachableError } from './errors.js';

describe('the admin client against answers a coordinator should not give', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
    server = undefined;
  });

  async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
    const started = createServer(handler);
    server = started;
    await new Promise<void>((resolve) => started.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(started.address() as AddressInfo).port}`;
  }

  it('a redirect (a proxy sending http to https, say) says where to point --url, not a bare 301', async () => {
    const url = await serve((_request, response) => {
      response.writeHead(301, { location: 'https://ups.example.net/api/v1/status' }).end();
    });
    const error = await createAdminClient({ url, token: 't' })
      .get('/api/v1/status', z.object({}))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect(String((error as Error).message)).toMatch(
      /301: .* redirects to https:\/\/ups\.example\.net\/api\/v1\/status; the CLI does not follow redirects: set --url/,
    );
  });

  it('a connection that breaks mid-answer is "cannot reach", not a raw socket error', async () => {
    const url = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      response.write('{"items": [');
      setImmediate(() => response.socket?.destroy());
    });
    const error = await createAdminClient({ url, token: 't' })
      .get('/api/v1/hosts', z.object({}))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UnreachableError);
    expect(String((error as Error).message)).toMatch(/broke while reading its answer/);
  });
});
