import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../../shared/src/clock.js';
import { silentLogger } from '../../../shared/src/logger.js';
import { parseCoordinatorMessage } from '../../../shared/src/protocol.js';
import { generateSigningKey, type SigningKeyPair } from '../../../shared/src/signing.js';
import { verifyBriefing } from '../../../shared/src/tokens.js';
import type { UpsView } from '../core/engine-state.js';
import { type PolicyInput, parsePolicy } from '../core/policy.js';
import { createHub } from '../ws/hub.js';
import {
  briefingContent,
  changedFeeds,
  contentKey,
  createBriefings,
  createVersionCounter,
  feedOf,
} from './briefings.js';

const T0 = Date.UTC(2026, 10, 23, 22, 0, 0);

const online: UpsView = {
  power: 'online',
  lowBattery: false,
  fsd: false,
  dead: false,
  charge: 100,
  runtime: 1_800_000,
  batterySince: undefined,
  onlineSince: T0 - 60_000,
  lastSeen: T0,
};
const battery: UpsView = { ...online, power: 'battery', batterySince: T0, onlineSince: undefined };

function policy(changes: Partial<PolicyInput> = {}) {
  return parsePolicy({
    ups: [
      { name: 'ups-a', watcher: 'nas' },
      { name: 'ups-b', watcher: 'nas' },
    ],
    hosts: [
      { name: 'web1', ups: ['ups-a'] },
      { name: 'db1', ups: ['ups-a', 'ups-b'], minSupplies: 2, fallback: { after: '90s' } },
      { name: 'nas2', ups: ['ups-b'], fallback: false },
    ],
    ...changes,
  });
}

/** A store of the reserved ceiling that only grows, like the settings row. */
function ceilingStore() {
  let stored = 0;
  const raise = async (atLeast: number) => {
    stored = Math.max(stored, atLeast);
    return stored;
  };
  return {
    raise,
    get stored() {
      return stored;
    },
  };
}

describe('what a briefing says', () => {
  it('reads each feed as the engine does: in trouble is battery, never heard of is unknown', () => {
    expect(feedOf('ups-a', online)).toEqual({ ups: 'ups-a', power: 'online', dead: false, observedAt: T0 });
    expect(feedOf('ups-a', battery)).toMatchObject({ power: 'battery', dead: false });
    expect(feedOf('ups-a', { ...battery, power: 'unknown', dead: true })).toMatchObject({
      power: 'battery',
      dead: true,
    });
    expect(feedOf('ups-a', { ...online, fsd: true })).toMatchObject({ power: 'battery', dead: false });
    expect(feedOf('ups-a', { ...online, power: 'unknown', onlineSince: undefined })).toMatchObject({
      power: 'unknown',
    });
    expect(feedOf('ups-a', undefined)).toEqual({
      ups: 'ups-a',
      power: 'unknown',
      dead: false,
      observedAt: 0,
    });
  });

  it("carries the host's minSupplies, its stage's offline rule and its fallback rule: its own, else the policy's, false → null", () => {
    const p = policy({
      fallback: { after: '3m' },
      stages: [{ name: 'apps', hosts: ['web1'], trigger: { onBattery: '30s' } }],
    });
    const content = (name: string) => {
      const host = p.hosts.get(name);
      if (host === undefined) throw new Error(`no host ${name}`);
      return briefingContent(p, host, { 'ups-a': battery });
    };
    expect(content('web1')).toEqual({
      kind: 'briefing',
      feeds: [feedOf('ups-a', battery)],
      minSupplies: 1,
      fallback: { after: 180_000 },
      offline: [{ stage: 'apps', trigger: { onBattery: 30_000 }, wait: 0, waitBound: 0 }],
    });
    expect(content('db1')).toMatchObject({ minSupplies: 2, fallback: { after: 90_000 }, offline: [] });
    expect(content('nas2')).toMatchObject({ fallback: null });
    // The default rule is 5 minutes; false turns it off fleet-wide (a host's own rule still counts).
    const web1 = policy().hosts.get('web1');
    if (web1 === undefined) throw new Error('no web1');
    expect(briefingContent(policy(), web1, {}).fallback).toEqual({ after: 300_000 });
    const off = policy({ fallback: false });
    const offWeb1 = off.hosts.get('web1');
    const offDb1 = off.hosts.get('db1');
    if (offWeb1 === undefined || offDb1 === undefined) throw new Error('hosts missing');
    expect(briefingContent(off, offWeb1, {}).fallback).toBeNull();
    expect(briefingContent(off, offDb1, {}).fallback).toEqual({ after: 90_000 });
  });

  it('a new snapshot with the same power changes neither the content key nor the changed feeds', () => {
    const later = { ...battery, lastSeen: T0 + 5_000, charge: 80 };
    const web1 = policy().hosts.get('web1');
    if (web1 === undefined) throw new Error('no web1');
    const p = policy();
    expect(contentKey(briefingContent(p, web1, { 'ups-a': later }))).toBe(
      contentKey(briefingContent(p, web1, { 'ups-a': battery })),
    );
    expect(changedFeeds({ 'ups-a': battery }, { 'ups-a': later })).toEqual([]);
    expect(changedFeeds({ 'ups-a': online }, { 'ups-a': battery, 'ups-b': online })).toEqual([
      'ups-a',
      'ups-b',
    ]);
    expect(changedFeeds({ 'ups-a': battery }, { 'ups-a': { ...battery, dead: true } })).toEqual(['ups-a']);
  });
});

