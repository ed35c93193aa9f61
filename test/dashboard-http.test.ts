/**
 * The dashboard over HTTP, in memory: sign-in and its refusals, the cookie and what it may do from
 * another site, a UPS that never reported, the history kept per minute, sections rendered alone,
 * the page's weight, and the bundled assets being those the sources make.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bundleDashboardAssets,
  GENERATED_PATH,
  renderAssetsModule,
} from '../coordinator/src/dashboard/bundle-assets.js';
import { signUpsEvent } from '../shared/src/tokens.js';
import {
  createTestCoordinator,
  type EnrolledAgent,
  type TestCoordinator,
} from './helpers/coordinator-app.js';

let t: TestCoordinator;
let nas: EnrolledAgent;
const SAME_SITE = { 'sec-fetch-site': 'same-origin' };

function signIn(token: string, headers: Record<string, string> = SAME_SITE) {
  return t.request('/sign-in', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ token }).toString(),
  });
}

async function cookieFor(token: string): Promise<string> {
  const response = await signIn(token);
  expect(response.status).toBe(303);
  const cookie = response.headers.get('set-cookie') ?? '';
  expect(cookie).toMatch(/HttpOnly/);
  expect(cookie).toMatch(/SameSite=Strict/);
  return cookie.split(';')[0] ?? '';
}

async function tokenWith(name: string, scopes: string[], expiresIn?: string): Promise<string> {
  const response = await t.admin('POST', '/api/v1/tokens', {
    name,
    scopes,
    ...(expiresIn ? { expiresIn } : {}),
  });
  expect(response.status).toBe(201);
  return String(((await response.json()) as { token: string }).token);
}

beforeAll(async () => {
  t = await createTestCoordinator();
  nas = await t.enroll('nas');
  const applied = await t.admin('PUT', '/api/v1/policy', {
    ups: [
      { name: 'ups-a', watcher: 'nas' },
      { name: 'ups-silent', watcher: 'nas' },
    ],
    hosts: [{ name: 'web-1', ups: ['ups-a'] }],
    stages: [{ name: 'apps', hosts: ['web-1'], trigger: { onBattery: '30s' } }],
  });
  expect(applied.status).toBe(200);
  let seq = 0;
  for (const charge of ['100', '98', '96']) {
    t.clock.advance(20_000);
    const token = await signUpsEvent(
      nas.keyPair,
      nas.agentId,
      {
        seq: ++seq,
        ups: 'ups-a',
        observedAt: t.clock.now(),
        status: ['OL'],
        events: [],
        vars: { 'battery.charge': charge, 'battery.charge.low': '20', 'battery.runtime': '1800' },
      },
      t.clock.now(),
    );
    expect((await t.postJson('/agent/v1/events', { events: [token] })).status).toBe(200);
  }
});

afterAll(async () => {
  await t?.close();
});

describe('sign-in', () => {
  it('shows only the sign-in form without a cookie', async () => {
    const response = await t.request('/');
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('name="token"');
    expect(html).not.toContain('id="ups"');
  });

  it('refuses a wrong token, and an expired or revoked one, with a clear message and no partial page', async () => {
    const wrong = await signIn('ufa_no-such-token');
    expect(wrong.status).toBe(401);
    const html = await wrong.text();
    expect(html).toContain('That token is unknown, expired or revoked.');
    expect(html).not.toContain('id="ups"');
    expect(wrong.headers.get('set-cookie')).toBeNull();

    const shortLived = await tokenWith('short', ['read'], '1h');
    const cookie = await cookieFor(shortLived);
    t.clock.advance(2 * 3_600_000);
    const expired = await t.request('/', { headers: { cookie } });
    expect(expired.status).toBe(401);
    expect(await expired.text()).toContain('no longer valid');
    expect(expired.headers.get('set-cookie')).toMatch(/upsfleet_session=;/);
  });

  it('is refused when the form was posted from another site', async () => {
    const token = await tokenWith('reader', ['read']);
    expect((await signIn(token, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await signIn(token, { origin: 'http://evil.example' })).status).toBe(403);
    expect((await signIn(token, {})).status).toBe(403);
  });
});

describe('the page', () => {
  it('shows a UPS that never reported as "no reading yet", never as zeros', async () => {
    const cookie = await cookieFor(t.adminToken);
    const html = await (await t.request('/', { headers: { cookie } })).text();
    const silent = html.slice(html.indexOf('data-ups="ups-silent"'));
    expect(silent).toMatch(/no reading yet/);
    expect(silent.slice(0, silent.indexOf('</article>'))).not.toMatch(/0 %|0 V/);
    const reported = html.slice(html.indexOf('data-ups="ups-a"'));
    expect(reported).toMatch(/on mains/);
    expect(reported).toMatch(/96 %/);
  });

  it('keeps one reading per minute (its last value) and averages them per chart bucket', async () => {
    const cookie = await cookieFor(t.adminToken);
    const html = await (await t.request('/dashboard/sections?only=ups', { headers: { cookie } })).text();
    const json =
      /<script type="application\/json" class="chart-data">(.*?)<\/script>/.exec(html)?.[1] ?? '{}';
    const history = JSON.parse(json) as { day: { t: number[]; charge: (number | null)[] } };
    // Readings 100 and 98 in the first minute (98 kept), 96 in the next: one 10-minute bucket of the day chart.
    expect(history.day.charge).toEqual([97]);
  });

  it('renders sections alone for live updates, for a read token too; nothing for no token', async () => {
    const cookie = await cookieFor(await tokenWith('wall', ['read']));
    const response = await t.request('/dashboard/sections?only=hosts,policy', { headers: { cookie } });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('<section id="hosts"');
    expect(html).toContain('<section id="policy"');
    expect(html).not.toContain('<section id="ups"');
    expect((await t.request('/dashboard/sections?only=hosts')).status).toBe(401);
    const page = await (await t.request('/', { headers: { cookie } })).text();
    expect(page).not.toContain('data-action=');
  });

  it('lets the cookie act only from the page itself', async () => {
    const cookie = await cookieFor(t.adminToken);
    const forged = await t.request('/api/v1/enrollments', {
      method: 'POST',
      headers: { cookie, origin: 'http://evil.example', 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'evil' }),
    });
    expect(forged.status).toBe(403);
    const own = await t.request('/api/v1/enrollments', {
      method: 'POST',
      headers: { cookie, ...SAME_SITE, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'web-2' }),
    });
    expect(own.status).toBe(201);
  });

  it('weighs at most 150 KiB compressed, every asset included, none from elsewhere', async () => {
    const cookie = await cookieFor(t.adminToken);
    const page = await t.request('/', { headers: { cookie, 'accept-encoding': 'gzip' } });
    const html = gunzipSync(Buffer.from(await page.clone().arrayBuffer())).toString('utf8');
    const assets = [...html.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1] ?? '');
    expect(assets.filter((url) => /^(https?:)?\/\//.test(url))).toEqual([]);
    let total = (await page.arrayBuffer()).byteLength;
    for (const url of assets.filter((u) => u.startsWith('/assets/'))) {
      const asset = await t.request(url, { headers: { 'accept-encoding': 'gzip' } });
      expect(asset.status).toBe(200);
      expect(asset.headers.get('content-encoding')).toBe('gzip');
      total += (await asset.arrayBuffer()).byteLength;
    }
    expect(total).toBeLessThanOrEqual(150 * 1024);
  });
});

it('the bundled assets are what the client sources make (npm run build:dashboard)', async () => {
  const expected = renderAssetsModule(await bundleDashboardAssets());
  expect(await readFile(GENERATED_PATH, 'utf8')).toBe(expected);
});
