import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAdaptorServer, type ServerType } from '@hono/node-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminCommand } from '../../../cli/src/admin-commands.js';
import { createManualClock } from '../../../shared/src/clock.js';
import { silentLogger } from '../../../shared/src/logger.js';
import { hashNutPassword } from '../../../shared/src/nut-password.js';
import type { BridgeClaims } from '../../../shared/src/protocol.js';
import { signUpsEvent } from '../../../shared/src/tokens.js';
import { createTestCoordinator, type TestCoordinator } from '../../../test/helpers/coordinator-app.js';
import { openRawNut, type RawNut } from '../../../test/nut/raw-nut.js';
import { createNutServer, type NutServer } from '../nut-server/server.js';
import { createBridgeAuth } from './bridge-auth.js';
import { createBridgeSource } from './bridge-source.js';
import { type BridgeState, openBridgeState } from './bridge-state.js';

/**
 * The command sequences of three NUT clients that cannot run here, taken from their source (listed in
 * the README, "What real clients send"), replayed byte for byte against the bridge's NUT server with
 * the bridge's own source and auth. Each test parses the replies the way that client's code does.
 */

const VARS = {
  'battery.charge': '80',
  'battery.runtime': '1260',
  'battery.voltage': '13.4',
  'input.voltage': '0.0',
  'output.voltage': '230.0',
  'ups.load': '21',
  'ups.mfr': 'EATON',
  'ups.model': '5E 850i',
  'ups.realpower.nominal': '480',
};

/** nas2 (Synology DSM, alias `ups`) is in a stage that can fire; winbox (WinNUT) and HA only read. */
function claimsWith(accounts: BridgeClaims['accounts']): BridgeClaims {
  return {
    kind: 'bridge',
    version: 1,
    upses: [{ name: 'nas-ups', status: ['OB', 'DISCHRG'], vars: VARS, dead: false, observedAt: 1 }],
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
        alias: null,
        fsd: false,
        offline: [],
        fallback: null,
        minSupplies: 1,
      },
    ],
    accounts,
  };
}

let claims: BridgeClaims;
beforeAll(async () => {
  claims = claimsWith([
    { username: 'nas3', hash: await hashNutPassword('nas3-pw'), host: 'nas3', from: null },
    { username: 'homeassistant', hash: await hashNutPassword('ha-pw'), host: null, from: null },
  ]);
});

const fired = new Set<string>();
const servers: NutServer[] = [];
const conversations: RawNut[] = [];
afterEach(async () => {
  fired.clear();
  for (const raw of conversations.splice(0)) raw.close();
  for (const server of servers.splice(0)) await server.close();
});

async function bridge(
  state = { claims, fsd: (host: string) => fired.has(host) } as unknown as BridgeState,
): Promise<(bytes: string, replies?: number) => Promise<string[]>> {
  const server = await createNutServer({
    source: createBridgeSource(state),
    auth: createBridgeAuth(state, { clock: createManualClock(0), logger: silentLogger }),
    port: 0,
  });
  servers.push(server);
  const raw = await openRawNut(server.port);
  conversations.push(raw);
  return (bytes, replies = 1) => raw.send(bytes, replies);
}

describe('Home Assistant (aionut AIONUTClient, as homeassistant/components/nut uses it)', () => {
  /** aionut's list_vars: `VAR ` lines split on the first three spaces, quotes stripped. */
  const parseVars = (lines: string[]) =>
    Object.fromEntries(
      lines
        .map((line) => line.replace(/\n$/, ''))
        .filter((line) => line.startsWith('VAR '))
        .map((line) => {
          const [, , , name = '', value = ''] = line.match(/^(\S+) (\S+) (\S+) (.*)$/) ?? [];
          return [name, value.replace(/^"+|"+$/g, '')];
        }),
    );

  it('logs in without LOGIN, finds the UPS, reads every variable and the (empty) command list', async () => {
    const send = await bridge();
    // _connect: USERNAME and PASSWORD, each must not answer ERR.
    expect(await send('USERNAME homeassistant\n')).toEqual(['OK\n']);
    expect(await send('PASSWORD ha-pw\n')).toEqual(['OK\n']);
    // list_ups: BEGIN LIST UPS, then up to END LIST UPS, the first line starting with UPS.
    const upses = await send('LIST UPS\n');
    expect(upses[0]).toBe('BEGIN LIST UPS\n');
    expect(upses[1]).toMatch(/^UPS /);
    expect(upses.at(-1)).toBe('END LIST UPS\n');
    expect(upses.slice(1, -1)).toEqual([
      'UPS nas-ups "upsfleet: nas-ups"\n',
      'UPS ups "upsfleet: nas-ups"\n',
    ]);
    // The integration takes the first UPS (or the one picked in its config flow).
    const vars = await send('LIST VAR nas-ups\n');
    expect(vars[0]).toBe('BEGIN LIST VAR nas-ups\n');
    expect(vars.at(-1)).toBe('END LIST VAR nas-ups\n');
    expect(parseVars(vars)).toEqual({ ...VARS, 'ups.status': 'OB DISCHRG' });
    // list_commands: the buttons it offers; none, so nothing can be run through the bridge.
    expect(await send('LIST CMD nas-ups\n')).toEqual(['BEGIN LIST CMD nas-ups\n', 'END LIST CMD nas-ups\n']);
  });

  it('is a reader: a host stage that fired does not show it FSD', async () => {
    fired.add('nas2');
    const send = await bridge();
    await send('USERNAME homeassistant\n');
    await send('PASSWORD ha-pw\n');
    expect(parseVars(await send('LIST VAR ups\n'))['ups.status']).toBe('OB DISCHRG');
  });
});

