import { describe, expect, it, onTestFinished } from 'vitest';
import { freePort } from '../../../test/nut/daemon.js';
import { type Responder, startFakeUpsd } from '../../../test/nut/fake-upsd.js';
import { createNutClient, type NutClientOptions } from './client.js';
import { MAX_REPLY_LINES } from './connection.js';
import type { NutConnectionError } from './errors.js';

/** Starts a fake upsd and a client whose onClose reasons are collected (and awaitable). */
async function setup(respond: Responder, options: Partial<NutClientOptions> = {}) {
  const server = await startFakeUpsd(respond);
  let closedWith: (error: NutConnectionError) => void = () => undefined;
  const onClose = new Promise<NutConnectionError>((resolve) => {
    closedWith = resolve;
  });
  const closes: NutConnectionError[] = [];
  const client = await createNutClient({
    host: server.host,
    port: server.port,
    ...options,
    onClose: (error) => {
      closes.push(error);
      closedWith(error);
    },
  });
  onTestFinished(async () => {
    await client.close();
    await server.close();
  });
  return { server, client, onClose, closes };
}

const VAR_OL = 'VAR ups ups.status "OL"\n';

/** Resolves with the rejection reason; attached at once, so no rejection is ever unhandled. */
const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );

describe('NUT client failure handling', () => {
  it('times out a request with no reply, drops the connection and fails what is queued', async () => {
    const { server, client, onClose } = await setup(() => undefined, { timeoutMs: 100 });
    const first = rejection(client.getVar('ups', 'ups.status'));
    const queued = rejection(client.ver());
    expect(await first).toMatchObject({
      name: 'NutConnectionError',
      reason: 'timeout',
      command: 'GET VAR ups ups.status',
    });
    expect(await queued).toMatchObject({ reason: 'timeout', command: 'VER' });
    await (await server.connection(0)).closed;
    expect((await onClose).reason).toBe('timeout');
    expect(client.closed).toBe(true);
    await expect(client.ver()).rejects.toMatchObject({ reason: 'closed' });
    // Only the first request ever reached the server.
    expect(server.received.map((r) => r.line)).toEqual(['GET VAR ups ups.status']);
  });

  it('rejects the pending request when upsd closes mid-request', async () => {
    const { client, onClose, closes } = await setup((_line, connection) => connection.destroy());
    await expect(client.getVar('ups', 'ups.status')).rejects.toMatchObject({
      name: 'NutConnectionError',
      reason: 'connection-lost',
      command: 'GET VAR ups ups.status',
    });
    expect((await onClose).reason).toBe('connection-lost');
    await client.close();
    expect(closes).toHaveLength(1);
  });

  it('rejects a LIST cut off before END LIST', async () => {
    const { client } = await setup((_line, connection) => {
      connection.write('BEGIN LIST VAR ups\nVAR ups ups.status "OL"\n');
      connection.destroy();
    });
    await expect(client.listVar('ups')).rejects.toMatchObject({ reason: 'connection-lost' });
  });

  it('refuses a garbage reply and drops the connection, since later replies may be out of step', async () => {
    const { server, client, onClose } = await setup((line, connection) => {
      connection.write(line === 'VER' ? 'Network UPS Tools upsd\n' : 'HELLO WORLD\n');
    });
    const garbage = rejection(client.getVar('ups', 'ups.status'));
    const queued = rejection(client.ver());
    expect(await garbage).toMatchObject({ name: 'NutProtocolError', reason: 'unexpected-reply' });
    expect(await queued).toMatchObject({ name: 'NutConnectionError', reason: 'protocol' });
    expect((await onClose).reason).toBe('protocol');
    await (await server.connection(0)).closed;
  });

  it('refuses a LIST that never ends instead of buffering it until the timeout', async () => {
    const { client, onClose } = await setup((_line, connection) => {
      const rows = Array.from({ length: MAX_REPLY_LINES + 5 }, (_, i) => `VAR ups v${i} "1"\n`).join('');
      connection.write(`BEGIN LIST VAR ups\n${rows}`);
    });
    const error = await rejection(client.listVar('ups'));
    expect(error).toMatchObject({ name: 'NutConnectionError', reason: 'protocol' });
    expect((error as Error).cause).toMatchObject({ name: 'NutProtocolError', reason: 'reply-too-large' });
    expect((await onClose).reason).toBe('protocol');
  });

  it('refuses an over-long line instead of buffering it', async () => {
    const { client, onClose } = await setup((_line, connection) => connection.write('x'.repeat(9000)));
    const error = await rejection(client.getVar('ups', 'ups.status'));
    expect(error).toMatchObject({ name: 'NutConnectionError', reason: 'protocol' });
    expect((error as Error).cause).toMatchObject({ name: 'NutProtocolError', reason: 'line-too-long' });
    expect((await onClose).reason).toBe('protocol');
  });

  it('drops the connection on a line nobody asked for', async () => {
    const { server, onClose } = await setup(() => undefined);
    (await server.connection(0)).write(VAR_OL);
    const reason = await onClose;
    expect(reason).toMatchObject({ reason: 'protocol' });
    expect(reason.message).toContain('unsolicited');
  });

  it('close() fails pending requests with reason closed, once, and is idempotent', async () => {
    const { server, client, closes } = await setup(() => undefined);
    const pending = rejection(client.getVar('ups', 'ups.status'));
    await server.waitForLine((r) => r.line === 'GET VAR ups ups.status');
    await client.close();
    await client.close();
    expect(await pending).toMatchObject({ name: 'NutConnectionError', reason: 'closed' });
    expect(closes.map((c) => c.reason)).toEqual(['closed']);
  });

  it('fails to connect with a typed error', async () => {
    const port = await freePort();
    await expect(createNutClient({ host: '127.0.0.1', port, timeoutMs: 2_000 })).rejects.toMatchObject({
      name: 'NutConnectionError',
      reason: 'connect-failed',
    });
  });

  it('refuses unsafe arguments before anything is sent', async () => {
    const { server, client } = await setup((_line, connection) => connection.write(VAR_OL));
    const unsafe = { name: 'NutProtocolError', reason: 'unsafe-argument' };
    await expect(client.getVar('ups\nFSD ups', 'ups.status')).rejects.toMatchObject(unsafe);
    await expect(client.login('monsec', 'secpass', 'my ups')).rejects.toMatchObject(unsafe);
    await expect(client.authenticate('monsec', 'pass\nFSD ups')).rejects.toMatchObject(unsafe);
    expect(await client.getVar('ups', 'ups.status')).toBe('OL');
    expect(server.received.map((r) => r.line)).toEqual(['GET VAR ups ups.status']);
  });
});
