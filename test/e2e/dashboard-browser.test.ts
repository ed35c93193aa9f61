/**
 * The dashboard in real headless Chromium (Debian's, driven by playwright-core) against a
 * coordinator process, a watcher agent reading a real upsd, and two host agents. Signed in, the
 * page shows the UPS on mains with its gauges; a drill started from the page shows each host's
 * checks as they come; the power is cut at upsd and, without a reload, the page shows "on
 * battery", the run's timeline, the stage firing and the host going down; a read-only token sees
 * no action. Screenshots at desktop and phone widths, light and dark, go to test/artifacts/.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chromiumMissingReason, launchChromium } from '../helpers/chromium.js';
import { createPostgresDatabase, probePostgres } from '../helpers/database.js';
import { type FleetHarness, hostSection, startFleet, watcherSection } from '../helpers/fleet-harness.js';
import { describeRequiring } from '../helpers/requirements.js';
import { recordedHosts, recordingShutdown } from '../helpers/shutdown-record.js';
import { startUpsd, type UpsdHarness, upsdMissingReason } from '../helpers/upsd.js';

const ADMIN_TOKEN = 'ufa_dashboard-e2e-admin-token-0123456789';
const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;
const ON_MAINS = {
  'battery.charge': '100',
  'battery.charge.low': '20',
  'battery.charge.warning': '35',
  'battery.runtime': '2400',
  'battery.runtime.low': '300',
  'ups.load': '23',
  'input.voltage': '231',
  'input.voltage.nominal': '230',
  'input.transfer.low': '170',
  'input.transfer.high': '280',
  'device.mfr': 'APC',
  'device.model': 'Back-UPS BK650M2-CH',
};

async function missing(): Promise<string | undefined> {
  const probe = await probePostgres();
  return (
    upsdMissingReason() ??
    chromiumMissingReason() ??
    (probe.ok ? undefined : `PostgreSQL unreachable: ${probe.reason}`)
  );
}

/** What the test reads in the page (it runs there; the test's own types have no DOM). */
interface InPage {
  document: {
    querySelector(selector: string): { textContent: string | null } | null;
    body: unknown;
    getElementById(id: string): { dataset: { state?: string } } | null;
    querySelectorAll(selector: string): { length: number };
  };
  getComputedStyle(element: unknown): { backgroundColor: string };
  MutationObserver: new (
    callback: () => void,
  ) => { observe(target: unknown, options: { attributes: boolean }): void };
  liveStates: (string | undefined)[];
  performance: {
    getEntriesByType(
      type: string,
    ): { responseEnd: number; domContentLoadedEventEnd: number; loadEventEnd: number }[];
  };
}

/** Waits until the text of `selector` matches `pattern` (the page updates itself; no reload). */
async function waitForText(page: Page, selector: string, pattern: RegExp, what: string): Promise<void> {
  try {
    await page.waitForFunction(
      ([sel, source]) =>
        new RegExp(source).test(
          (globalThis as unknown as InPage).document.querySelector(sel)?.textContent ?? '',
        ),
      [selector, pattern.source] as const,
      { timeout: 60_000 },
    );
  } catch (error) {
    const text = await page
      .locator(selector)
      .first()
      .textContent()
      .catch(() => null);
    throw new Error(`${what}: ${selector} never matched ${pattern} (it reads: ${JSON.stringify(text)})`, {
      cause: error,
    });
  }
}

async function signIn(page: Page, base: string, token: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.fill('input[name=token]', token);
  await page.click('button[type=submit]');
  await page.waitForSelector('#live[data-state=live]', { timeout: 60_000 });
}

