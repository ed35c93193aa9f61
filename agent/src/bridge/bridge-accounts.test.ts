import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createManualClock } from '../../../shared/src/clock.js';
import { silentLogger } from '../../../shared/src/logger.js';
import { hashNutPassword } from '../../../shared/src/nut-password.js';
import type { BridgeClaims } from '../../../shared/src/protocol.js';
import { openRawNut, type RawNut } from '../../../test/nut/raw-nut.js';
import type { NutServer } from '../nut-server/server.js';
import { type Bridge, startBridge } from './bridge-role.js';
import type { BridgeState } from './bridge-state.js';

/**
 * Two Synology DSM boxes, both logging in as monuser/secret (DSM has no fields for them), told apart
 * by the address they connect from: each is bound to its own (`--from`). Linux routes all of 127/8
 * to lo, so each client binds its socket to another loopback address.
 */

let claims: BridgeClaims;
beforeAll(async () => {
  const secret = await hashNutPassword('secret');
  claims = {
    kind: 'bridge',
    version: 1,
    upses: [
      {
        name: 'nas-ups',
        status: ['OB', 'DISCHRG'],
        vars: { 'battery.charge': '80' },
        dead: false,
        observedAt: 1,
      },
    ],
    hosts: [
      {
        name: 'nas2',
        ups: ['nas-ups'],
        alias: 'ups',
        fsd: false,
        offline: [],
        fallback: null,
        minSupplies: 1,
      },
      {
        name: 'nas3',
        ups: ['nas-ups'],
        alias: 'ups',
        fsd: false,
        offline: [],
        fallback: null,
        minSupplies: 1,
      },
    ],
    accounts: [
      { username: 'monuser', hash: secret, host: 'nas2', from: ['127.0.0.2'] },
      { username: 'monuser', hash: secret, host: 'nas3', from: ['127.0.0.3/32'] },
    ],
  };
});

const fired = new Set<string>();
const left: [string, string][] = [];
const bridges: Bridge[] = [];
const conversations: RawNut[] = [];
afterEach(async () => {
  fired.clear();
  left.length = 0;
  for (const raw of conversations.splice(0)) raw.close();
  for (const bridge of bridges.splice(0)) await bridge.stop();
});

/** The bridge role itself (server, auth, source, confirmations) over a state that FSD orders change. */
async function startBridgeServer(): Promise<NutServer> {
  const listeners: (() => void)[] = [];
  const state: BridgeState = {
    get claims() {
      return claims;
    },
    accept: async () => undefined,
    fsdOrdered: (host) => {
      fired.add(host);
      for (const listener of listeners) listener();
    },
    setOfflineFsd: () => undefined,
    fsd: (host) => fired.has(host),
    onChange: (listener) => listeners.push(listener),
  };
  const bridge = await startBridge({
    config: { listen: { host: '127.0.0.1', port: 0 }, allow: undefined, tls: undefined },
    state,
    clock: createManualClock(0),
    logger: silentLogger,
    onLeft: (host, how) => left.push([host, how]),
  });
  bridges.push(bridge);
  return bridge.server;
}

const roleOf = (server: NutServer): Bridge => {
  const bridge = bridges.find((b) => b.server === server);
  if (bridge === undefined) throw new Error('no such bridge');
  return bridge;
};

/** DSM's upsmon from `from`: logs in as monuser/secret to `ups`; the LOGIN reply and a poll. */
async function dsmFrom(server: NutServer, from: string, password = 'secret') {
  const raw = await openRawNut(server.port, '127.0.0.1', from);
  conversations.push(raw);
  const send = async (line: string) => (await raw.send(`${line}\n`, 1))[0];
  expect(await send('USERNAME monuser')).toBe('OK\n');
  expect(await send(`PASSWORD ${password}`)).toBe('OK\n');
  const login = await send('LOGIN ups');
  return { login, status: () => send('GET VAR ups ups.status'), logout: () => send('LOGOUT') };
}

