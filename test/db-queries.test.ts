/**
 * The query contract: every function of coordinator/src/db/queries/*.ts, run unchanged on in-memory
 * PGlite and on a real PostgreSQL database. Values must come back with the same JS types on both
 * drivers (Date for timestamps, number for bigint, parsed JSON for jsonb).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { EngineState } from '../coordinator/src/core/engine-state.js';
import { NutAccountClashError } from '../coordinator/src/core/nut-accounts.js';
import type { Db } from '../coordinator/src/db/client.js';
import { StoredDataError } from '../coordinator/src/db/errors.js';
import {
  type AgentRow,
  findActiveAgent,
  findActiveAgentByName,
  insertAgent,
  listActiveAgentIds,
  listAgents,
  revokeAgent,
  touchAgent,
} from '../coordinator/src/db/queries/agents.js';
import { findApiTokenByHash, hasApiToken, putApiToken } from '../coordinator/src/db/queries/api-tokens.js';
import { loadEngineState, saveEngineState } from '../coordinator/src/db/queries/engine-state.js';
import {
  consumeEnrollment,
  findEnrollmentByHash,
  insertEnrollment,
  linkEnrollment,
} from '../coordinator/src/db/queries/enrollments.js';
import {
  deleteNutCredential,
  listNutCredentials,
  loginNameOf,
  putNutCredential,
} from '../coordinator/src/db/queries/nut-credentials.js';
import {
  insertOrder,
  listOrders,
  markOrdersSent,
  type NewOrder,
  pendingOrdersFor,
  recordAck,
  recordReports,
  recordResult,
} from '../coordinator/src/db/queries/orders.js';
import { insertPolicy, latestPolicy } from '../coordinator/src/db/queries/policies.js';
import {
  addRunEvent,
  endRun,
  findRun,
  findRunByNumber,
  listActiveRuns,
  listRunEvents,
  listRuns,
  markStageFired,
  setRunPhase,
  startRun,
} from '../coordinator/src/db/queries/runs.js';
import { getOrInitSetting, getSetting, raiseCounterSetting } from '../coordinator/src/db/queries/settings.js';
import {
  queuedUpsEvents,
  queueUpsEvent,
  storeQueuedUpsEvents,
} from '../coordinator/src/db/queries/ups-event-batch.js';
import {
  listUpsEvents,
  listUpsStates,
  type NewUpsEvent,
  recordUpsEvent,
} from '../coordinator/src/db/queries/ups-events.js';
import { agents, apiTokens, settings, upsReadings, upsStates } from '../coordinator/src/db/schema.js';
import type { Ed25519PublicJwk } from '../shared/src/protocol.js';
import { describeOnEachDatabase } from './helpers/database.js';

const T0 = Date.UTC(2025, 0, 15, 12, 0, 0);
const at = (offsetMs = 0) => new Date(T0 + offsetMs);
const S = 1_000;
const M = 60_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let serial = 0;
/** Names are unique per test: the suite shares one database per driver. */
const unique = (prefix: string) => `${prefix}-${++serial}`;

function publicJwk(): Ed25519PublicJwk {
  return { kty: 'OKP', crv: 'Ed25519', x: randomBytes(32).toString('base64url') };
}

/** The SQLSTATE of a failed query: drizzle wraps the driver's error, which carries `code`. */
async function sqlStateOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    const cause = error instanceof Error ? error.cause : undefined;
    return typeof cause === 'object' && cause !== null && 'code' in cause ? cause.code : error;
  }
  throw new Error('expected the query to fail, but it succeeded');
}

