/**
 * Attack: bad signed UPS events against a real coordinator process, over HTTP (`/agent/v1/events`)
 * and over the agent WebSocket. The watcher "nas" and a second enrolled agent "other" have real
 * keys; the attacker has a key nobody enrolled. Forged, tampered, expired, misaddressed (wrong
 * audience, wrong agent) and replayed events are each refused with a clear reason; nothing of them
 * is stored (the event list and the UPS state stay as they were), no run starts, the coordinator
 * keeps serving, and a valid event is accepted afterwards. Bad upgrades and malformed frames too.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Audience, type UpsEventInput } from '../../shared/src/protocol.js';
import { type SigningKeyPair, signToken } from '../../shared/src/signing.js';
import { signAgentAuth, signUpsEvent } from '../../shared/src/tokens.js';
import { type OpenSocket, openAgentSocket } from '../helpers/agent-socket.js';
import {
  type EnrolledAgent,
  type FleetHarness,
  sharedPostgresMissingReason,
  startFleet,
} from '../helpers/fleet-harness.js';
import { describeRequiring } from '../helpers/requirements.js';
import { attackerKey, tamperPayload } from '../helpers/signed-tokens.js';

const ADMIN_TOKEN = 'attack-events-admin-token-0123456789';
const HOUR = 3_600_000;

interface Problem {
  status: number;
  contentType: string | null;
  type: string;
  detail: string;
}

describeRequiring(
  'attack: forged, tampered, replayed, expired and misaddressed events',
  await sharedPostgresMissingReason(),
  () => {
    let dir: string;
    let fleet: FleetHarness;
    let nas: EnrolledAgent;
    let other: EnrolledAgent;
    let attacker: SigningKeyPair;
    let seq = 0;

    const reading = (status: string[], at = Date.now()): UpsEventInput => ({
      seq,
      ups: 'nas-ups',
      observedAt: at,
      status,
      events: [],
    });
    const validEvent = (status: string[]) => {
      seq += 1;
      return signUpsEvent(nas.keyPair, nas.agentId, reading(status), Date.now());
    };

    async function push(token: string): Promise<Response> {
      return fetch(`${fleet.base}/agent/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ events: [token] }),
      });
    }

    async function refused(token: string): Promise<Problem> {
      const response = await push(token);
      const body = (await response.json()) as { type: string; detail: string };
      return {
        status: response.status,
        contentType: response.headers.get('content-type'),
        type: body.type,
        detail: body.detail,
      };
    }

    /** What the coordinator has stored: events, UPS states, runs. */
    async function stored() {
      const events = await fleet.api<{ items: { seq: number; status: string[] | null }[] }>(
        'GET',
        '/api/v1/events?ups=nas-ups',
      );
      const ups = await fleet.api<{ items: { ups: string; power: string }[] }>('GET', '/api/v1/ups');
      const runs = await fleet.runs();
      return {
        events: events.items.map((event) => [event.seq, event.status?.join(' ') ?? null]),
        power: ups.items.map((entry) => [entry.ups, entry.power]),
        runs: runs.map((run) => run.state),
      };
    }

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'upsfleet-attack-events-'));
      fleet = await startFleet({ dir, adminToken: ADMIN_TOKEN, database: 'postgres' });
      await fleet.api('PUT', '/api/v1/policy', {
        ups: [{ name: 'nas-ups', watcher: 'nas' }],
        hosts: [{ name: 'web1', ups: ['nas-ups'] }],
        stages: [{ name: 'late', hosts: ['web1'], trigger: { onBattery: '10m' } }],
        restore: { stableFor: '1s' },
      });
      [nas, other, attacker] = await Promise.all([fleet.enroll('nas'), fleet.enroll('other'), attackerKey()]);
    });

    afterAll(async () => {
      await fleet?.close();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    });

    it('over HTTP: each refused with a clear problem, nothing stored, then a valid event is accepted', async () => {
      const now = Date.now();
      const next = () => ({ ...reading(['OB', 'DISCHRG']), seq: seq + 1 });
      const attacks: [string, string, number, RegExp][] = [
        [
          'forged (the attacker signs as nas)',
          await signUpsEvent(attacker, nas.agentId, next(), now),
          401,
          /signature does not verify/,
        ],
        [
          'tampered (OL changed to OB under the signature)',
          tamperPayload(
            await signUpsEvent(nas.keyPair, nas.agentId, { ...next(), status: ['OL'] }, now),
            (c) => {
              c.status = ['OB', 'DISCHRG'];
            },
          ),
          401,
          /signature does not verify/,
        ],
        [
          'expired (signed 25 hours ago)',
          await signUpsEvent(nas.keyPair, nas.agentId, next(), now - 25 * HOUR),
          401,
          /expired/,
        ],
        [
          'misaddressed (an agent-auth audience)',
          await signToken(nas.keyPair, next() as unknown as Record<string, unknown>, {
            issuer: nas.agentId,
            audience: Audience.AgentAuth,
            id: `${nas.agentId}:${seq + 1}`,
            now,
            ttlMs: HOUR,
          }),
          401,
          /addressed to someone else/,
        ],
        [
          'from an agent that is not the UPS watcher',
          await signUpsEvent(other.keyPair, other.agentId, next(), now),
          403,
          /"other" is not the watcher of UPS "nas-ups"/,
        ],
        [
          'from an agent nobody enrolled',
          await signUpsEvent(attacker, '6f1e2d3c-0000-4000-8000-000000000000', next(), now),
          401,
          /no active agent/,
        ],
        ['not a token at all', 'not.a.token', 401, /malformed/],
      ];
      for (const [what, token, status, detail] of attacks) {
        const problem = await refused(token);
        expect(problem, what).toMatchObject({ status, contentType: 'application/problem+json' });
        expect(problem.detail, what).toMatch(detail);
      }
      expect(await stored()).toEqual({ events: [], power: [], runs: [] });

      // Still serving: a valid reading is accepted.
      const ok = await push(await validEvent(['OL']));
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ accepted: [seq], duplicates: [] });
      expect((await stored()).events).toEqual([[seq, 'OL']]);
    });

    it('replayed over HTTP: a captured on-battery event changes nothing once power is back', async () => {
      const before = (await stored()).events.length;
      const outage = await validEvent(['OB', 'DISCHRG']);
      expect((await push(outage)).status).toBe(200);
      const from = fleet.coordinator.mark();
      expect((await push(await validEvent(['OL']))).status).toBe(200);
      await fleet.coordinator.waitForLine(/run 1 ended: restored/, 'the outage over', from);

      // The captured OB event, replayed: recognised as already stored, not acted on again.
      const replay = await push(outage);
      expect(replay.status).toBe(200);
      const outageSeq = seq - 1;
      expect(await replay.json()).toEqual({ accepted: [], duplicates: [outageSeq] });
      // The same sequence number with other content: refused as a replay.
      const reused = await refused(
        await signUpsEvent(
          nas.keyPair,
          nas.agentId,
          { ...reading(['OB', 'LB']), seq: outageSeq },
          Date.now(),
        ),
      );
      expect(reused).toMatchObject({ status: 409, contentType: 'application/problem+json' });
      expect(reused.detail).toMatch(/replayed, or re-used/);

      const after = await stored();
      expect(after.events).toHaveLength(before + 2);
      expect(after.power).toEqual([['nas-ups', 'online']]);
      expect(after.runs).toEqual(['ended']);
    });

    describe('over the WebSocket', () => {
      const auth = async (key: SigningKeyPair, agentId: string, now = Date.now()) =>
        `Bearer ${await signAgentAuth(key, agentId, now)}`;

      async function open(authorization: string): Promise<OpenSocket> {
        const socket = await openAgentSocket(fleet.base, authorization);
        if (socket.kind !== 'open') throw new Error(`refused: ${socket.status} ${socket.body}`);
        await socket.frame((frame) => frame.type === 'welcome', 'welcome');
        socket.send({ type: 'hello', protocol: 1, version: 'attack', roles: ['watcher'] });
        return socket;
      }

      it('refuses bad upgrades with a problem: no token, forged, replayed, expired', async () => {
        const replayed = await auth(nas.keyPair, nas.agentId);
        const first = await open(replayed);
        first.ws.close();
        const cases: [string, string | undefined, RegExp][] = [
          ['no token', undefined, /missing bearer token/],
          ['forged', await auth(attacker, nas.agentId), /bad_signature/],
          ['replayed', replayed, /replayed/],
          ['expired', await auth(nas.keyPair, nas.agentId, Date.now() - HOUR), /expired/],
        ];
        for (const [what, authorization, detail] of cases) {
          const socket = await openAgentSocket(fleet.base, authorization);
          expect(socket.kind, what).toBe('refused');
          if (socket.kind !== 'refused') continue;
          expect(socket.status, what).toBe(401);
          expect(socket.contentType, what).toBe('application/problem+json');
          expect(JSON.parse(socket.body).detail, what).toMatch(detail);
        }
      });

      it('answers bad events with an error frame, stores none, and keeps the connection', async () => {
        const before = await stored();
        const socket = await open(await auth(nas.keyPair, nas.agentId));
        const now = Date.now();
        const next = () => ({ ...reading(['OB', 'DISCHRG']), seq: seq + 1 });
        const attacks: [string, string, string][] = [
          ['forged', await signUpsEvent(attacker, nas.agentId, next(), now), 'signature'],
          [
            'tampered',
            tamperPayload(
              await signUpsEvent(nas.keyPair, nas.agentId, { ...next(), status: ['OL'] }, now),
              (c) => {
                c.status = ['OB'];
              },
            ),
            'signature',
          ],
          ['expired', await signUpsEvent(nas.keyPair, nas.agentId, next(), now - 25 * HOUR), 'signature'],
          [
            "another agent's event on nas's connection",
            await signUpsEvent(other.keyPair, other.agentId, next(), now),
            'forbidden',
          ],
        ];
        for (const [index, [what, token, code]] of attacks.entries()) {
          socket.send({ type: 'event', token });
          const errors = () => socket.frames.filter((frame) => frame.type === 'error');
          await socket.frame(() => errors().length > index, `the refusal of the ${what} event`);
          expect(errors()[index], what).toMatchObject({ code });
          expect(String(errors()[index]?.message), what).not.toBe('');
        }
        expect(await stored()).toEqual(before);

        // The same connection still works.
        const valid = await validEvent(['OL']);
        socket.send({ type: 'event', token: valid });
        await socket.frame(
          (frame) => frame.type === 'event-ack' && frame.seq === seq,
          'the valid event acked',
        );
        socket.ws.close();
      });

      it('closes on malformed, binary and oversized frames, and keeps serving others', async () => {
        const frames: [string, (socket: OpenSocket) => void, number][] = [
          ['not JSON', (s) => s.send('{"type":'), 4400],
          ['a risky type', (s) => s.send('{"type":{"toString":1}}'), 4400],
          ['an unknown type', (s) => s.send({ type: 'order', token: 'x' }), 4400],
          ['binary', (s) => s.ws.send(Buffer.from([1, 2, 3])), 4400],
          ['over 64 KiB', (s) => s.send({ type: 'event', token: 'x'.repeat(70_000) }), 1009],
        ];
        for (const [what, send, code] of frames) {
          const socket = await open(await auth(nas.keyPair, nas.agentId));
          send(socket);
          expect(await socket.closed, what).toBe(code);
        }
        expect((await fetch(`${fleet.base}/healthz`)).status).toBe(200);
        expect(fleet.coordinator.child.exitCode).toBeNull();
        const ok = await push(await validEvent(['OL']));
        expect(ok.status).toBe(200);
      });
    });
  },
);
