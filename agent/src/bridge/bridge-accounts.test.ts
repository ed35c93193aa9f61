import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createManualClock } from '../../../shared/src/clock.js';
import { silentLogger } from '../../../shared/src/logger.js';
import { hashNutPassword } from '../../../shared/src/nut-password.js';
import type { BridgeClaims } from '../../../shared/src/protocol.js';
import { openRawNut, type RawNut } from '../../../test/nut/raw-nut.js';
import { createNutServer, type NutServer } from '../nut-server/server.js';
import { createBridgeAuth } from './bridge-auth.js';
import { createBridgeSource } from './bridge-source.js';
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
      { name: 'nas2', ups: ['nas-ups'], alias: 'ups', fsd: false, offline: [], minSupplies: 1 },
      { name: 'nas3', ups: ['nas-ups'], alias: 'ups', fsd: false, offline: [], minSupplies: 1 },
    ],
    accounts: [
      { username: 'monuser', hash: secret, host: 'nas2', from: ['127.0.0.2'] },
      { username: 'monuser', hash: secret, host: 'nas3', from: ['127.0.0.3/32'] },
    ],
  };
});

const fired = new Set<string>();
const servers: NutServer[] = [];
const conversations: RawNut[] = [];
afterEach(async () => {
  fired.clear();
  for (const raw of conversations.splice(0)) raw.close();
  for (const server of servers.splice(0)) await server.close();
});

async function startBridgeServer(): Promise<NutServer> {
  const state = { claims, fsd: (host: string) => fired.has(host) } as unknown as BridgeState;
  const server = await createNutServer({
    source: createBridgeSource(state),
    auth: createBridgeAuth(state, { clock: createManualClock(0), logger: silentLogger }),
    host: '127.0.0.1',
    port: 0,
  });
  servers.push(server);
  return server;
}

/** DSM's upsmon from `from`: logs in as monuser/secret to `ups`; the LOGIN reply and a poll. */
async function dsmFrom(server: NutServer, from: string, password = 'secret') {
  const raw = await openRawNut(server.port, '127.0.0.1', from);
  conversations.push(raw);
  const send = async (line: string) => (await raw.send(`${line}\n`, 1))[0];
  expect(await send('USERNAME monuser')).toBe('OK\n');
  expect(await send(`PASSWORD ${password}`)).toBe('OK\n');
  const login = await send('LOGIN ups');
  return { login, status: () => send('GET VAR ups ups.status') };
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
