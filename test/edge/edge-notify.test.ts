/**
 * Notifications at the edge across a restart: a WeChat Work robot (a webhook receiver on
 * 127.0.0.1) asks the coordinator to come back in 10 s (429 + Retry-After), and workerd is then
 * SIGKILLed and started again on its persisted state. No request reaches the fleet's Durable Object
 * afterwards and no agent is connected: only its durable alarm (set to the outbox's next due time)
 * can wake it and bring the message out. There is no polling timer at the edge.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateSigningKey } from '../../shared/src/signing.js';
import { signUpsEvent } from '../../shared/src/tokens.js';
import { describeEdge, type EdgeCoordinator, startEdgeCoordinator } from '../helpers/edge.js';
import { type Receiver, startReceiver, wechatOk } from '../notify/receiver.js';

const ADMIN_TOKEN = 'edge-notify-admin-token-0123456789abcdef';
const RETRY_AFTER_S = 10;

describeEdge('notifications at the edge', () => {
  let dir: string;
  let edge: EdgeCoordinator;
  let robot: Receiver;

  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${edge.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'upsfleet-edge-notify-'));
    let answered = 0;
    robot = await startReceiver({
      respond: (request) =>
        answered++ === 0
          ? { status: 429, headers: { 'retry-after': String(RETRY_AFTER_S) }, body: 'slow down' }
          : wechatOk(request),
    });
    edge = await startEdgeCoordinator({
      dir,
      bindings: { UPSFLEET_ADMIN_TOKEN: ADMIN_TOKEN, UPSFLEET_LOG_LEVEL: 'debug' },
    });
  });

  afterAll(async () => {
    await edge?.stop();
    await robot?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("retries a refused message on the object's alarm, after a workerd restart", async () => {
    const created = await admin('POST', '/api/v1/enrollments', { name: 'nas' });
    const { token } = (await created.json()) as { token: string };
    const { keyPair } = await generateSigningKey();
    const enrolled = await fetch(`${edge.url}/agent/v1/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, name: 'nas', publicKey: keyPair.publicJwk }),
    });
    const { agentId } = (await enrolled.json()) as { agentId: string };
    expect(
      (await admin('PUT', '/api/v1/policy', { ups: [{ name: 'nas-ups', watcher: 'nas' }] })).status,
    ).toBe(200);
    const channel = await admin('PUT', '/api/v1/notifications/channels/ops-phone', {
      name: 'ops-phone',
      type: 'wechat-work',
      url: robot.url('/cgi-bin/webhook/send?key=edge-robot-key'),
      events: ['onbatt'],
    });
    expect(channel.status).toBe(201);

    const now = Date.now();
    const event = await signUpsEvent(
      keyPair,
      agentId,
      { seq: 1, ups: 'nas-ups', observedAt: now, status: ['OB', 'DISCHRG'], events: ['ONBATT'] },
      now,
    );
    const pushed = await fetch(`${edge.url}/agent/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events: [event] }),
    });
    expect(pushed.status).toBe(200);

    const refused = await robot.next();
    expect(JSON.parse(refused.body)).toMatchObject({ msgtype: 'text' });
    await edge.process().waitForLine(/notification not delivered: will retry .*retryIn=10s/, 'the retry');
    // The step has set the alarm to the retry's due time: workerd dies, and comes back.
    await edge.process().waitForLine(/notification step done next=\d{4}-/, 'the next due time');
    await edge.restart();

    const retried = await robot.next();
    expect(retried.body).toBe(refused.body);
    expect(robot.requests).toHaveLength(2);
    await edge.process().waitForLine(/notification sent channel=ops-phone/, 'the delivery');
    const lines = edge.process().lines;
    const woken = lines.findIndex((line) => /coordinator\[default\] alarm woken=true/.test(line));
    const sent = lines.findIndex((line) => /notification sent/.test(line));
    expect(woken).toBeGreaterThanOrEqual(0);
    expect(sent).toBeGreaterThan(woken);
  }, 90_000);
});