describe('WinNUT-Client (Nut_Socket.vb, UPS_Device.vb)', () => {
  /** Query_Data writes WriteLine(query & vbCr): "\r" then Windows' "\r\n". */
  const line = (query: string) => `${query}\r\r\n`;
  /** ExtractData: quotes removed, split on the first three spaces, the last piece. */
  const extract = (reply: string) => reply.trim().replaceAll('"', '').split(' ').slice(3).join(' ');

  it('connects, reads the product info and one poll, falls back on missing variables, logs out', async () => {
    const send = await bridge();
    // Connect: (no USERNAME/PASSWORD when both are set: AuthLogin sends them only with an empty
    // password), VER (5th word = the version), NETVER.
    const [ver = ''] = await send(line('VER'));
    expect(ver.trim().split(' ')[4]).toBe('2.8.0');
    expect(await send(line('NETVER'))).toEqual(['1.3\n']);
    // GetUPSProductInfo then Retrieve_UPS_Datas: one GET VAR per value, in this order.
    const get = async (name: string) => {
      const [reply = ''] = await send(line(`GET VAR nas-ups ${name}`));
      // EnumResponse: ERR words without hyphens must name its enum (VARNOTSUPPORTED → fallback).
      if (reply.startsWith('ERR ')) return reply.trim().split(' ')[1]?.replaceAll('-', '');
      expect(reply).toMatch(new RegExp(`^VAR nas-ups ${name.replaceAll('.', '\\.')} "`));
      return extract(reply);
    };
    const read: Record<string, string | undefined> = {};
    for (const name of [
      'ups.mfr',
      'ups.model',
      'ups.serial',
      'ups.firmware',
      'battery.capacity',
      'output.frequency.nominal',
      'battery.charge',
      'battery.voltage',
      'battery.runtime',
      'output.frequency',
      'input.frequency',
      'input.voltage',
      'output.voltage',
      'ups.load',
      'ups.status',
      'ups.realpower.nominal',
    ])
      read[name] = await get(name);
    expect(read).toEqual({
      'ups.mfr': 'EATON',
      'ups.model': '5E 850i',
      'ups.serial': 'VARNOTSUPPORTED',
      'ups.firmware': 'VARNOTSUPPORTED',
      'battery.capacity': 'VARNOTSUPPORTED',
      'output.frequency.nominal': 'VARNOTSUPPORTED',
      'battery.charge': '80',
      'battery.voltage': '13.4',
      'battery.runtime': '1260',
      'output.frequency': 'VARNOTSUPPORTED',
      'input.frequency': 'VARNOTSUPPORTED',
      'input.voltage': '0.0',
      'output.voltage': '230.0',
      'ups.load': '21',
      'ups.status': 'OB DISCHRG',
      'ups.realpower.nominal': '480',
    });
    // The variables window: LIST VAR, then GET DESC for each (4th piece, quotes removed).
    const list = await send(line('LIST VAR nas-ups'));
    expect(list[0]).toBe('BEGIN LIST VAR nas-ups\n');
    const [desc = ''] = await send(line('GET DESC nas-ups battery.charge'));
    expect(desc.replaceAll('"', '').trim().split(' ').slice(3).join(' ')).toBe('Description unavailable');
    // Disconnect sends LOGOUT.
    expect(await send(line('LOGOUT'))).toEqual(['OK Goodbye\n']);
  });
});

