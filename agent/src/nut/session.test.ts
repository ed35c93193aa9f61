import { describe, expect, it, onTestFinished } from 'vitest';
import { createWatchedList } from '../../../test/helpers/watched-list.js';
import { freePort } from '../../../test/nut/daemon.js';
import { type Responder, startFakeUpsd } from '../../../test/nut/fake-upsd.js';
import { createNutSession, type NutSessionOptions, type NutSessionState } from './session.js';

const login = { username: 'monsec', password: 'secpass', ups: 'ups' };

/** Records every state; `reach(kind, n)` resolves when the n-th (1-based) state of that kind arrives. */
function recorder() {
  const states = createWatchedList<NutSessionState>();
  return {
    states: states.items,
    kinds: () => states.items.map((s) => s.kind),
    onState: (state: NutSessionState) => states.push(state),
    reach: (kind: NutSessionState['kind'], n = 1) => {
      let seen = 0;
      return states.waitFor((s) => s.kind === kind && ++seen === n, `state ${kind} #${n}`);
    },
  };
}

async function setup(respond: Responder, extra: Partial<NutSessionOptions> = {}) {
  const server = await startFakeUpsd(respond);
  const record = recorder();
  const session = createNutSession({
    client: { host: server.host, port: server.port, timeoutMs: 2_000, keepAliveMs: 0 },
    login,
    onState: record.onState,
    backoff: { initial: 10, max: 20 },
    random: () => 0,
    ...extra,
  });
  onTestFinished(async () => {
    await session.close();
    await server.close();
  });
  return { server, session, record };
}

const okToEverything: Responder = (_line, connection) => connection.write('OK\n');

describe('createNutSession', () => {
  it('connects, logs in, and reconnects with backoff after upsd drops the connection', async () => {
    const { server, session, record } = await setup(okToEverything);
    const ready = await record.reach('ready');
    expect(session.state).toBe(ready);
    (await server.connection(0)).destroy();
    const waiting = await record.reach('waiting');
    expect(waiting).toMatchObject({ attempt: 0, delayMs: 5, error: { reason: 'connection-lost' } });
    await record.reach('ready', 2);
    expect(record.kinds()).toEqual(['connecting', 'ready', 'waiting', 'connecting', 'ready']);
    expect(server.received.map((r) => `${r.connection}:${r.line}`)).toEqual([
      '0:USERNAME "monsec"',
      '0:PASSWORD "secpass"',
      '0:LOGIN ups',
      '1:USERNAME "monsec"',
      '1:PASSWORD "secpass"',
      '1:LOGIN ups',
    ]);
  });

  it('retries a refused LOGIN with growing delays, then becomes ready', async () => {
    let logins = 0;
    const { record } = await setup((line, connection) => {
      if (line === 'LOGIN ups' && ++logins <= 2) connection.write('ERR ACCESS-DENIED\n');
      else connection.write('OK\n');
    });
    const ready = await record.reach('ready');
    expect(ready.kind).toBe('ready');
    const waits = record.states.filter((s) => s.kind === 'waiting');
    expect(waits).toMatchObject([
      { attempt: 0, delayMs: 5, error: { name: 'NutError', nutCode: 'ACCESS-DENIED' } },
      { attempt: 1, delayMs: 10, error: { nutCode: 'ACCESS-DENIED' } },
    ]);
  });

  it('close() while ready closes the client and ends in closed, without reconnecting', async () => {
    const { server, session, record } = await setup(okToEverything);
    await record.reach('ready');
    await session.close();
    await (await server.connection(0)).closed;
    expect(record.kinds()).toEqual(['connecting', 'ready', 'closed']);
    expect(session.state).toEqual({ kind: 'closed' });
  });

  it('close() while waiting to retry stops at once', async () => {
    const port = await freePort();
    const record = recorder();
    const session = createNutSession({
      client: { host: '127.0.0.1', port, timeoutMs: 2_000 },
      onState: record.onState,
      // Far longer than the test timeout: only an aborted sleep lets close() return.
      backoff: { initial: 600_000, max: 600_000 },
    });
    const waiting = await record.reach('waiting');
    expect(waiting).toMatchObject({ error: { reason: 'connect-failed' } });
    await session.close();
    expect(record.kinds()).toEqual(['connecting', 'waiting', 'closed']);
  });
});