describeOnEachDatabase('query contract', (factory) => {
  let db: Db;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const opened = await factory.open();
    db = opened.database.db;
    cleanup = opened.cleanup;
  });
  afterAll(async () => {
    await cleanup();
  });

  function newAgent(name = unique('host'), enrolledAt = at()): Promise<AgentRow> {
    return insertAgent(db, { name, publicKey: publicJwk(), kid: unique('kid'), enrolledAt });
  }

  describe('settings', () => {
    const Shape = z.object({ kty: z.string(), nested: z.object({ list: z.array(z.unknown()) }) });
    const Writer = z.object({ writer: z.number() });

    it('first writer wins, and JSON comes back as JSON', async () => {
      const key = unique('setting');
      expect(await getSetting(db, key, Shape)).toBeUndefined();
      const first = { kty: 'OKP', nested: { list: [1, 'two', true, null] } };
      expect(await getOrInitSetting(db, key, first, Shape)).toEqual(first);
      expect(await getOrInitSetting(db, key, { kty: 'other', nested: { list: [] } }, Shape)).toEqual(first);
      expect(await getSetting(db, key, Shape)).toEqual(first);
      const rows = await db
        .select({ kind: sql<string>`jsonb_typeof(${settings.value})` })
        .from(settings)
        .where(eq(settings.key, key));
      // Stored as a JSON object, not as a string holding JSON (a classic postgres-js mistake).
      expect(rows).toEqual([{ kind: 'object' }]);
    });

    it('a setting this version cannot read is refused with a message that names it', async () => {
      const key = unique('setting');
      await getOrInitSetting(db, key, { writer: 1 }, Writer);
      const error = await getSetting(db, key, Shape).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoredDataError);
      expect(String((error as Error).message)).toMatch(
        new RegExp(`^The setting ${key} in the database cannot be read by this version of upsfleet \\(kty: `),
      );
    });

    it('a counter setting only grows, whatever order the raises come in', async () => {
      const key = unique('counter');
      expect(await raiseCounterSetting(db, key, 5)).toBe(5);
      expect(await raiseCounterSetting(db, key, 3)).toBe(5);
      expect(await raiseCounterSetting(db, key, 1_800_000_000_000)).toBe(1_800_000_000_000);
      expect(await getSetting(db, key, z.number())).toBe(1_800_000_000_000);
      const raced = await Promise.all([7, 1_800_000_000_009, 11].map((n) => raiseCounterSetting(db, key, n)));
      expect(Math.max(...raced)).toBe(1_800_000_000_009);
      expect(await raiseCounterSetting(db, key, 0)).toBe(1_800_000_000_009);
    });

    it('concurrent first starts agree on one value', async () => {
      const key = unique('setting');
      const values = await Promise.all(
        Array.from({ length: 5 }, (_, i) => getOrInitSetting(db, key, { writer: i }, Writer)),
      );
      expect(new Set(values.map((v) => JSON.stringify(v))).size).toBe(1);
    });
  });

  describe('api tokens', () => {
    it('put, find by hash, replace, revoke', async () => {
      const name = unique('token');
      const [hash1, hash2] = [unique('hash1'), unique('hash2')];
      expect(await hasApiToken(db, name)).toBe(false);
      await putApiToken(db, name, hash1, ['read']);
      expect(await hasApiToken(db, name)).toBe(true);
      const first = await findApiTokenByHash(db, hash1, new Date());
      expect(first).toEqual({ id: expect.stringMatching(UUID), name, scopes: ['read'], expiresAt: null });

      await putApiToken(db, name, hash2, ['read', 'write']);
      expect(await findApiTokenByHash(db, hash1, new Date())).toBeUndefined();
      expect(await findApiTokenByHash(db, hash2, new Date())).toEqual({
        id: first?.id,
        name,
        scopes: ['read', 'write'],
        expiresAt: null,
      });

      await db.update(apiTokens).set({ revokedAt: at() }).where(eq(apiTokens.name, name));
      expect(await findApiTokenByHash(db, hash2, new Date())).toBeUndefined();
      // Putting it again (a new UPSFLEET_ADMIN_TOKEN) un-revokes it.
      await putApiToken(db, name, hash1, ['admin']);
      expect(await findApiTokenByHash(db, hash1, new Date())).toEqual({
        id: first?.id,
        name,
        scopes: ['admin'],
        expiresAt: null,
      });
    });

    it('unknown scopes in the table are dropped, never passed on', async () => {
      const name = unique('token');
      const tokenHash = unique('hash');
      await db.insert(apiTokens).values({ name, tokenHash, scopes: ['root', 'read'] });
      expect((await findApiTokenByHash(db, tokenHash, new Date()))?.scopes).toEqual(['read']);
    });
  });

  describe('enrollments', () => {
    it('insert, find by hash, consume only once', async () => {
      const tokenHash = unique('ehash');
      const row = await insertEnrollment(db, {
        name: 'web1',
        tokenHash,
        createdAt: at(),
        expiresAt: at(60 * M),
      });
      expect(row).toEqual({
        id: expect.stringMatching(UUID),
        name: 'web1',
        tokenHash,
        createdAt: at(),
        expiresAt: at(60 * M),
        usedAt: null,
        agentId: null,
      });
      expect(await findEnrollmentByHash(db, tokenHash)).toEqual(row);
      expect(await findEnrollmentByHash(db, unique('nope'))).toBeUndefined();

      const agentA = randomUUID();
      expect(await consumeEnrollment(db, row.id, at(M))).toBe(true);
      expect(await consumeEnrollment(db, row.id, at(2 * M))).toBe(false);
      await linkEnrollment(db, row.id, agentA);
      expect(await findEnrollmentByHash(db, tokenHash)).toMatchObject({ usedAt: at(M), agentId: agentA });
    });

    it('concurrent consumers: exactly one wins', async () => {
      const row = await insertEnrollment(db, {
        name: 'web2',
        tokenHash: unique('ehash'),
        createdAt: at(),
        expiresAt: at(60 * M),
      });
      const results = await Promise.all(
        Array.from({ length: 6 }, () => consumeEnrollment(db, row.id, at(M))),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    });
  });

  describe('agents', () => {
    it('insert returns the stored row with driver-independent types', async () => {
      const name = unique('host');
      const publicKey = publicJwk();
      const row = await insertAgent(db, { name, publicKey, kid: 'kid-1', enrolledAt: at() });
      expect(row).toEqual({
        id: expect.stringMatching(UUID),
        name,
        publicKey,
        kid: 'kid-1',
        status: 'active',
        enrolledAt: at(),
        lastSeenAt: null,
        lastEventSeq: null,
      });
      expect(await findActiveAgent(db, row.id)).toEqual(row);
      expect(await findActiveAgentByName(db, name)).toEqual(row);
      expect(await findActiveAgent(db, randomUUID())).toBeUndefined();
    });

    it('one active agent per name (23505); a revoked one frees the name', async () => {
      const name = unique('host');
      const first = await newAgent(name);
      expect(await sqlStateOf(newAgent(name))).toBe('23505');
      expect((await listAgents(db)).filter((a) => a.name === name)).toHaveLength(1);

      await db.update(agents).set({ status: 'revoked' }).where(eq(agents.id, first.id));
      expect(await findActiveAgent(db, first.id)).toBeUndefined();
      expect(await findActiveAgentByName(db, name)).toBeUndefined();
      const second = await newAgent(name);
      expect(await findActiveAgentByName(db, name)).toEqual(second);
      const listed = (await listAgents(db)).filter((a) => a.name === name);
      expect(listed.map((a) => [a.id, a.status]).sort()).toEqual(
        [
          [first.id, 'revoked'],
          [second.id, 'active'],
        ].sort(),
      );
    });

    it('concurrent enrollments of one name: exactly one succeeds', async () => {
      const name = unique('host');
      const settled = await Promise.allSettled(Array.from({ length: 4 }, () => newAgent(name)));
      expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(1);
    });

    it('listAgents is sorted by name', async () => {
      const names = (await listAgents(db)).map((a) => a.name);
      expect(names).toEqual([...names].sort());
    });

    it('touch records when the agent was last seen', async () => {
      const agent = await newAgent();
      await touchAgent(db, agent.id, at(5 * M));
      expect((await findActiveAgent(db, agent.id))?.lastSeenAt).toEqual(at(5 * M));
    });

    it('a stored public key this version cannot read is refused with a message that names the agent', async () => {
      const agent = await newAgent();
      const unreadable = sql`'{"kty": "RSA", "n": "AQAB"}'::jsonb`;
      await db.update(agents).set({ publicKey: unreadable }).where(eq(agents.id, agent.id));
      try {
        const error = await findActiveAgent(db, agent.id).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(StoredDataError);
        expect(String((error as Error).message)).toMatch(
          new RegExp(`^The public key of agent ${agent.name} in the database cannot be read .*\\(kty: `),
        );
      } finally {
        await db.update(agents).set({ publicKey: agent.publicKey }).where(eq(agents.id, agent.id));
      }
    });
    it("the ids orders go to, and the admin views' agents, are listed although one agent's stored key cannot be read; revoked agents are not ordered", async () => {
      const [broken, other, revoked] = [await newAgent(), await newAgent(), await newAgent()];
      await revokeAgent(db, revoked.id);
      const unreadable = sql`'{"kty": "RSA", "n": "AQAB"}'::jsonb`;
      await db.update(agents).set({ publicKey: unreadable }).where(eq(agents.id, broken.id));
      try {
        expect((await listAgents(db)).map((agent) => agent.id)).toEqual(
          expect.arrayContaining([broken.id, other.id, revoked.id]),
        );
        const listed = await listActiveAgentIds(db);
        expect(listed).toEqual(
          expect.arrayContaining([
            { id: broken.id, name: broken.name },
            { id: other.id, name: other.name },
          ]),
        );
        expect(listed.map((agent) => agent.id)).not.toContain(revoked.id);
        expect(listed.map((agent) => agent.name)).toEqual(listed.map((agent) => agent.name).sort());
      } finally {
        await db.update(agents).set({ publicKey: broken.publicKey }).where(eq(agents.id, broken.id));
      }
    });
  });

  describe('policies', () => {
    it('the latest applied document comes back intact', async () => {
      const older = { ups: [{ name: 'ups-a', watcher: 'nas' }], hosts: [], stages: [] };
      const newer = {
        ups: [{ name: 'ups-a', watcher: 'nas' }],
        hosts: [{ name: 'wéb', ups: ['ups-a'] }],
        stages: [{ name: 's', hosts: ['wéb'], trigger: { onBattery: '0s' } }],
        note: { number: 1.5, flag: false, nothing: null },
      };
      await insertPolicy(db, older, 'file:a.yaml', at());
      await insertPolicy(db, newer, 'token:admin', at(M));
      expect(await latestPolicy(db)).toEqual({ document: newer, appliedAt: at(M), appliedBy: 'token:admin' });
    });
  });

  describe('UPS events', () => {
    function event(
      agentId: string,
      ups: string,
      seq: number,
      changes: Partial<NewUpsEvent> = {},
    ): NewUpsEvent {
      return {
        agentId,
        ups,
        seq,
        dropped: 0,
        dead: false,
        events: ['ONBATT'],
        status: ['OB'],
        power: 'battery',
        vars: { 'battery.charge': '100' },
        observedAt: at(),
        receivedAt: at(S),
        ...changes,
      };
    }
    const stateOf = async (ups: string) => (await listUpsStates(db)).find((row) => row.ups === ups);

    it('stores an event and the UPS state, typed the same on every driver', async () => {
      const watcher = await newAgent();
      const ups = unique('ups');
      expect(await recordUpsEvent(db, event(watcher.id, ups, 1))).toEqual({ stored: true });
      expect(await stateOf(ups)).toEqual({
        ups,
        power: 'battery',
        powerSince: at(),
        status: ['OB'],
        vars: { 'battery.charge': '100' },
        lastEvents: ['ONBATT'],
        observedAt: at(),
        reportedBy: watcher.id,
        dead: false,
      });
      const [stored, ...others] = await listUpsEvents(db, { ups, limit: 10 });
      expect(others).toEqual([]);
      expect(stored).toEqual({
        id: expect.any(Number),
        ups,
        host: watcher.name,
        seq: 1,
        dropped: 0,
        dead: false,
        events: ['ONBATT'],
        status: ['OB'],
        vars: { 'battery.charge': '100' },
        observedAt: at(),
        receivedAt: at(S),
      });
      expect((await findActiveAgent(db, watcher.id))?.lastEventSeq).toBe(1);
    });

    it('a re-sent event is a duplicate; an older seq never stored is a replay; nothing is stored again', async () => {
      const watcher = await newAgent();
      const ups = unique('ups');
      expect(await recordUpsEvent(db, event(watcher.id, ups, 6))).toEqual({ stored: true });
      expect(await recordUpsEvent(db, event(watcher.id, ups, 7))).toEqual({ stored: true });
      const before = await stateOf(ups);
      const again = (seq: number) =>
        recordUpsEvent(
          db,
          event(watcher.id, ups, seq, { status: ['OL'], power: 'online', observedAt: at(M) }),
        );
      expect(await again(7)).toEqual({ stored: false, reason: 'duplicate', lastSeq: 7 });
      expect(await again(6)).toEqual({ stored: false, reason: 'duplicate', lastSeq: 7 });
      expect(await again(5)).toEqual({ stored: false, reason: 'replayed', lastSeq: 7 });
      expect(await again(0)).toEqual({ stored: false, reason: 'replayed', lastSeq: 7 });
      expect(await listUpsEvents(db, { ups, limit: 10 })).toHaveLength(2);
      expect(await stateOf(ups)).toEqual(before);
    });

    it('a gap is refused unless the event explains it with `dropped`', async () => {
      const watcher = await newAgent();
      const ups = unique('ups');
      expect(await recordUpsEvent(db, event(watcher.id, ups, 1))).toEqual({ stored: true });
      expect(await recordUpsEvent(db, event(watcher.id, ups, 4))).toEqual({
        stored: false,
        reason: 'gap',
        lastSeq: 1,
      });
      expect(await recordUpsEvent(db, event(watcher.id, ups, 4, { dropped: 1 }))).toEqual({
        stored: false,
        reason: 'gap',
        lastSeq: 1,
      });
      expect(await recordUpsEvent(db, event(watcher.id, ups, 4, { dropped: 2 }))).toEqual({ stored: true });
      expect((await listUpsEvents(db, { ups, limit: 10 })).map((e) => [e.seq, e.dropped])).toEqual([
        [4, 2],
        [1, 0],
      ]);
    });

    it('keeps the dead-UPS verdict on the event and the UPS state', async () => {
      const watcher = await newAgent();
      const ups = unique('ups');
      await recordUpsEvent(db, event(watcher.id, ups, 1));
      await recordUpsEvent(
        db,
        event(watcher.id, ups, 2, { status: null, power: 'battery', dead: true, events: [] }),
      );
      expect(await stateOf(ups)).toMatchObject({ dead: true, status: null, power: 'battery' });
      expect((await listUpsEvents(db, { ups, limit: 1 }))[0]).toMatchObject({ seq: 2, dead: true });
    });

    it('concurrent deliveries of one event store it once', async () => {
      const watcher = await newAgent();
      const ups = unique('ups');
      const outcomes = await Promise.all(
        Array.from({ length: 5 }, () => recordUpsEvent(db, event(watcher.id, ups, 3))),
      );
      expect(outcomes.filter((o) => o.stored)).toHaveLength(1);
      expect(await listUpsEvents(db, { ups, limit: 10 })).toHaveLength(1);
    });

    it('powerSince stays while power is unchanged and moves when it changes; vars merge', async () => {
      const watcher = await newAgent();
      const ups = unique('ups');
      await recordUpsEvent(db, event(watcher.id, ups, 1));
      await recordUpsEvent(
        db,
        event(watcher.id, ups, 2, {
          events: [],
          status: ['OB', 'DISCHRG'],
          vars: { 'battery.charge': '90', 'battery.runtime': '1200' },
          observedAt: at(10 * S),
        }),
      );
      expect(await stateOf(ups)).toMatchObject({
        power: 'battery',
        powerSince: at(),
        status: ['OB', 'DISCHRG'],
        vars: { 'battery.charge': '90', 'battery.runtime': '1200' },
        // No new notify event: the last ones are kept.
        lastEvents: ['ONBATT'],
        observedAt: at(10 * S),
      });
      await recordUpsEvent(
        db,
        event(watcher.id, ups, 3, {
          events: ['ONLINE'],
          status: ['OL', 'CHRG'],
          power: 'online',
          vars: { 'battery.charge': '91' },
          observedAt: at(20 * S),
        }),
      );
      expect(await stateOf(ups)).toMatchObject({
        power: 'online',
        powerSince: at(20 * S),
        vars: { 'battery.charge': '91', 'battery.runtime': '1200' },
        lastEvents: ['ONLINE'],
      });
      await recordUpsEvent(
        db,
        event(watcher.id, ups, 4, {
          events: ['COMMBAD'],
          status: null,
          power: 'unknown',
          observedAt: at(30 * S),
        }),
      );
      expect(await stateOf(ups)).toMatchObject({ power: 'unknown', powerSince: at(30 * S), status: null });
    });

    it('stored NUT variables this version cannot read are refused with a message that names the UPS', async () => {
      const watcher = await newAgent();
      const ups = unique('ups');
      await recordUpsEvent(db, event(watcher.id, ups, 1));
      await db
        .update(upsStates)
        .set({ vars: sql`'{"battery.charge": 90}'::jsonb` })
        .where(eq(upsStates.ups, ups));
      try {
        const error = await listUpsStates(db).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(StoredDataError);
        expect(String((error as Error).message)).toMatch(
          new RegExp(`^The variables of UPS ${ups} in the database cannot be read .*battery\\.charge: `),
        );
      } finally {
        await db.update(upsStates).set({ vars: {} }).where(eq(upsStates.ups, ups));
      }
    });

    it('a UPS whose stored variables cannot be read is left out and named when asked; the others are listed', async () => {
      const watcher = await newAgent();
      const [bad, good] = [unique('ups'), unique('ups')];
      await recordUpsEvent(db, event(watcher.id, bad, 1));
      await recordUpsEvent(db, event(watcher.id, good, 2));
      await db
        .update(upsStates)
        .set({ vars: sql`'{"battery.charge": 90}'::jsonb` })
        .where(eq(upsStates.ups, bad));
      try {
        const named: string[] = [];
        const rows = await listUpsStates(db, {
          unreadable: (ups, error) => named.push(`${ups}: ${error.message}`),
        });
        expect(rows.map((row) => row.ups)).toContain(good);
        expect(rows.map((row) => row.ups)).not.toContain(bad);
        expect(named).toEqual([expect.stringMatching(new RegExp(`^${bad}: The variables of UPS ${bad} `))]);
      } finally {
        await db.update(upsStates).set({ vars: {} }).where(eq(upsStates.ups, bad));
      }
    });

    it('a batch with an event for a UPS whose stored variables cannot be read is stored; that UPS starts from its event', async () => {
      const watcher = await newAgent();
      const other = await newAgent();
      const [bad, good] = [unique('ups'), unique('ups')];
      await recordUpsEvent(db, event(watcher.id, bad, 1));
      await recordUpsEvent(db, event(other.id, good, 1));
      await db
        .update(upsStates)
        .set({ vars: sql`'{"battery.charge": 90}'::jsonb` })
        .where(eq(upsStates.ups, bad));
      const named: string[] = [];
      const queue = queuedUpsEvents();
      await db.transaction(async (tx) => {
        await queueUpsEvent(tx, queue, event(watcher.id, bad, 2, { vars: { 'ups.load': '30' } }));
        await queueUpsEvent(tx, queue, event(other.id, good, 2, { vars: { 'ups.load': '40' } }));
        await storeQueuedUpsEvents(tx, queue, { unreadable: (ups) => named.push(ups) });
      });
      expect(named).toEqual([bad]);
      expect(await stateOf(bad)).toMatchObject({ vars: { 'ups.load': '30' } });
      expect(await stateOf(good)).toMatchObject({ vars: { 'battery.charge': '100', 'ups.load': '40' } });
      expect(await listUpsEvents(db, { ups: bad, limit: 10 })).toHaveLength(2);
    });

    it('an event from an agent that does not exist is not stored', async () => {
      const ups = unique('ups');
      expect(await recordUpsEvent(db, event(randomUUID(), ups, 1))).toMatchObject({ stored: false });
      expect(await stateOf(ups)).toBeUndefined();
    });

    it('a batch of events stored together leaves what recording them one at a time leaves', async () => {
      // The same watcher history twice: one at a time (recordUpsEvent), and checked one by one but
      // stored together (queueUpsEvent, then storeQueuedUpsEvents) as the group commit does.
      const history = (agentId: string, ups: string, seqBase: number) => [
        event(agentId, ups, seqBase + 1, { vars: { 'battery.charge': '100', 'ups.load': '20' } }),
        // A duplicate of a queued event, a replay, and a gap: refused, nothing queued.
        event(agentId, ups, seqBase + 1, { vars: { 'battery.charge': '100', 'ups.load': '20' } }),
        event(agentId, ups, seqBase, { observedAt: at(S) }),
        event(agentId, ups, seqBase + 5, { observedAt: at(S) }),
        event(agentId, ups, seqBase + 2, {
          events: [],
          vars: { 'battery.charge': '95' },
          observedAt: at(20 * S),
        }),
        // Two dropped just before: explained, stored.
        event(agentId, ups, seqBase + 5, {
          dropped: 2,
          events: ['ONLINE'],
          status: ['OL'],
          power: 'online',
          vars: { 'battery.charge': '96', 'input.voltage': '230' },
          observedAt: at(M + S),
        }),
        event(agentId, ups, seqBase + 6, {
          events: [],
          status: ['OL'],
          power: 'online',
          observedAt: at(M + 5 * S),
        }),
      ];
      const [one, together] = [await newAgent(), await newAgent()];
      const [upsOne, upsTogether] = [unique('ups'), unique('ups')];
      // Both watchers have stored events already (the first read of their sequence is from the database).
      await recordUpsEvent(db, event(one.id, upsOne, 10));
      await recordUpsEvent(db, event(together.id, upsTogether, 10));

      const answersOne = [];
      for (const e of history(one.id, upsOne, 10)) answersOne.push(await recordUpsEvent(db, e));
      const answersTogether = await db.transaction(async (tx) => {
        const queue = queuedUpsEvents();
        const answers = [];
        for (const e of history(together.id, upsTogether, 10))
          answers.push(await queueUpsEvent(tx, queue, e));
        // A stored event re-sent is a duplicate too.
        answers.push(await queueUpsEvent(tx, queue, event(together.id, upsTogether, 10)));
        await storeQueuedUpsEvents(tx, queue);
        return answers;
      });
      expect(answersTogether).toEqual([...answersOne, { stored: false, reason: 'duplicate', lastSeq: 16 }]);
      expect(answersOne.map((a) => a.stored)).toEqual([true, false, false, false, true, true, true]);

      const { reportedBy: _a, ...stateOne } = (await stateOf(upsOne)) ?? {};
      const { reportedBy, ...stateTogether } = (await stateOf(upsTogether)) ?? {};
      expect(reportedBy).toBe(together.id);
      expect({ ...stateTogether, ups: upsOne }).toEqual(stateOne);
      const strip = (rows: Awaited<ReturnType<typeof listUpsEvents>>) =>
        rows.map(({ id: _id, ups: _ups, host: _host, ...rest }) => rest);
      expect(strip(await listUpsEvents(db, { ups: upsTogether, limit: 20 }))).toEqual(
        strip(await listUpsEvents(db, { ups: upsOne, limit: 20 })),
      );
      expect((await findActiveAgent(db, together.id))?.lastEventSeq).toBe(16);
      const readings = async (ups: string) =>
        (await db.select().from(upsReadings).where(eq(upsReadings.ups, ups)).orderBy(upsReadings.minute)).map(
          ({ ups: _ups, ...rest }) => rest,
        );
      expect(await readings(upsTogether)).toEqual(await readings(upsOne));
      expect(
        (await readings(upsOne)).map((r) => [r.samples, r.charge, r.load, r.voltage, r.onBattery]),
      ).toEqual([
        [3, 95, 20, null, true],
        [2, 100, null, 230, false],
      ]);
    });

    it('a batch whose watcher sequence moved meanwhile is not stored', async () => {
      const watcher = await newAgent();
      const ups = unique('ups');
      await recordUpsEvent(db, event(watcher.id, ups, 1));
      const queue = queuedUpsEvents();
      expect(await queueUpsEvent(db, queue, event(watcher.id, ups, 2))).toEqual({ stored: true });
      // Someone else stored seq 2 in the meantime.
      await recordUpsEvent(db, event(watcher.id, ups, 2));
      await expect(storeQueuedUpsEvents(db, queue)).rejects.toThrow(/sequence changed outside this batch/);
      expect(await listUpsEvents(db, { ups, limit: 10 })).toHaveLength(2);
    });

    it('listUpsEvents: newest first, by UPS, paged with beforeId', async () => {
      const watcher = await newAgent();
      const [upsA, upsB] = [unique('ups'), unique('ups')];
      for (let seq = 1; seq <= 5; seq++) {
        await recordUpsEvent(db, event(watcher.id, seq % 2 === 0 ? upsB : upsA, seq));
      }
      const pageA = await listUpsEvents(db, { ups: upsA, limit: 2 });
      expect(pageA.map((e) => e.seq)).toEqual([5, 3]);
      const last = pageA.at(-1);
      if (last === undefined) throw new Error('empty page');
      const nextA = await listUpsEvents(db, { ups: upsA, beforeId: last.id, limit: 10 });
      expect(nextA.map((e) => e.seq)).toEqual([1]);
      expect((await listUpsEvents(db, { ups: upsB, limit: 10 })).map((e) => e.seq)).toEqual([4, 2]);
      const all = await listUpsEvents(db, { limit: 1000 });
      expect(all.map((e) => e.id)).toEqual([...all.map((e) => e.id)].sort((a, b) => b - a));
    });
  });

  describe('runs', () => {
    let nextNumber = 1_000;
    const newRun = (startedAt = at(), kind: 'outage' | 'drill' = 'outage') =>
      startRun(db, { number: nextNumber++, kind, reason: 'power lost: ups-a', startedAt });

    it('start, phase, fired stages (idempotent), timeline, end', async () => {
      const run = await newRun();
      expect(run).toEqual({
        id: expect.stringMatching(UUID),
        number: run.number,
        kind: 'outage',
        ups: null,
        reason: 'power lost: ups-a',
        state: 'active',
        phase: 'active',
        startedAt: at(),
        endedAt: null,
        endReason: null,
        firedStages: [],
      });
      await markStageFired(db, run.id, 'early');
      await markStageFired(db, run.id, 'early');
      await markStageFired(db, run.id, 'middle');
      expect((await findRun(db, run.id))?.firedStages).toEqual(['early', 'middle']);
      await setRunPhase(db, run.id, 'restoring');
      expect(await findRunByNumber(db, run.number ?? -1)).toMatchObject({ id: run.id, phase: 'restoring' });
      await addRunEvent(db, {
        runId: run.id,
        at: at(S),
        kind: 'stage-fired',
        stage: 'early',
        detail: 'ups-a: on battery 30s',
      });
      await addRunEvent(db, {
        runId: run.id,
        at: at(2 * S),
        kind: 'host-down',
        host: 'web1',
        detail: 'confirmed',
      });
      expect((await listRunEvents(db, run.id)).map((e) => [e.kind, e.stage, e.host, e.detail, e.at])).toEqual(
        [
          ['stage-fired', 'early', null, 'ups-a: on battery 30s', at(S)],
          ['host-down', null, 'web1', 'confirmed', at(2 * S)],
        ],
      );
      await endRun(db, run.id, at(M), 'restored');
      expect(await findRun(db, run.id)).toMatchObject({
        state: 'ended',
        endedAt: at(M),
        endReason: 'restored',
      });
      expect((await listActiveRuns(db)).map((r) => r.id)).not.toContain(run.id);
      expect(await findRun(db, randomUUID())).toBeUndefined();
    });

    it('one active run at a time, fleet-wide; after it ends a new one may start', async () => {
      const first = await newRun();
      expect(await sqlStateOf(newRun(at(S)))).toBe('23505');
      await endRun(db, first.id, at(M), 'restored');
      const second = await newRun(at(2 * M), 'drill');
      expect((await listActiveRuns(db)).map((r) => r.id)).toEqual([second.id]);
      await endRun(db, second.id, at(3 * M), 'drill-complete');
    });

    it('listRuns: newest (highest number) first, limited, paged by number, filtered by kind', async () => {
      const old = await newRun(at(-10 * 24 * 60 * M));
      await endRun(db, old.id, at(-10 * 24 * 60 * M + M), 'restored');
      const recent = await newRun(at(10 * 24 * 60 * M), 'drill');
      await endRun(db, recent.id, at(10 * 24 * 60 * M + M), 'drill-complete');
      const runs = await listRuns(db, { limit: 1000 });
      const numbers = runs.map((r) => r.number ?? 0);
      expect(numbers).toEqual([...numbers].sort((a, b) => b - a));
      expect(runs.findIndex((r) => r.id === recent.id)).toBeLessThan(runs.findIndex((r) => r.id === old.id));
      expect(await listRuns(db, { limit: 2 })).toHaveLength(2);
      const older = await listRuns(db, { limit: 1000, beforeNumber: recent.number ?? 0 });
      expect(older.map((r) => r.id)).toContain(old.id);
      expect(older.map((r) => r.id)).not.toContain(recent.id);
      expect((await listRuns(db, { limit: 1000, kind: 'drill' })).every((r) => r.kind === 'drill')).toBe(
        true,
      );
    });

    it('the engine state round-trips as JSON and is replaced on save', async () => {
      expect(await loadEngineState(db)).toBeUndefined();
      const state: EngineState = {
        ups: {
          'ups-a': {
            power: 'battery',
            lowBattery: false,
            fsd: false,
            dead: false,
            charge: 80,
            runtime: undefined,
            batterySince: 1_700_000_000_123,
            onlineSince: undefined,
          },
        },
        run: undefined,
        nextRunNumber: 3,
      };
      await saveEngineState(db, state, at());
      expect(await loadEngineState(db)).toEqual(state);
      await saveEngineState(db, { ...state, nextRunNumber: 4 }, at(S));
      expect(await loadEngineState(db)).toEqual({ ...state, nextRunNumber: 4 });
    });

    it('a stored engine state this version cannot read is refused with a message that says so', async () => {
      await db.execute(
        sql`update engine_state set state = '{"ups": {"ups-a": {"power": "sideways"}}}'::jsonb`,
      );
      const error = await loadEngineState(db).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoredDataError);
      expect(String((error as Error).message)).toMatch(
        /^The stored engine state in the database cannot be read by this version of upsfleet \(ups\.ups-a\.power: .*/,
      );
    });
  });

  describe('orders', () => {
    let host: AgentRow;
    let other: AgentRow;
    let runId: string;
    const NOW = at(M);

    beforeAll(async () => {
      host = await newAgent();
      other = await newAgent();
      const run = await startRun(db, { number: 1, kind: 'outage', reason: 'test', startedAt: at() });
      await endRun(db, run.id, at(S), 'restored');
      runId = run.id;
    });

    /** Runs `body` with a run in progress (one at a time, fleet-wide), ended afterwards. */
    let nextRunNumber = 2_000;
    async function duringRun<T>(body: (activeRunId: string) => Promise<T>): Promise<T> {
      const run = await startRun(db, {
        number: nextRunNumber++,
        kind: 'outage',
        reason: 'test',
        startedAt: at(),
      });
      try {
        return await body(run.id);
      } finally {
        await endRun(db, run.id, at(M), 'restored');
      }
    }

    function order(stage: string, changes: Partial<NewOrder> = {}): NewOrder {
      return {
        id: randomUUID(),
        runId,
        agentId: host.id,
        host: host.name,
        kind: 'shutdown',
        stage,
        drill: false,
        token: `token-${stage}`,
        createdAt: at(),
        expiresAt: at(10 * M),
        ...changes,
      };
    }

    it('insert is idempotent per (run, stage, agent) and returns the stored order', async () => {
      const first = order(unique('stage'));
      const stored = await insertOrder(db, first);
      expect(stored).toEqual({
        ...first,
        lastSentAt: null,
        ackStatus: null,
        ackReason: null,
        ackedAt: null,
        outcome: null,
        outcomeAt: null,
        exitCode: null,
        output: null,
        error: null,
      });
      const again = await insertOrder(db, { ...first, id: randomUUID(), token: 'another-token' });
      expect(again).toEqual(stored);
      expect((await listOrders(db, { runId })).filter((o) => o.stage === first.stage)).toHaveLength(1);
    });

    it('pendingOrdersFor: owed orders of the run in progress only, oldest first', async () => {
      const agent = await newAgent();
      // An order of an outage that has ended is owed to nobody, whatever its state.
      await insertOrder(db, order('ended-run', { agentId: agent.id, host: agent.name, createdAt: at(0) }));
      await duringRun(async (activeRunId) => {
        const mk = async (name: string, offset: number, changes: Partial<NewOrder> = {}) =>
          insertOrder(
            db,
            order(name, {
              runId: activeRunId,
              agentId: agent.id,
              host: agent.name,
              createdAt: at(offset),
              ...changes,
            }),
          );

        const fresh = await mk('fresh', 3 * S);
        const accepted = await mk('accepted', 1 * S);
        const started = await mk('started', 2 * S);
        await mk('expired', 0, { expiresAt: at(30 * S) });
        await mk('expires-now', 0, { expiresAt: NOW });
        const rejected = await mk('rejected', 0);
        const duplicate = await mk('duplicate', 0);
        const succeeded = await mk('succeeded', 0);
        const failed = await mk('failed', 0);
        const drill = await mk('drill', 0, { drill: true });
        await insertOrder(db, order('not-mine', { runId: activeRunId, createdAt: at(0) }));

        const ack = (id: string, status: 'accepted' | 'duplicate' | 'rejected') =>
          recordAck(db, { orderId: id, agentId: agent.id, status, at: NOW });
        const result = (id: string, outcome: 'started' | 'succeeded' | 'failed' | 'drill') =>
          recordResult(db, { orderId: id, agentId: agent.id, outcome, at: NOW });
        expect(await ack(accepted.id, 'accepted')).toBeDefined();
        expect(await ack(started.id, 'accepted')).toBeDefined();
        expect(await result(started.id, 'started')).toBeDefined();
        expect(await ack(rejected.id, 'rejected')).toBeDefined();
        expect(await ack(duplicate.id, 'duplicate')).toBeDefined();
        for (const [row, outcome] of [
          [succeeded, 'succeeded'],
          [failed, 'failed'],
          [drill, 'drill'],
        ] as const) {
          expect(await ack(row.id, 'accepted')).toBeDefined();
          expect(await result(row.id, outcome)).toBeDefined();
        }

        const pending = await pendingOrdersFor(db, agent.id, NOW);
        expect(pending.map((o) => o.stage)).toEqual(['accepted', 'started', 'fresh']);
        expect(pending.map((o) => o.id)).toEqual([accepted.id, started.id, fresh.id]);
        // Later, everything has expired.
        expect(await pendingOrdersFor(db, agent.id, at(10 * M))).toEqual([]);
      });
      // The run has ended: a host that comes back after the outage is owed nothing, not even the
      // order it accepted and never finished.
      expect(await pendingOrdersFor(db, agent.id, NOW)).toEqual([]);
    });

    it('recordAck and recordResult store what the host said', async () => {
      const row = await insertOrder(db, order(unique('stage')));
      expect(
        await recordAck(db, {
          orderId: row.id,
          agentId: host.id,
          status: 'accepted',
          reason: 'ok',
          at: at(S),
        }),
      ).toBeDefined();
      expect(
        await recordResult(db, {
          orderId: row.id,
          agentId: host.id,
          outcome: 'failed',
          exitCode: 3,
          output: 'poweroff: permission denied',
          error: 'exit 3',
          at: at(2 * S),
        }),
      ).toBeDefined();
      const [stored] = (await listOrders(db, { runId })).filter((o) => o.id === row.id);
      expect(stored).toMatchObject({
        ackStatus: 'accepted',
        ackReason: 'ok',
        ackedAt: at(S),
        outcome: 'failed',
        outcomeAt: at(2 * S),
        exitCode: 3,
        output: 'poweroff: permission denied',
        error: 'exit 3',
      });
    });

    it('recordReports stores many acks and results at once; the later report of an order wins', async () => {
      const rows = await Promise.all(
        Array.from({ length: 3 }, () => insertOrder(db, order(unique('stage')))),
      );
      const [first, second, third] = rows.map((row) => row.id) as [string, string, string];
      const untouched = await insertOrder(db, order(unique('stage')));
      await recordReports(db, [
        { type: 'ack', orderId: first, agentId: host.id, status: 'accepted', at: at(S) },
        {
          type: 'ack',
          orderId: second,
          agentId: host.id,
          status: 'rejected',
          reason: "it's late",
          at: at(S),
        },
        { type: 'result', orderId: first, agentId: host.id, outcome: 'started', at: at(2 * S) },
        {
          type: 'result',
          orderId: first,
          agentId: host.id,
          outcome: 'failed',
          exitCode: 3,
          output: 'poweroff: permission denied',
          error: 'exit 3',
          at: at(3 * S),
        },
        { type: 'ack', orderId: third, agentId: host.id, status: 'duplicate', at: at(4 * S) },
        // Another agent's word on this agent's order, and an unknown order, change nothing.
        { type: 'ack', orderId: untouched.id, agentId: other.id, status: 'accepted', at: at(S) },
        { type: 'ack', orderId: randomUUID(), agentId: host.id, status: 'accepted', at: at(S) },
        { type: 'result', orderId: 'not-a-uuid', agentId: host.id, outcome: 'succeeded', at: at(S) },
      ]);
      const stored = new Map((await listOrders(db, { runId })).map((o) => [o.id, o]));
      expect(stored.get(first)).toMatchObject({
        ackStatus: 'accepted',
        ackReason: null,
        ackedAt: at(S),
        outcome: 'failed',
        outcomeAt: at(3 * S),
        exitCode: 3,
        output: 'poweroff: permission denied',
        error: 'exit 3',
      });
      expect(stored.get(second)).toMatchObject({
        ackStatus: 'rejected',
        ackReason: "it's late",
        outcome: null,
        exitCode: null,
      });
      expect(stored.get(third)).toMatchObject({ ackStatus: 'duplicate', ackedAt: at(4 * S), outcome: null });
      expect(stored.get(untouched.id)).toEqual(untouched);
      await recordReports(db, []);
    });

    it("recordAck and recordResult refuse another agent's order and change nothing", async () => {
      await duringRun(async (activeRunId) => {
        const row = await insertOrder(db, order(unique('stage'), { runId: activeRunId }));
        expect(
          await recordAck(db, { orderId: row.id, agentId: other.id, status: 'rejected', at: at(S) }),
        ).toBeUndefined();
        expect(
          await recordResult(db, { orderId: row.id, agentId: other.id, outcome: 'succeeded', at: at(S) }),
        ).toBeUndefined();
        const [stored] = (await listOrders(db, { runId: activeRunId })).filter((o) => o.id === row.id);
        expect(stored).toEqual(row);
        expect((await pendingOrdersFor(db, host.id, NOW)).map((o) => o.id)).toContain(row.id);
      });
    });

    it('an unknown order id is refused with false, whatever its shape', async () => {
      // The id comes from an agent's frame: any string up to 128 characters.
      for (const orderId of [randomUUID(), 'not-a-uuid']) {
        expect(
          await recordAck(db, { orderId, agentId: host.id, status: 'accepted', at: at(S) }),
        ).toBeUndefined();
        expect(
          await recordResult(db, { orderId, agentId: host.id, outcome: 'succeeded', at: at(S) }),
        ).toBeUndefined();
      }
    });

    it('markOrdersSent stamps only the given orders', async () => {
      const [a, b] = [
        await insertOrder(db, order(unique('stage'))),
        await insertOrder(db, order(unique('stage'))),
      ];
      await markOrdersSent(db, [], at(S));
      await markOrdersSent(db, [a.id], at(S));
      const byId = new Map((await listOrders(db, { runId })).map((o) => [o.id, o]));
      expect(byId.get(a.id)?.lastSentAt).toEqual(at(S));
      expect(byId.get(b.id)?.lastSentAt).toBeNull();
    });

    it('listOrders filters by run and by agent', async () => {
      const otherRow = await startRun(db, { number: 2, kind: 'outage', reason: 'test', startedAt: at(S) });
      await endRun(db, otherRow.id, at(2 * S), 'restored');
      const otherRun = otherRow.id;
      const mine = await insertOrder(db, order(unique('stage')));
      const theirs = await insertOrder(db, order(unique('stage'), { agentId: other.id, host: other.name }));
      const elsewhere = await insertOrder(db, order(unique('stage'), { runId: otherRun }));

      const ids = (rows: readonly { id: string }[]) => rows.map((r) => r.id);
      expect(ids(await listOrders(db, { runId: otherRun }))).toEqual([elsewhere.id]);
      expect(ids(await listOrders(db, { agentId: other.id }))).toEqual([theirs.id]);
      const mineInRun = ids(await listOrders(db, { runId, agentId: host.id }));
      expect(mineInRun).toContain(mine.id);
      expect(mineInRun).not.toContain(theirs.id);
      expect(mineInRun).not.toContain(elsewhere.id);
      expect(ids(await listOrders(db))).toEqual(expect.arrayContaining([mine.id, theirs.id, elsewhere.id]));
    });
  });

  describe('NUT accounts', () => {
    const put = (name: string, loginName: string | null, from: string[] | null, passwordHash = 'hash') =>
      putNutCredential(db, { name, loginName, sourceAddresses: from, host: name, passwordHash, at: at() });
    const clashOf = (promise: Promise<unknown>) =>
      promise.then(
        () => undefined,
        (error: unknown) => error,
      );

    it('a fixed login name shared by accounts bound to addresses that do not overlap', async () => {
      const user = unique('monuser');
      const [nas2, nas3] = [unique('nas'), unique('nas')];
      await put(nas2, user, ['127.0.0.2']);
      await put(nas3, user, ['127.0.0.3', '2001:db8::/64']);
      const rows = (await listNutCredentials(db)).filter((row) => row.loginName === user);
      expect(rows.map((row) => [row.name, loginNameOf(row), row.sourceAddresses, row.host])).toEqual(
        [
          [nas2, user, ['127.0.0.2'], nas2],
          [nas3, user, ['127.0.0.3', '2001:db8::/64'], nas3],
        ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      );
      // Replacing an account is checked against the others only, not its own earlier version.
      await put(nas2, user, ['127.0.0.0/31'], 'new-hash');
      const replaced = (await listNutCredentials(db)).find((row) => row.name === nas2);
      expect(replaced?.passwordHash).toBe('new-hash');
      expect(replaced?.sourceAddresses).toEqual(['127.0.0.0/31']);
    });

    it('refuses an ambiguous one, names the clash, and leaves the accounts as they were', async () => {
      const user = unique('monuser');
      const [nas2, nas3] = [unique('nas'), unique('nas')];
      await put(nas2, user, ['192.0.2.0/24']);
      const overlapping = await clashOf(put(nas3, user, ['192.0.2.77']));
      expect(overlapping).toBeInstanceOf(NutAccountClashError);
      expect((overlapping as NutAccountClashError).details).toEqual({
        clash: { account: nas2, username: user, from: ['192.0.2.0/24'] },
      });
      expect(String((overlapping as Error).message)).toContain('192.0.2.77 overlaps 192.0.2.0/24');
      expect(await clashOf(put(nas3, user, null))).toBeInstanceOf(NutAccountClashError);
      expect((await listNutCredentials(db)).some((row) => row.name === nas3)).toBe(false);
      // Concurrent puts take turns: of two overlapping ones, one is refused.
      const [a, b] = [unique('nas'), unique('nas')];
      const other = unique('monuser');
      const raced = await Promise.all(
        [put(a, other, ['10.0.0.1']), put(b, other, ['10.0.0.0/8'])].map(clashOf),
      );
      expect(raced.filter((error) => error instanceof NutAccountClashError)).toHaveLength(1);
      // The name is the account's own login name unless it has another.
      const plain = unique('nas');
      await put(plain, null, null);
      const row = (await listNutCredentials(db)).find((r) => r.name === plain);
      expect(row && loginNameOf(row)).toBe(plain);
      expect(await deleteNutCredential(db, plain)).toBe(true);
      expect(await deleteNutCredential(db, plain)).toBe(false);
    });
  });
});