describe('Synology DSM as a network UPS client (NUT upsmon secondary: MONITOR ups@BRIDGE 1 monuser secret)', () => {
  /**
   * DSM's upsmon always logs in as monuser/secret (its UI has no field for them). Its account is
   * made the way an admin makes it, `upsfleet hosts nut-credentials nas2 --username monuser
   * --password secret --from 127.0.0.1`, against a coordinator (in memory, served on a loopback
   * port) whose signed bridge state the bridge's own state code verifies and serves.
   */
  let coordinator: TestCoordinator;
  let http: ServerType;
  let dir: string;
  let dsmState: BridgeState;
  beforeAll(async () => {
    coordinator = await createTestCoordinator();
    http = createAdaptorServer({ fetch: coordinator.app.fetch });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const { port } = http.address() as AddressInfo;
    const env = { UPSFLEET_URL: `http://127.0.0.1:${port}`, UPSFLEET_TOKEN: coordinator.adminToken };
    const quiet = { write: () => undefined };
    dir = await mkdtemp(join(tmpdir(), 'dsm-replay-'));
    const policyFile = join(dir, 'policy.json');
    await writeFile(
      policyFile,
      JSON.stringify({
        ups: [{ name: 'nas-ups', watcher: 'nas' }],
        hosts: [
          { name: 'nas2', ups: ['nas-ups'], nut: { bridge: 'nas', alias: 'ups' } },
          { name: 'nas3', ups: ['nas-ups'], nut: { bridge: 'nas' } },
        ],
        stages: [
          { name: 'first', hosts: ['nas3'], trigger: { onBattery: '1m' } },
          { name: 'second', hosts: ['nas2'], after: ['first'], trigger: { onBattery: '5m' } },
        ],
      }),
    );
    expect(await adminCommand('policy', ['apply', policyFile], env, quiet)).toBe(0);
    // The bridge agent "nas" is connected: what the coordinator sends it is captured.
    const agent = await coordinator.enroll('nas');
    const frames: string[] = [];
    coordinator.hub.add({ agentId: agent.agentId, send: (frame) => frames.push(frame), close: () => {} });
    await coordinator.fleet.agentReady(agent.agentId, 'nas', {
      listen: '127.0.0.1:3493',
      accountAddresses: true,
    });
    // Its watcher reads the UPS on battery (no stage fires: the clock stands still).
    const event = await signUpsEvent(
      agent.keyPair,
      agent.agentId,
      {
        seq: 1,
        ups: 'nas-ups',
        observedAt: coordinator.clock.now(),
        events: ['ONBATT'],
        status: ['OB', 'DISCHRG'],
        vars: VARS,
      },
      coordinator.clock.now(),
    );
    expect((await coordinator.postJson('/agent/v1/events', { events: [event] })).status).toBe(200);
    const args = ['nut-credentials', 'nas2', '--username', 'monuser', '--password', 'secret'];
    expect(await adminCommand('hosts', [...args, '--from', '127.0.0.1'], env, quiet)).toBe(0);
    const token = frames
      .map((frame) => JSON.parse(frame) as { type: string; token?: string })
      .findLast((frame) => frame.type === 'bridge')?.token;
    dsmState = await openBridgeState({
      agentId: agent.agentId,
      coordinatorKeys: () => [coordinator.signingKey.publicKey],
      clockToleranceMs: 30_000,
      file: join(dir, 'bridge-state.jwt'),
      clock: coordinator.clock,
      logger: silentLogger,
    });
    await dsmState.accept(token ?? 'no bridge state was sent');
    expect(dsmState.claims?.accounts).toEqual([
      {
        username: 'monuser',
        hash: expect.stringMatching(/^pbkdf2-sha256\$/),
        host: 'nas2',
        from: ['127.0.0.1'],
      },
    ]);
  });
  afterAll(async () => {
    await new Promise((resolve) => http.close(resolve));
    await coordinator.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** upsmon: try_connect (STARTTLS via upscli_connect), do_upsd_auth, then pollups each POLLFREQ. */
  async function login() {
    const send = await bridge(dsmState);
    // No certificate on the bridge: the same answer as an upsd without CERTFILE; upsmon goes on in clear.
    expect(await send('STARTTLS\n')).toEqual(['ERR FEATURE-NOT-CONFIGURED\n']);
    expect(await send('USERNAME monuser\n')).toEqual(['OK\n']);
    expect(await send('PASSWORD secret\n')).toEqual(['OK\n']);
    expect(await send('LOGIN ups\n')).toEqual(['OK\n']);
    return send;
  }

  it('polls ups.status under the name `ups` and sees FSD only once its own stage fired', async () => {
    const send = await login();
    expect(await send('GET VAR ups ups.status\n')).toEqual(['VAR ups ups.status "OB DISCHRG"\n']);
    // Another host's stage: not this one's.
    dsmState.fsdOrdered('nas3', coordinator.clock.now());
    expect(await send('GET VAR ups ups.status\n')).toEqual(['VAR ups ups.status "OB DISCHRG"\n']);
    dsmState.fsdOrdered('nas2', coordinator.clock.now());
    // parse_status → ups_fsd → forceshutdown: SHUTDOWNCMD (Safe Mode on DSM).
    expect(await send('GET VAR ups ups.status\n')).toEqual(['VAR ups ups.status "FSD OB DISCHRG"\n']);
  });

  it('with a wrong password is refused at LOGIN, as upsd refuses it', async () => {
    const send = await bridge(dsmState);
    expect(await send('USERNAME monuser\n')).toEqual(['OK\n']);
    expect(await send('PASSWORD wrong\n')).toEqual(['OK\n']);
    expect(await send('LOGIN ups\n')).toEqual(['ERR ACCESS-DENIED\n']);
  });
});
