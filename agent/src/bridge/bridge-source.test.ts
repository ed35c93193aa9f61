import { describe, expect, it } from 'vitest';
import type { BridgeClaims } from '../../../shared/src/protocol.js';
import type { OwnReading } from '../fallback/own-reading.js';
import type { NutClientView } from '../nut-server/types.js';
import { nasUpsReading } from '../test-support.js';
import { createBridgeSource } from './bridge-source.js';
import type { BridgeState } from './bridge-state.js';

const claims: BridgeClaims = {
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
    { name: 'rack-ups', status: null, vars: {}, dead: false, observedAt: 1 },
  ],
  hosts: [
    { name: 'nas2', ups: ['nas-ups'], alias: 'ups', fsd: true, offline: [], fallback: null, minSupplies: 1 },
    {
      name: 'winbox',
      ups: ['nas-ups'],
      alias: null,
      fsd: false,
      offline: [],
      fallback: null,
      minSupplies: 1,
    },
  ],
  accounts: [
    { username: 'nas2', hash: 'x', host: 'nas2', from: null },
    { username: 'winbox', hash: 'x', host: 'winbox', from: null },
    { username: 'homeassistant', hash: 'x', host: null, from: null },
  ],
};

const state = {
  claims,
  fsd: (host: string) => claims.hosts.some((h) => h.name === host && h.fsd),
} as unknown as BridgeState;

const client = (username: string | undefined, loggedIn: boolean): NutClientView => ({
  connectionId: 1,
  address: '127.0.0.1',
  username,
  loggedInTo: loggedIn ? 'nas-ups' : undefined,
});

const statusSeenBy = (view: NutClientView, ups = 'nas-ups') => {
  const served = createBridgeSource(state)
    .upses(view)
    .find((u) => u.name === ups);
  return typeof served?.data === 'string' ? served.data : served?.data.vars.get('ups.status');
};

describe('bridge source: what each NUT client sees', () => {
  it('shows FSD only to the logged-in host whose stage fired', () => {
    expect(statusSeenBy(client('nas2', true))).toBe('FSD OB DISCHRG');
    expect(statusSeenBy(client('nas2', true), 'ups')).toBe('FSD OB DISCHRG');
    // The same name, not logged in (the password is checked at LOGIN): no FSD.
    expect(statusSeenBy(client('nas2', false))).toBe('OB DISCHRG');
    // Another host of the same UPS, a reader, an anonymous client: the real status.
    expect(statusSeenBy(client('winbox', true))).toBe('OB DISCHRG');
    expect(statusSeenBy(client('homeassistant', true))).toBe('OB DISCHRG');
    expect(statusSeenBy(client(undefined, false))).toBe('OB DISCHRG');
  });

  it('serves every UPS by its policy name, the alias to everyone, unknown state as DATA-STALE', () => {
    const names = createBridgeSource(state)
      .upses(client(undefined, false))
      .map((u) => u.name);
    expect(names).toEqual(['nas-ups', 'rack-ups', 'ups']);
    expect(statusSeenBy(client(undefined, false), 'rack-ups')).toBe('DATA-STALE');
  });

  it('on its own, a UPS the bridge reads itself is served with its own fresh status, charge and runtime', () => {
    const own = nasUpsReading('OL', undefined, 5);
    const source = createBridgeSource(state, () => own);
    const vars = (username: string) => {
      const served = source.upses(client(username, true)).find((u) => u.name === 'nas-ups');
      return typeof served?.data === 'string' ? served.data : Object.fromEntries(served?.data.vars ?? []);
    };
    expect(vars('nas2')).toEqual({
      'ups.status': 'FSD OL',
      'battery.charge': '90',
      'battery.runtime': '600',
    });
    expect(vars('winbox')).toMatchObject({ 'ups.status': 'OL' });
    // A reading that is not fresh is not served: the last state's is.
    const stale = { 'nas-ups': { ...(own['nas-ups'] as OwnReading), fresh: false } };
    expect(createBridgeSource(state, () => stale).upses(client('winbox', true))[0]?.data).toMatchObject({
      vars: new Map([
        ['battery.charge', '80'],
        ['ups.status', 'OB DISCHRG'],
      ]),
    });
  });
});
