/**
 * `POST /api/v1/hosts/NAME/nut-credentials` with a fixed account (Synology DSM's monuser/secret),
 * in memory: the password given is stored hashed and never shown back; one username serves several
 * hosts only when each is bound to addresses that do not overlap; anything else is a 422 naming the clash.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listNutCredentials } from '../coordinator/src/db/queries/nut-credentials.js';
import { verifyNutPassword } from '../shared/src/nut-password.js';
import { createTestCoordinator, type TestCoordinator } from './helpers/coordinator-app.js';

let t: TestCoordinator;
beforeAll(async () => {
  t = await createTestCoordinator();
  const response = await t.admin('PUT', '/api/v1/policy', {
    ups: [{ name: 'nas-ups', watcher: 'nas' }],
    hosts: ['nas2', 'nas3', 'nas4', 'nas5'].map((name) => ({
      name,
      ups: ['nas-ups'],
      nut: { bridge: 'nas', alias: 'ups' },
    })),
    stages: [{ name: 'nas', hosts: ['nas2', 'nas3', 'nas4', 'nas5'], trigger: { onBattery: '60s' } }],
  });
  expect(response.status, await response.text()).toBe(200);
});
afterAll(async () => {
  await t.close();
});

const path = (host: string) => `/api/v1/hosts/${host}/nut-credentials`;

async function answer(response: Response, status: number): Promise<Record<string, unknown>> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return JSON.parse(text) as Record<string, unknown>;
}

describe('a fixed NUT account', () => {
  it('is stored hashed, never shown back, and bound to the addresses given', async () => {
    const body = { username: 'monuser', password: 'secret', from: ['127.0.0.2'] };
    expect(await answer(await t.admin('POST', path('nas2'), body), 200)).toEqual({
      username: 'monuser',
      password: null,
      host: 'nas2',
      from: ['127.0.0.2'],
      ups: 'ups',
      bridge: 'nas',
      address: null,
      monitor: null,
    });
    const row = (await listNutCredentials(t.db)).find((r) => r.name === 'nas2');
    expect(row?.loginName).toBe('monuser');
    expect(row?.sourceAddresses).toEqual(['127.0.0.2']);
    expect(row?.passwordHash).not.toContain('secret');
    expect(await verifyNutPassword('secret', row?.passwordHash ?? '')).toBe(true);
  });

  it('is shared by a second host bound to other addresses', async () => {
    const body = { username: 'monuser', password: 'secret', from: ['127.0.0.3', '2001:db8::/64'] };
    const created = await answer(await t.admin('POST', path('nas3'), body), 200);
    expect(created.from).toEqual(['127.0.0.3', '2001:db8::/64']);
  });

  it('is refused (422, naming the clash) when the addresses overlap or are missing', async () => {
    const overlapping = await t.admin('POST', path('nas4'), {
      username: 'monuser',
      password: 'secret',
      from: ['127.0.0.0/24'],
    });
    expect(overlapping.headers.get('content-type')).toBe('application/problem+json');
    expect(await answer(overlapping, 422)).toMatchObject({
      status: 422,
      detail:
        'NUT username "monuser" is already used by account "nas2" (from 127.0.0.2): 127.0.0.0/24 overlaps 127.0.0.2, so a LOGIN from there could be either account',
      clash: { account: 'nas2', username: 'monuser', from: ['127.0.0.2'] },
    });
    const unbound = await answer(await t.admin('POST', path('nas4'), { username: 'monuser' }), 422);
    expect(unbound.detail).toBe(
      'NUT username "monuser" is already used by account "nas2" (from 127.0.0.2): accounts sharing a username must each be bound to their client\'s addresses (--from ADDR)',
    );
    // A generated account whose name is another account's username clashes as well.
    await answer(
      await t.admin('POST', path('nas5'), { username: 'nas4', password: 'secret', from: ['192.0.2.5'] }),
      200,
    );
    expect((await answer(await t.admin('POST', path('nas4'), {}), 422)).clash).toEqual({
      account: 'nas5',
      username: 'nas4',
      from: ['192.0.2.5'],
    });
    expect((await listNutCredentials(t.db)).map((r) => r.name)).toEqual(['nas2', 'nas3', 'nas5']);
  });

  it('a password chosen by the caller without the addresses of its client is refused (422, saying why)', async () => {
    const lone = await t.admin('POST', path('nas4'), { username: 'lonely', password: 'secret' });
    expect(lone.headers.get('content-type')).toBe('application/problem+json');
    expect(await answer(lone, 422)).toMatchObject({
      status: 422,
      detail:
        'a password you choose needs the addresses its client logs in from (from, --from ADDR): such passwords are often well known (Synology DSM\'s "secret"), and anyone allowed to reach the bridge could log in as "nas4" and, by logging out while it is shown FSD, confirm a shutdown that never started',
    });
    expect((await listNutCredentials(t.db)).map((r) => r.name)).toEqual(['nas2', 'nas3', 'nas5']);
    // A reader sees nothing an anonymous client does not: its fixed password may come from anywhere.
    const reader = await answer(
      await t.admin('POST', path('homeassistant'), { readOnly: true, username: 'ha', password: 'secret' }),
      200,
    );
    expect(reader).toMatchObject({ username: 'ha', host: null, from: null, password: null });
    await answer(await t.admin('DELETE', path('homeassistant')), 200);
  });

  it('a generated account is as before: its password and MONITOR line shown once', async () => {
    await answer(await t.admin('DELETE', path('nas5')), 200);
    const created = await answer(await t.admin('POST', path('nas4'), { from: ['192.0.2.4'] }), 200);
    expect(created).toMatchObject({ username: 'nas4', host: 'nas4', from: ['192.0.2.4'] });
    expect(created.password).toMatch(/^[A-Za-z0-9]{20}$/);
  });

  it('bad addresses and passwords are 400s that say what to fix', async () => {
    const badFrom = await answer(
      await t.admin('POST', path('nas5'), { username: 'monuser', password: 'secret', from: ['nas2.lan'] }),
      400,
    );
    expect(String(badFrom.detail)).toContain('an IP address or CIDR range');
    const badPassword = await answer(await t.admin('POST', path('nas5'), { password: 'two words' }), 400);
    expect(String(badPassword.detail)).toContain('printable ASCII without spaces or double quotes');
    expect(await answer(await t.admin('POST', path('nas5'), { from: [] }), 400)).toMatchObject({
      status: 400,
    });
  });
});