describe('one fixed account (monuser/secret) shared by hosts bound to their addresses', () => {
  it('each DSM sees FSD only when its own stage fired', async () => {
    const server = await startBridgeServer();
    const nas2 = await dsmFrom(server, '127.0.0.2');
    const nas3 = await dsmFrom(server, '127.0.0.3');
    expect([nas2.login, nas3.login]).toEqual(['OK\n', 'OK\n']);
    expect(await nas2.status()).toBe('VAR ups ups.status "OB DISCHRG"\n');
    expect(await nas3.status()).toBe('VAR ups ups.status "OB DISCHRG"\n');

    fired.add('nas2');
    expect(await nas2.status()).toBe('VAR ups ups.status "FSD OB DISCHRG"\n');
    expect(await nas3.status()).toBe('VAR ups ups.status "OB DISCHRG"\n');

    fired.add('nas3');
    expect(await nas3.status()).toBe('VAR ups ups.status "FSD OB DISCHRG"\n');
  });

  it("each one's leaving confirms its own host's FSD, not the other's", async () => {
    const server = await startBridgeServer();
    const { ability } = roleOf(server);
    const nas2 = await dsmFrom(server, '127.0.0.2');
    expect(nas2.login).toBe('OK\n');
    expect([ability.loggedIn('nas2'), ability.loggedIn('nas3')]).toEqual([true, false]);
    const nas3 = await dsmFrom(server, '127.0.0.3');
    expect(nas3.login).toBe('OK\n');
    expect(ability.loggedIn('nas3')).toBe(true);

    ability.showFsd('nas2', 0);
    const leaving = ability.waitForLeave('nas2');
    // nas3 (not shown FSD) leaves first: it confirms nothing; then nas2 leaves.
    expect(await nas3.logout()).toBe('OK Goodbye\n');
    expect(await nas2.logout()).toBe('OK Goodbye\n');
    expect(await leaving).toEqual({ left: true, how: 'logout', address: '127.0.0.2' });
    expect(left).toEqual([['nas2', 'logout']]);
  });

  it("a host's leaving counts only once no client logged in as it is still connected", async () => {
    const server = await startBridgeServer();
    const { ability } = roleOf(server);
    // Two connections logged in as nas2 (a second MONITOR line, or someone who knows its password).
    const first = await dsmFrom(server, '127.0.0.2');
    const second = await dsmFrom(server, '127.0.0.2');
    expect([first.login, second.login]).toEqual(['OK\n', 'OK\n']);
    ability.showFsd('nas2', 0);
    let settled = false;
    const leaving = ability.waitForLeave('nas2').then((how) => {
      settled = true;
      return how;
    });
    expect(await first.logout()).toBe('OK Goodbye\n');
    expect(await second.status()).toBe('VAR ups ups.status "FSD OB DISCHRG"\n');
    expect(settled).toBe(false);
    expect(left).toEqual([]);
    expect(await second.logout()).toBe('OK Goodbye\n');
    expect(await leaving).toEqual({ left: true, how: 'logout', address: '127.0.0.2' });
    expect(left).toEqual([['nas2', 'logout']]);
  });

  it('a third address is refused at LOGIN as a wrong password is, and never sees FSD', async () => {
    const server = await startBridgeServer();
    fired.add('nas2');
    fired.add('nas3');
    const stranger = await dsmFrom(server, '127.0.0.4');
    expect(stranger.login).toBe('ERR ACCESS-DENIED\n');
    expect(await stranger.status()).toBe('VAR ups ups.status "OB DISCHRG"\n');
    const nas2 = await dsmFrom(server, '127.0.0.2');
    expect(nas2.login).toBe('OK\n');
    expect(await nas2.status()).toBe('VAR ups ups.status "FSD OB DISCHRG"\n');
  });

  it("failures are throttled per address as before: ten from nas2's address lock it out, not nas3", async () => {
    const server = await startBridgeServer();
    for (let attempt = 0; attempt < 10; attempt++)
      expect((await dsmFrom(server, '127.0.0.2', 'wrong')).login).toBe('ERR ACCESS-DENIED\n');
    expect((await dsmFrom(server, '127.0.0.2')).login).toBe('ERR ACCESS-DENIED\n');
    expect((await dsmFrom(server, '127.0.0.3')).login).toBe('OK\n');
  });
});
