import { afterAll, beforeAll, expect, it } from 'vitest';
import { createNutClient, type NutClient, type NutClientOptions } from '../../agent/src/nut/client.js';
import { NutConnectionError, NutError } from '../../agent/src/nut/errors.js';
import { describeUpsd, startUpsd, type UpsdHarness } from '../helpers/upsd.js';
import { initialDevice, users } from './upsd-config.js';

/** Resolves with the rejection reason; attached at once, so no rejection goes unhandled. */
const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );

/** Retries `check` until it passes, for at most 5 s (upsd notices a dead driver asynchronously). */
async function eventually(check: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

describeUpsd('NUT client against a real upsd + dummy-ups', () => {
  let upsd: UpsdHarness;
  const clients: NutClient[] = [];

  beforeAll(async () => {
    upsd = await startUpsd();
  });
  afterAll(async () => {
    for (const client of clients) await client.close();
    await upsd?.stop();
  });

  async function connect(options: Partial<NutClientOptions> = {}): Promise<NutClient> {
    const client = await createNutClient({ host: upsd.host, port: upsd.port, timeoutMs: 3_000, ...options });
    clients.push(client);
    return client;
  }

  it('answers VER and NETVER', async () => {
    const client = await connect();
    expect(await client.ver()).toMatch(
      /^Network UPS Tools upsd 2\.8\.\d+ - https?:\/\/www\.networkupstools\.org\/$/,
    );
    expect(await client.netver()).toBe('1.3');
  });

  it('lists the UPS, its variables as dummy-ups serves them, and its commands', async () => {
    const client = await connect();
    expect(await client.listUps()).toEqual([{ name: 'ups', description: 'upsfleet test UPS' }]);
    const vars = await client.listVar('ups');
    expect(vars).toMatchObject({
      ...initialDevice,
      'driver.name': 'dummy-ups',
      'driver.parameter.mode': 'dummy-once',
      'driver.parameter.port': `${upsd.dir}/state/ups.dev`,
    });
    expect(await client.listCmd('ups')).toContain('load.off');
  });

  it('shows OB after setStatus("OB DISCHRG"), then OL again', async () => {
    const client = await connect();
    await upsd.setStatus('OB DISCHRG', { 'battery.charge': '80' });
    expect(await client.getVar('ups', 'ups.status')).toBe('OB DISCHRG');
    expect(await client.getVar('ups', 'battery.charge')).toBe('80');
    await upsd.setStatus('OL', { 'battery.charge': '100' });
    expect(await client.getVar('ups', 'ups.status')).toBe('OL');
  });

  it('logs in as an upsmon secondary, and LOGOUT closes cleanly', async () => {
    const reasons: string[] = [];
    const client = await connect({ onClose: (error) => reasons.push(error.reason) });
    await client.login(users.monitor.username, users.monitor.password, 'ups');
    await client.logout();
    expect(client.closed).toBe(true);
    expect(reasons).toEqual(['closed']);
  });

  it('sends a password with #, " and \\ so that upsd decodes it exactly', async () => {
    const client = await connect();
    await client.login(users.escaped.username, users.escaped.password, 'ups');
    const wrong = await connect();
    const error = await rejection(
      wrong.login(users.escaped.username, users.escaped.password.replace('#', ''), 'ups'),
    );
    expect(error).toMatchObject({ nutCode: 'ACCESS-DENIED' });
  });

  it('accepts a wrong password at PASSWORD and refuses it at LOGIN with ACCESS-DENIED', async () => {
    const client = await connect();
    const error = await rejection(client.login(users.monitor.username, 'wrong-password', 'ups'));
    expect(error).toBeInstanceOf(NutError);
    expect(error).toMatchObject({ nutCode: 'ACCESS-DENIED', command: 'LOGIN ups', ups: 'ups' });
    expect(String(error)).not.toContain('wrong-password');
  });

  it('answers UNKNOWN-UPS for a UPS not in ups.conf', async () => {
    const client = await connect();
    expect(await rejection(client.getVar('nosuch', 'ups.status'))).toMatchObject({ nutCode: 'UNKNOWN-UPS' });
    expect(await rejection(client.listVar('nosuch'))).toMatchObject({
      nutCode: 'UNKNOWN-UPS',
      ups: 'nosuch',
    });
    const login = await rejection(client.login(users.monitor.username, users.monitor.password, 'nosuch'));
    expect(login).toMatchObject({ nutCode: 'UNKNOWN-UPS', command: 'LOGIN nosuch' });
  });

  it('runs INSTCMD for admin, and refuses it to the upsmon secondary', async () => {
    const admin = await connect();
    await admin.authenticate(users.admin.username, users.admin.password);
    expect(await admin.instcmd('ups', 'load.off')).toEqual({ text: '', tracking: undefined });
    const monitor = await connect();
    await monitor.login(users.monitor.username, users.monitor.password, 'ups');
    expect(await rejection(monitor.instcmd('ups', 'load.off'))).toMatchObject({ nutCode: 'ACCESS-DENIED' });
  });

  it('answers STARTTLS with FEATURE-NOT-CONFIGURED when upsd has no certificate', async () => {
    const client = await connect();
    expect(await rejection(client.starttls())).toMatchObject({ nutCode: 'FEATURE-NOT-CONFIGURED' });
    expect(await client.netver()).toBe('1.3');
  });

  it('answers DRIVER-NOT-CONNECTED while the driver is down, and recovers when it is back', async () => {
    const client = await connect();
    await upsd.stopDriver();
    await eventually(async () => {
      expect(await rejection(client.getVar('ups', 'ups.status'))).toMatchObject({
        nutCode: 'DRIVER-NOT-CONNECTED',
      });
    });
    expect(await rejection(client.listVar('ups'))).toMatchObject({ nutCode: 'DRIVER-NOT-CONNECTED' });
    expect(await client.listUps()).toHaveLength(1);
    await upsd.startDriver();
    expect(await client.getVar('ups', 'ups.status')).toBe('OL');
  });

  // Last: upsd does not come back.
  it('rejects a pending request with a connection error when upsd is killed', async () => {
    const reasons: string[] = [];
    const client = await connect({ onClose: (error) => reasons.push(error.reason) });
    expect(await client.getVar('ups', 'ups.status')).toBe('OL');
    upsd.pauseUpsd();
    const pending = rejection(client.getVar('ups', 'ups.status'));
    await upsd.killUpsd();
    const error = await pending;
    expect(error).toBeInstanceOf(NutConnectionError);
    expect(error).toMatchObject({ reason: 'connection-lost', command: 'GET VAR ups ups.status' });
    expect(reasons).toEqual(['connection-lost']);
    expect(client.closed).toBe(true);
  });
});
