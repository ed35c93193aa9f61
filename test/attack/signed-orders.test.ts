/**
 * Attack: bad orders sent to a real host agent process (the bundled agent, as installed). A
 * stand-in coordinator holds the key the agent pinned and sends, down the agent's own WebSocket,
 * orders that are forged (another key), tampered (claims changed under the signature), expired,
 * misaddressed (another agent, another issuer), of a kind this agent cannot carry out, or not
 * tokens at all, plus a frame that is not JSON. Each is acknowledged `rejected` with its reason and
 * runs nothing (the harmless shutdown would record itself). The agent stays up and connected: a
 * valid order then runs exactly once, and its replays, before and after an agent restart, are
 * duplicates.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrderClaims } from '../../shared/src/protocol.js';
import { type SigningKeyPair, signToken } from '../../shared/src/signing.js';
import { signOrder } from '../../shared/src/tokens.js';
import { buildAgentBundle, spawnBundledAgent } from '../helpers/agent-bundle.js';
import {
  type AgentConnection,
  type FakeCoordinator,
  startFakeCoordinator,
} from '../helpers/fake-coordinator.js';
import { hostSection } from '../helpers/fleet-harness.js';
import type { WatchedProcess } from '../helpers/processes.js';
import { recordedHosts, recordingShutdown } from '../helpers/shutdown-record.js';
import { attackerKey, tamperPayload } from '../helpers/signed-tokens.js';

const MINUTE = 60_000;
const shutdown: OrderClaims = { kind: 'shutdown', runId: 'run-attack', stage: 'apps', drill: false };

describe('attack: forged, tampered, replayed, expired and misaddressed orders against a host agent', () => {
  let dir: string;
  let coordinator: FakeCoordinator;
  let bundle: string;
  let agentId: string;
  let attacker: SigningKeyPair;
  let agent: WatchedProcess;
  const processes: WatchedProcess[] = [];
  const record = () => join(dir, 'shutdowns.log');
  const config = () => join(dir, 'web1.yaml');

  function order(
    options: { key?: SigningKeyPair; to?: string; now?: number; ttl?: number; claims?: OrderClaims } = {},
  ): Promise<string> {
    const now = options.now ?? Date.now();
    return signOrder(options.key ?? coordinator.key, {
      orderId: randomUUID(),
      agentId: options.to ?? agentId,
      claims: options.claims ?? shutdown,
      now,
      expiresAt: now + (options.ttl ?? 10 * MINUTE),
    });
  }

  /** Starts the agent and resolves with its connection once it said hello. */
  async function startAgent(index: number): Promise<AgentConnection> {
    agent = spawnBundledAgent(`web1#${index}`, bundle, ['agent', '--config', config()]);
    processes.push(agent);
    const connection = await coordinator.connection(index);
    await connection.frame((frame) => frame.type === 'hello', 'hello');
    return connection;
  }

  /** Sends an order token and resolves with the agent's ack for `orderId`. */
  async function ackOf(connection: AgentConnection, token: string, orderId: string, what: string) {
    connection.send({ type: 'order', token });
    return connection.frame(
      (frame) => frame.type === 'ack' && frame.orderId === orderId,
      `the ack of ${what}`,
    );
  }

  const idOf = (token: string): string => {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
    return String(payload.jti);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'upsfleet-attack-orders-'));
    [coordinator, bundle, attacker] = await Promise.all([
      startFakeCoordinator(),
      buildAgentBundle(dir),
      attackerKey(),
    ]);
    const stateDir = join(dir, 'web1-state');
    agentId = await coordinator.enroll('web1', stateDir);
    await writeFile(
      config(),
      [
        `coordinator: ${coordinator.url}`,
        `stateDir: ${stateDir}`,
        ...hostSection(recordingShutdown(record(), 'web1', { killAgent: false })),
        '',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    for (const each of processes) await each.stop();
    await coordinator?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('rejects every bad order with its reason and runs nothing', async () => {
    const connection = await startAgent(0);
    const now = Date.now();
    const genuine = await order();
    const attacks: [string, string, RegExp][] = [
      ['forged: signed by a key the agent never pinned', await order({ key: attacker }), /^bad_signature$/],
      [
        'tampered: another stage written under the signature',
        tamperPayload(genuine, (claims) => {
          claims.jti = randomUUID();
          claims.stage = 'everything';
        }),
        /^bad_signature$/,
      ],
      ['expired: its deadline passed 10 minutes ago', await order({ now: now - 20 * MINUTE }), /^expired$/],
      ['misaddressed: for another agent', await order({ to: randomUUID() }), /^wrong_audience$/],
      [
        'misaddressed: from another issuer',
        await signToken(
          coordinator.key,
          { ...shutdown },
          {
            issuer: 'upsfleet:someone-else',
            audience: agentId,
            id: randomUUID(),
            now,
            ttlMs: 10 * MINUTE,
          },
        ),
        /^wrong_issuer$/,
      ],
      [
        'a kind this agent cannot carry out (it watches no UPS)',
        await order({
          claims: { kind: 'ups-power-off', runId: 'run-attack', ups: 'nas-ups', command: 'shutdown.return' },
        }),
        /not watched by this agent/,
      ],
    ];
    for (const [what, token, reason] of attacks) {
      const ack = await ackOf(connection, token, idOf(token), what);
      expect(ack.status, what).toBe('rejected');
      expect(String(ack.reason), what).toMatch(reason);
    }
    // Not a token, and not even a frame: the first is rejected as unreadable, the second ignored.
    const garbage = await ackOf(connection, 'garbage', 'unreadable', 'a non-token');
    expect(garbage).toMatchObject({ status: 'rejected', reason: 'malformed' });
    connection.send('{"type":"order","token":');
    connection.send('{"type":{"toString":1}}');
    // The barrier: a frame sent after the two is answered on the same connection, so the agent read
    // them, is still up, and did not drop the connection over them.
    const forged = await order({ key: attacker });
    const after = await ackOf(connection, forged, idOf(forged), 'an order sent after the garbage');
    expect(after).toMatchObject({ status: 'rejected', reason: 'bad_signature' });

    expect(await recordedHosts(record())).toEqual([]);
    expect(agent.child.exitCode).toBeNull();
    expect(agent.lines.join('\n')).toMatch(/order refused: bad_signature/);
  });

  it('still obeys a valid order, exactly once, also when it is replayed before and after a restart', async () => {
    const connection = await coordinator.connection(0);
    const valid = await order();
    const id = idOf(valid);
    expect(await ackOf(connection, valid, id, 'the valid order')).toMatchObject({ status: 'accepted' });
    await connection.frame(
      (frame) => frame.type === 'result' && frame.orderId === id && frame.outcome === 'succeeded',
      'the shutdown result',
    );
    expect(await recordedHosts(record())).toEqual(['web1']);

    // Replayed on the same connection: a duplicate (the ack above was the first for this id).
    connection.send({ type: 'order', token: valid });
    await connection.frame(
      (frame) => frame.type === 'ack' && frame.orderId === id && frame.status === 'duplicate',
      'the duplicate ack',
    );

    // Replayed to a restarted agent: it remembers from disk.
    await agent.stop();
    const again = await startAgent(1);
    expect(await ackOf(again, valid, id, 'the replay after a restart')).toMatchObject({
      status: 'duplicate',
    });
    expect(await recordedHosts(record())).toEqual(['web1']);
    expect(agent.child.exitCode).toBeNull();
  });
});
