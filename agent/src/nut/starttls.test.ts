import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { createNutClient } from './client.js';
import { createLineFramer } from './line-framer.js';
import type { TlsMode } from './starttls.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../../../test/fixtures/tls/${name}`, import.meta.url), 'utf8');
const KEY = fixture('upsd-test.key');
const CERT = fixture('upsd-test.pem');
const OTHER_CA = fixture('other-ca.pem');

/** A tiny upsd on 127.0.0.1 that answers STARTTLS (or refuses it) and then VER, recording what it saw and how. */
async function startTlsUpsd(answer: 'OK STARTTLS' | 'ERR FEATURE-NOT-CONFIGURED') {
  const seen: { line: string; encrypted: boolean }[] = [];
  const serve = (socket: Socket | TLSSocket, encrypted: boolean) => {
    const framer = createLineFramer();
    socket.on('data', (chunk: Buffer) => {
      for (const line of framer.push(chunk)) {
        seen.push({ line, encrypted });
        if (line === 'STARTTLS' && answer === 'OK STARTTLS') {
          socket.removeAllListeners('data');
          socket.write('OK STARTTLS\n');
          serve(new TLSSocket(socket, { isServer: true, key: KEY, cert: CERT }), true);
          return;
        }
        socket.write(line === 'STARTTLS' ? `${answer}\n` : 'Network UPS Tools upsd test\n');
      }
    });
    socket.on('error', () => undefined);
  };
  const server: Server = createServer((socket) => serve(socket, false));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { port, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function connect(
  answer: 'OK STARTTLS' | 'ERR FEATURE-NOT-CONFIGURED',
  tls: { mode: TlsMode; ca?: string; servername?: string },
) {
  const upsd = await startTlsUpsd(answer);
  cleanups.push(upsd.close);
  const client = await createNutClient({ host: '127.0.0.1', port: upsd.port, keepAliveMs: 0, tls });
  cleanups.unshift(() => client.close());
  return { upsd, client };
}

describe('STARTTLS', () => {
  it('try: encrypts when upsd offers it; nothing but STARTTLS crosses in plain text', async () => {
    const { upsd, client } = await connect('OK STARTTLS', { mode: 'try' });
    expect(client.encrypted).toBe(true);
    expect(await client.ver()).toBe('Network UPS Tools upsd test');
    expect(upsd.seen).toEqual([
      { line: 'STARTTLS', encrypted: false },
      { line: 'VER', encrypted: true },
    ]);
  });

  it('try: goes on in plain text when upsd has no TLS configured (as upsmon does)', async () => {
    const { client } = await connect('ERR FEATURE-NOT-CONFIGURED', { mode: 'try' });
    expect(client.encrypted).toBe(false);
    expect(await client.ver()).toBe('Network UPS Tools upsd test');
  });

  it('require: refuses plain text', async () => {
    const upsd = await startTlsUpsd('ERR FEATURE-NOT-CONFIGURED');
    cleanups.push(upsd.close);
    await expect(
      createNutClient({ host: '127.0.0.1', port: upsd.port, tls: { mode: 'require' } }),
    ).rejects.toMatchObject({
      name: 'NutConnectionError',
      message: expect.stringMatching(/did not start TLS .*require refuses plain text/),
    });
  });

  it('with a CA: verifies the certificate, and refuses one signed by someone else', async () => {
    const { client } = await connect('OK STARTTLS', { mode: 'require', ca: CERT, servername: 'localhost' });
    expect(client.encrypted).toBe(true);
    const upsd = await startTlsUpsd('OK STARTTLS');
    cleanups.push(upsd.close);
    await expect(
      createNutClient({
        host: '127.0.0.1',
        port: upsd.port,
        tls: { mode: 'require', ca: OTHER_CA, servername: 'localhost' },
      }),
    ).rejects.toMatchObject({
      name: 'NutConnectionError',
      message: expect.stringMatching(/^TLS with .* failed/),
    });
  });

  it('off: never asks', async () => {
    const { upsd, client } = await connect('OK STARTTLS', { mode: 'off' });
    expect(client.encrypted).toBe(false);
    await client.ver();
    expect(upsd.seen).toEqual([{ line: 'VER', encrypted: false }]);
  });
});