describe('briefing versions', () => {
  it('follow the clock, stay strictly increasing when it steps back, and survive a restart', async () => {
    const clock = createManualClock(T0);
    const store = ceilingStore();
    const next = createVersionCounter(store.raise, clock);
    expect(await next()).toBe(T0);
    expect(await next()).toBe(T0 + 1);
    clock.set(T0 - 3_600_000);
    expect(await next()).toBe(T0 + 2);
    // A reservation covers the next minute: no store write per version.
    expect(store.stored).toBe(T0 + 60_000);

    // Restarted with the clock an hour behind: it starts above everything reserved before.
    const restarted = createVersionCounter(store.raise, clock);
    expect(await restarted()).toBe(T0 + 60_001);
  });
});

describe('sending briefings', () => {
  async function setUp() {
    const clock = createManualClock(T0);
    const hub = createHub();
    const frames = new Map<string, string[]>();
    const connect = (agentId: string) => {
      frames.set(agentId, []);
      hub.add({ agentId, send: (text) => frames.get(agentId)?.push(text), close: () => {} });
    };
    const key: SigningKeyPair = (await generateSigningKey()).keyPair;
    const briefings = createBriefings({
      raiseVersionCeiling: ceilingStore().raise,
      hub,
      clock,
      logger: silentLogger,
      signingKey: key,
    });
    /** The claims of every briefing the agent got, verified as the agent would. */
    const received = async (agentId: string) =>
      Promise.all(
        (frames.get(agentId) ?? []).map(async (text) => {
          const frame = parseCoordinatorMessage(text);
          if (frame.type !== 'briefing') throw new Error(`unexpected ${frame.type}`);
          return (await verifyBriefing(frame.token, key.publicKey, { agentId, now: clock.now() })).claims;
        }),
      );
    return { clock, hub, connect, briefings, received };
  }

  it('after hello, on a power change of a feed, and after a policy change; nothing when nothing changed', async () => {
    const { clock, connect, briefings, received } = await setUp();
    const p = policy();
    connect('agent-web1');
    connect('agent-nas2');
    await briefings.hello(p, { 'ups-a': online }, 'agent-web1', 'web1');
    await briefings.hello(p, { 'ups-a': online }, 'agent-nas2', 'nas2');

    clock.advance(1_000);
    await briefings.powerChanged(p, { 'ups-a': online }, { 'ups-a': battery });
    clock.advance(1_000);
    // Another snapshot on battery: nothing re-signed. ups-b is not a feed of web1.
    await briefings.powerChanged(p, { 'ups-a': battery }, { 'ups-a': { ...battery, lastSeen: T0 + 2_000 } });
    await briefings.policyApplied(p, { 'ups-a': battery });
    clock.advance(1_000);
    await briefings.policyApplied(policy({ fallback: { after: '2s' } }), { 'ups-a': battery });

    const web1 = await received('agent-web1');
    expect(web1.map((claims) => [claims.feeds[0]?.power, claims.fallback?.after])).toEqual([
      ['online', 300_000],
      ['battery', 300_000],
      ['battery', 2_000],
    ]);
    const versions = web1.map((claims) => claims.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);
    // nas2 is fed by ups-b only: one briefing at hello; its rule is off, so the policy change says nothing new.
    expect((await received('agent-nas2')).map((claims) => claims.fallback)).toEqual([null]);
  });

  it('only to connected agents that are hosts in the policy; hello always sends afresh', async () => {
    const { connect, briefings, received } = await setUp();
    const p = policy();
    connect('agent-nas');
    await briefings.hello(p, {}, 'agent-nas', 'nas');
    expect(await received('agent-nas')).toEqual([]);

    connect('agent-web1');
    await briefings.hello(p, {}, 'agent-web1', 'web1');
    await briefings.hello(p, {}, 'agent-web1', 'web1');
    expect(await received('agent-web1')).toHaveLength(2);

    // Gone (its connection closed): a later power change is for its next hello.
    briefings.gone('web1');
    await briefings.powerChanged(p, {}, { 'ups-a': battery });
    expect(await received('agent-web1')).toHaveLength(2);
  });
});
