import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { openRawNut } from '../../../test/nut/raw-nut.js';
import { createNutClient } from '../nut/client.js';
import { createNutServer, type NutServer, type NutServerOptions } from './server.js';
import { createStaticAuth, createStaticSource, type StaticSource } from './static-source.js';
import type { NutServerEvent } from './types.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../../../test/fixtures/tls/${name}`, import.meta.url), 'utf8');
const KEY = fixture('upsd-test.key');
const CERT = fixture('upsd-test.pem');

const servers: NutServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function start(options: Partial<NutServerOptions> = {}) {
  const source: StaticSource = createStaticSource([
    { name: 'nas-ups', description: 'the NAS UPS', vars: { 'ups.status': 'OL', 'battery.charge': '100' } },
  ]);
  const events: NutServerEvent[] = [];
  const server = await createNutServer({
    source,
    auth: createStaticAuth([{ username: 'nas2', password: 'pw' }]),
    port: 0,
    onEvent: (event) => events.push(event),
    ...options,
  });
  servers.push(server);
  return { server, source, events };
}

describe('NUT server: STARTTLS, allow-list, idle clients, unavailable data', () => {
  it('offers STARTTLS only with a certificate; the agent’s own client then reads over TLS', async () => {
    const plain = await start();
    const raw = await openRawNut(plain.server.port);
    expect(await raw.send('STARTTLS\n', 1)).toEqual(['ERR FEATURE-NOT-CONFIGURED\n']);
    raw.close();

    const { server } = await start({ tls: { key: KEY, cert: CERT } });
    const client = await createNutClient({
      host: '127.0.0.1',
      port: server.port,
      tls: { mode: 'require', ca: CERT, servername: 'localhost' },
    });
    expect(await client.getVar('nas-ups', 'ups.status')).toBe('OL');
    await client.close();
  });

  it('answers a second STARTTLS with ALREADY-SSL-MODE, and drops what was pipelined behind the first', async () => {
    const { server } = await start({ tls: { key: KEY, cert: CERT } });
    const socket = connect({ host: '127.0.0.1', port: server.port });
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('STARTTLS\nVER\n');
    const ok = await new Promise<string>((resolve) =>
      socket.once('data', (d: Buffer) => resolve(d.toString())),
    );
    expect(ok).toBe('OK STARTTLS\n');
    const secure = tlsConnect({ socket, ca: CERT, servername: 'localhost' });
    await new Promise((resolve) => secure.once('secureConnect', resolve));
    let text = '';
    secure.on('data', (d: Buffer) => {
      text += d.toString();
    });
    secure.write('STARTTLS\nNETVER\n');
    await expect.poll(() => text).toBe('ERR ALREADY-SSL-MODE\n1.3\n');
    secure.destroy();
  });

  it('closes a connection from an address the allow-list refuses, before answering anything', async () => {
    const { server, events } = await start({ allow: (address) => address === '10.9.9.9' });
    const raw = await openRawNut(server.port);
    await raw.closed;
    expect(events).toEqual([{ type: 'refused', address: '127.0.0.1' }]);
  });

  it('drops a client that stays silent past the idle limit, as upsd does after 60 s', async () => {
    const { server, events } = await start({ idleTimeoutMs: 100 });
    const raw = await openRawNut(server.port);
    expect(await raw.send('VER\n', 1)).toHaveLength(1);
    await raw.closed;
    await expect.poll(() => events.map((e) => e.type)).toEqual(['connect', 'disconnect']);
  });

  it('answers DATA-STALE / DRIVER-NOT-CONNECTED for data, still lists and describes the UPS', async () => {
    const { server, source } = await start();
    source.setAvailability('nas-ups', 'DATA-STALE');
    const raw = await openRawNut(server.port);
    expect(
      await raw.send('GET VAR nas-ups ups.status\nLIST VAR nas-ups\nGET UPSDESC nas-ups\nLIST UPS\n', 4),
    ).toEqual([
      'ERR DATA-STALE\n',
      'ERR DATA-STALE\n',
      'UPSDESC nas-ups "the NAS UPS"\n',
      'BEGIN LIST UPS\n',
      'UPS nas-ups "the NAS UPS"\n',
      'END LIST UPS\n',
    ]);
    source.setAvailability('nas-ups', 'DRIVER-NOT-CONNECTED');
    expect(await raw.send('GET NUMLOGINS nas-ups\n', 1)).toEqual(['ERR DRIVER-NOT-CONNECTED\n']);
    source.setAvailability('nas-ups', 'ok');
    source.set('nas-ups', { 'ups.status': 'OB DISCHRG' });
    expect(await raw.send('GET VAR nas-ups ups.status\n', 1)).toEqual([
      'VAR nas-ups ups.status "OB DISCHRG"\n',
    ]);
    raw.close();
  });

  it('escapes values so that a quote, backslash or # cannot break the line', async () => {
    const { server, source } = await start();
    source.set('nas-ups', { 'device.model': 'Back-UPS "Pro" #2 \\x\nnext' });
    const client = await createNutClient({ host: '127.0.0.1', port: server.port });
    expect(await client.getVar('nas-ups', 'device.model')).toBe('Back-UPS "Pro" #2 \\xnext');
    await client.close();
  });
});