describeRequiring('the dashboard in Chromium', await missing(), () => {
  let dir: string;
  let upsd: UpsdHarness;
  let fleet: FleetHarness;
  let database: { url: string; drop(): Promise<void> };
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const record = () => join(dir, 'shutdowns.log');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'upsfleet-dashboard-'));
    await mkdir(ARTIFACTS, { recursive: true });
    [upsd, database, browser] = await Promise.all([startUpsd(), createPostgresDatabase(), launchChromium()]);
    await upsd.setStatus('OL', ON_MAINS);
    fleet = await startFleet({ dir, adminToken: ADMIN_TOKEN, database: { url: database.url } });
    await fleet.api('PUT', '/api/v1/policy', {
      ups: [{ name: 'nas-ups', watcher: 'nas' }],
      hosts: [
        { name: 'web1', ups: ['nas-ups'] },
        { name: 'db1', ups: ['nas-ups'] },
      ],
      stages: [
        { name: 'apps', hosts: ['web1'], trigger: { onBattery: '2s' }, grace: '30s' },
        { name: 'databases', hosts: ['db1'], trigger: { onBattery: '1h' }, after: ['apps'], grace: '30s' },
      ],
      restore: { stableFor: '1h' },
    });
    const nas = await fleet.enroll('nas');
    await fleet.writeAgentConfig(
      nas,
      watcherSection(upsd, 'nas-ups', ['pollInterval: 250ms', 'alertSnapshotInterval: 1s']),
    );
    for (const host of ['web1', 'db1']) {
      const agent = await fleet.enroll(host);
      await fleet.writeAgentConfig(
        agent,
        hostSection(recordingShutdown(record(), host, { killAgent: true })),
      );
    }
    await Promise.all(['nas', 'web1', 'db1'].map((name) => fleet.startAgent(name)));
    await fleet.coordinator.waitForLine(/UPS event ups=nas-ups status=OL/, 'the first reading');
    admin = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await admin.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  afterAll(async () => {
    await browser?.close();
    await fleet?.close();
    await upsd?.stop();
    await database?.drop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('refuses a wrong token with a clear message and no page, then signs in and shows the UPS on mains with its gauges', async () => {
    await page.goto(`${fleet.base}/`);
    await page.fill('input[name=token]', 'ufa_not-a-token-of-this-coordinator');
    await page.click('button[type=submit]');
    await waitForText(page, '[role=alert]', /unknown, expired or revoked/, 'the refusal');
    expect(await page.locator('#ups').count()).toBe(0);

    await signIn(page, fleet.base, ADMIN_TOKEN);
    const card = '[data-ups="nas-ups"]';
    await waitForText(page, `${card} .status`, /on mains\s+OL/, 'status in plain words, NUT words beside');
    const gauges = await page.locator(`${card} .gauge`).allTextContents();
    expect(gauges.join(' | ')).toMatch(/Charge.*100 %.*warning 35 %.*low 20 %/);
    expect(gauges.join(' | ')).toMatch(/Runtime.*40 min.*low 5 min/);
    expect(gauges.join(' | ')).toMatch(/Load.*23 %/);
    expect(gauges.join(' | ')).toMatch(/Input.*231 V/);
    await page.waitForSelector(`${card} .chart canvas`);
    await waitForText(page, '#policy .plan', /on battery now.*apps at \+2 s/, 'the plan');
    await waitForText(page, '#hosts [data-host="web1"]', /connected/, 'web1 connected');
    // Marks the document: a reload would lose it.
    await page.evaluate(() => {
      (globalThis as unknown as { untouched: boolean }).untouched = true;
    });
  });

  it('a read-only token sees everything and no action, and the API refuses it anyway', async () => {
    const { token } = await fleet.api<{ token: string }>('POST', '/api/v1/tokens', {
      name: 'wall-screen',
      scopes: ['read'],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const wall = await context.newPage();
    await signIn(wall, fleet.base, token);
    await waitForText(wall, '[data-ups="nas-ups"] .status', /on mains/, 'the UPS');
    expect(await wall.locator('#actions').count()).toBe(0);
    expect(await wall.locator('form[data-action]').count()).toBe(0);
    expect(await wall.locator('.who').textContent()).toMatch(/read only/);
    const refused = await wall.evaluate(
      async () => (await fetch('/api/v1/drills', { method: 'POST' })).status,
    );
    expect(refused).toBe(403);
    await context.close();
  });

  it('no cross-site request can act with the cookie', async () => {
    const [cookie] = await admin.cookies();
    expect(cookie).toMatchObject({ name: 'upsfleet_session', httpOnly: true, sameSite: 'Strict' });
    const forged = await fetch(`${fleet.base}/api/v1/drills`, {
      method: 'POST',
      headers: { cookie: `upsfleet_session=${cookie?.value}`, origin: 'http://evil.example' },
    });
    expect(forged.status).toBe(403);
    expect(await forged.text()).toMatch(/cross-site request refused/);
  });

  it('a drill started from the page shows each host’s checks as they come', async () => {
    await page.click('form[data-action=drill] button');
    await waitForText(page, '.action-result', /Drill \d+ started/, 'the drill started');
    for (const host of ['web1', 'db1']) {
      const row = `#run [data-order-host="${host}"]`;
      await waitForText(page, row, /checks passed/, `${host}'s checks`);
      await waitForText(page, row, /would run: .*node/, `${host}'s check lines`);
    }
    await waitForText(page, '#run .run-head', /Drill \d+\s+ended/, 'the drill ended');
    await waitForText(page, '#hosts [data-host="db1"]', /passed/, 'last drill result per host');
    expect(await recordedHosts(record())).toEqual([]);
  });

  it('the power is cut at upsd: on battery, the run’s timeline, the stage fires and the host goes down, live', async () => {
    await upsd.setStatus('OB DISCHRG', {
      ...ON_MAINS,
      'battery.charge': '84',
      'battery.runtime': '1500',
      'input.voltage': '0',
    });
    const card = '[data-ups="nas-ups"]';
    await waitForText(page, `${card} .status`, /on battery.*OB DISCHRG/, 'on battery');
    await waitForText(page, '#run .run-head', /Outage \d+\s+in progress/, 'the outage run');
    await waitForText(page, '#run .timeline', /stage apps fired/, 'the stage fired');
    await waitForText(page, '#run [data-order-host="web1"]', /down/, 'web1 down');
    await waitForText(page, '#run .timeline', /web1 down/, 'web1 down in the timeline');
    await waitForText(page, '#hosts [data-host="web1"]', /offline/, 'web1 offline');
    await page.waitForSelector('#run .curve canvas');
    expect(await recordedHosts(record())).toEqual(['web1']);
    expect(await page.evaluate(() => (globalThis as unknown as { untouched?: boolean }).untouched)).toBe(
      true,
    );
    expect(pageErrors).toEqual([]);
  });

  it('screenshots at desktop and phone widths, light and dark', async () => {
    const state = await admin.storageState();
    for (const [name, viewport] of [
      ['desktop', { width: 1440, height: 1000 }],
      ['phone', { width: 390, height: 844 }],
    ] as const)
      for (const scheme of ['light', 'dark'] as const) {
        const context = await browser.newContext({ viewport, colorScheme: scheme, storageState: state });
        const shot = await context.newPage();
        await shot.goto(`${fleet.base}/`);
        await shot.waitForSelector('#live[data-state=live]');
        await shot.waitForSelector('[data-ups="nas-ups"] .chart canvas');
        const background = await shot.evaluate(() => {
          const page = globalThis as unknown as InPage;
          return page.getComputedStyle(page.document.body).backgroundColor;
        });
        expect(background, `${scheme} background`).toBe(
          scheme === 'dark' ? 'rgb(15, 20, 26)' : 'rgb(246, 247, 249)',
        );
        await shot.screenshot({ path: join(ARTIFACTS, `dashboard-${name}-${scheme}.png`), fullPage: true });
        await context.close();
      }
  });

  it('a dropped stream reconnects by itself and says so meanwhile', async () => {
    // Every state the indicator shows, recorded by the test (the page has no hook for it).
    await page.evaluate(() => {
      const page = globalThis as unknown as InPage;
      const indicator = page.document.getElementById('live');
      page.liveStates = [];
      new page.MutationObserver(() => page.liveStates.push(indicator?.dataset.state)).observe(indicator, {
        attributes: true,
      });
    });
    await fleet.restartCoordinator('SIGTERM');
    await page.waitForFunction(
      () => (globalThis as unknown as InPage).liveStates.at(-1) === 'live',
      undefined,
      { timeout: 60_000 },
    );
    const states = await page.evaluate(() => (globalThis as unknown as InPage).liveStates);
    expect(states).toContain('reconnecting');
    expect(states.at(-1)).toBe('live');
  }, 240_000);

  it('first render with 100 hosts and a week of history (measured, not asserted)', async () => {
    const sql = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      await sql`insert into agents (name, public_key, kid)
        select 'rack-' || lpad(n::text, 3, '0'),
               jsonb_build_object('kty', 'OKP', 'crv', 'Ed25519', 'x', rpad(n::text, 43, 'A')),
               'k' || n
        from generate_series(1, 100) n`;
      await sql`insert into ups_readings (ups, minute, charge, runtime, load, voltage, on_battery)
        select 'nas-ups', date_trunc('minute', now()) - make_interval(mins => n),
               100 - (n % 50), 2400 - (n % 600), 20 + (n % 15), 228 + (n % 5), false
        from generate_series(1, 7 * 24 * 60) n on conflict do nothing`;
    } finally {
      await sql.end({ timeout: 1 });
    }
    const context = await browser.newContext({
      viewport: { width: 1440, height: 1000 },
      storageState: await admin.storageState(),
    });
    const fresh = await context.newPage();
    const started = Date.now();
    await fresh.goto(`${fleet.base}/`);
    await fresh.waitForSelector('[data-ups="nas-ups"] .chart canvas');
    const firstRender = Date.now() - started;
    const timing = await fresh.evaluate(() => {
      const page = globalThis as unknown as InPage;
      const [nav] = page.performance.getEntriesByType('navigation');
      return {
        responseEnd: Math.round(nav?.responseEnd ?? 0),
        domContentLoaded: Math.round(nav?.domContentLoadedEventEnd ?? 0),
        load: Math.round(nav?.loadEventEnd ?? 0),
        hosts: page.document.querySelectorAll('#hosts tbody tr').length,
      };
    });
    expect(timing.hosts).toBeGreaterThanOrEqual(100);
    const figure = { firstRenderMs: firstRender, ...timing, note: 'measured on a loaded 2-core machine' };
    console.log(`dashboard first render, 100 hosts + a week of history: ${JSON.stringify(figure)}`);
    await writeFile(join(ARTIFACTS, 'first-render.json'), `${JSON.stringify(figure, null, 2)}\n`);
    await context.close();
  });
});
