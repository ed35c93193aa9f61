import { connect } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { type Responder, replay, startFakeUpsd } from '../../../test/nut/fake-upsd.js';
import { type Exchange, findExchange, loadTranscript, RECORDED } from '../../../test/nut/transcript.js';
import { createNutClient, type NutClientOptions } from './client.js';
import { NutError } from './errors.js';

const recorded = loadTranscript(RECORDED);
const inSection = (prefix: string): Exchange[] => recorded.filter((e) => e.section.startsWith(prefix));

async function setup(respond: Responder, options: Partial<NutClientOptions> = {}) {
  const server = await startFakeUpsd(respond);
  const client = await createNutClient({ host: server.host, port: server.port, ...options });
  onTestFinished(async () => {
    await client.close();
    await server.close();
  });
  return { server, client };
}

describe('createNutClient against a fake upsd replaying the recording', () => {
  it('speaks the anonymous session of section A', async () => {
    const responder = replay(inSection('A.'));
    const { server, client } = await setup(responder);
    expect(await client.ver()).toBe('Network UPS Tools upsd 2.8.0 - http://www.networkupstools.org/');
    expect(await client.netver()).toBe('1.3');
    expect(await client.help()).toMatch(/^Commands: /);
    expect(await client.listUps()).toEqual([{ name: 'ups', description: 'nutpeer simulated UPS' }]);
    const vars = await client.listVar('ups');
    expect(vars['ups.status']).toBe('OL');
    expect(vars['battery.runtime']).toBe('3600');
    expect(await client.getVar('ups', 'device.model')).toBe('Simulated UPS');
    expect(await client.listCmd('ups')).toEqual(['load.off']);
    expect(server.received.map((r) => r.line)).toEqual([
      'VER',
      'NETVER',
      'HELP',
      'LIST UPS',
      'LIST VAR ups',
      'GET VAR ups device.model',
      'LIST CMD ups',
    ]);
    expect(responder.unmatched).toEqual([]);
  });

  it('turns ERR replies into NutErrors and keeps the connection usable', async () => {
    const { client } = await setup(replay([...inSection('B.'), findExchange(recorded, 'VER')]));
    const unknownUps = client.getVar('nosuch', 'ups.status');
    await expect(unknownUps).rejects.toBeInstanceOf(NutError);
    await expect(unknownUps).rejects.toMatchObject({ nutCode: 'UNKNOWN-UPS', ups: 'nosuch' });
    await expect(client.listVar('nosuch')).rejects.toMatchObject({ nutCode: 'UNKNOWN-UPS' });
    await expect(client.getVar('ups', 'no.such.var')).rejects.toThrow(
      'upsd ERR VAR-NOT-SUPPORTED for GET VAR ups no.such.var',
    );
    await expect(client.instcmd('ups', 'load.off')).rejects.toMatchObject({ nutCode: 'USERNAME-REQUIRED' });
    await expect(client.starttls()).rejects.toMatchObject({
      nutCode: 'FEATURE-NOT-CONFIGURED',
      command: 'STARTTLS',
    });
    expect(await client.ver()).toMatch(/^Network UPS Tools upsd/);
    expect(client.closed).toBe(false);
  });

  it('logs in like upsmon, with quoted credentials', async () => {
    const { server, client } = await setup(replay(recorded.filter((e) => e.connection === 6)));
    await client.login('monsec', 'secpass', 'ups');
    expect(server.received.map((r) => r.line)).toEqual([
      'USERNAME "monsec"',
      'PASSWORD "secpass"',
      'LOGIN ups',
    ]);
  });

  it('reports a wrong password at LOGIN without leaking it', async () => {
    const { client } = await setup(replay(recorded.filter((e) => e.connection === 3)));
    const error = await client.login('monsec', 'wrongpass', 'ups').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ nutCode: 'ACCESS-DENIED', command: 'LOGIN ups', ups: 'ups' });
    expect(JSON.stringify({ ...(error as object), message: String(error) })).not.toContain('wrongpass');
  });

  it('returns the tracking id of an INSTCMD', async () => {
    const { client } = await setup(replay([findExchange(recorded, 'INSTCMD ups load.off', 'F.', 1)]));
    expect(await client.instcmd('ups', 'load.off')).toEqual({
      text: 'TRACKING 98C489FD-821C-4132-9D93-4F6590B55E63',
      tracking: '98C489FD-821C-4132-9D93-4F6590B55E63',
    });
  });

  it('LOGOUT resolves on OK Goodbye, and the close that follows counts as a clean close', async () => {
    const reasons: string[] = [];
    const { client } = await setup(replay([findExchange(recorded, 'LOGOUT', 'B.')]), {
      onClose: (error) => reasons.push(error.reason),
    });
    await client.logout();
    expect(client.closed).toBe(true);
    expect(reasons).toEqual(['closed']);
    await expect(client.ver()).rejects.toMatchObject({ name: 'NutConnectionError', reason: 'closed' });
  });

  it('uses the injected connect function', async () => {
    const targets: string[] = [];
    const { client } = await setup(replay([findExchange(recorded, 'NETVER')]), {
      connect: (target) => {
        targets.push(`${target.host}:${target.port}`);
        return connect(target);
      },
    });
    expect(await client.netver()).toBe('1.3');
    expect(targets).toHaveLength(1);
  });
});

describe('one request in flight', () => {
  it('sends the next request only after the previous reply, and matches replies in order', async () => {
    const replies: Record<string, string> = {
      'GET VAR ups ups.status': 'VAR ups ups.status "OB"\n',
      VER: 'Network UPS Tools upsd 2.8.0 - x\n',
      'LIST VAR ups': 'BEGIN LIST VAR ups\nVAR ups ups.load "20"\nEND LIST VAR ups\n',
    };
    // A late reply gives a pipelining client every chance to send ahead.
    const { server, client } = await setup((line, connection) => {
      setTimeout(() => connection.write(replies[line] ?? 'ERR UNKNOWN-COMMAND\n'), 15);
    });
    const results = await Promise.all([
      client.getVar('ups', 'ups.status'),
      client.ver(),
      client.listVar('ups'),
    ]);
    expect(results).toEqual(['OB', 'Network UPS Tools upsd 2.8.0 - x', { 'ups.load': '20' }]);
    expect(server.received.map((r) => [r.line, r.repliesBefore])).toEqual([
      ['GET VAR ups ups.status', 0],
      ['VER', 1],
      ['LIST VAR ups', 2],
    ]);
  });
});

describe('keep-alive', () => {
  it('sends VER when nothing was sent for keepAliveMs', async () => {
    const { server, client } = await setup((line, connection) => connection.write(`${line} reply\n`), {
      keepAliveMs: 20,
    });
    const seen = await server.waitForLine((r) => r.line === 'VER');
    expect(seen.connection).toBe(0);
    expect(await client.netver()).toBe('NETVER reply');
  });
});

describe('STARTTLS accepted', () => {
  it('drops the connection, since this client cannot upgrade to TLS', async () => {
    const { server, client } = await setup((_line, connection) => connection.write('OK STARTTLS\n'));
    await expect(client.starttls()).rejects.toMatchObject({
      name: 'NutProtocolError',
      reason: 'unsupported',
    });
    await (await server.connection(0)).closed;
    expect(client.closed).toBe(true);
  });
});
