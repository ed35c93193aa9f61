/**
 * `GET /api/v1/stream` in memory: what a follower sees as a watcher reports and a drill runs, the
 * resume after a dropped connection with Last-Event-ID, and who may open it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUpsEvent } from '../shared/src/tokens.js';
import {
  createTestCoordinator,
  type EnrolledAgent,
  type TestCoordinator,
} from './helpers/coordinator-app.js';

interface SseMessage {
  event: string;
  id: string | undefined;
  data: Record<string, unknown>;
}

/** Reads SSE messages from a response body as they arrive. */
function reader(response: Response) {
  const body = response.body?.pipeThrough(new TextDecoderStream()).getReader();
  if (body === undefined) throw new Error('no body');
  let buffer = '';
  const queue: SseMessage[] = [];
  return {
    async next(): Promise<SseMessage> {
      for (;;) {
        const message = queue.shift();
        if (message !== undefined) return message;
        const { value, done } = await body.read();
        if (done) throw new Error('stream ended');
        buffer += value;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = new Map<string, string>();
          for (const line of block.split('\n')) {
            const colon = line.indexOf(':');
            if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
          }
          if (fields.has('data'))
            queue.push({
              event: fields.get('event') ?? 'message',
              id: fields.get('id'),
              data: JSON.parse(fields.get('data') ?? '{}') as Record<string, unknown>,
            });
          end = buffer.indexOf('\n\n');
        }
      }
    },
    /** The next message of this kind (others are skipped). */
    async nextOf(event: string): Promise<SseMessage> {
      for (;;) {
        const message = await this.next();
        if (message.event === event) return message;
      }
    },
    cancel: () => body.cancel(),
  };
}

let t: TestCoordinator;
let nas: EnrolledAgent;
let seq = 0;

async function report(status: string[], events: string[], vars: Record<string, string> = {}) {
  t.clock.advance(1000);
  const token = await signUpsEvent(
    nas.keyPair,
    nas.agentId,
    { seq: ++seq, ups: 'ups-a', observedAt: t.clock.now(), events: events as never, status, vars },
    t.clock.now(),
  );
  const response = await t.postJson('/agent/v1/events', { events: [token] });
  expect(response.status).toBe(200);
}

function open(headers: Record<string, string> = {}, query = '') {
  return t.request(`/api/v1/stream${query}`, {
    headers: { authorization: `Bearer ${t.adminToken}`, ...headers },
  });
}

beforeAll(async () => {
  t = await createTestCoordinator();
  nas = await t.enroll('nas');
  const applied = await t.admin('PUT', '/api/v1/policy', {
    ups: [{ name: 'ups-a', watcher: 'nas' }],
    hosts: [{ name: 'web-1', ups: ['ups-a'] }],
    stages: [{ name: 'apps', hosts: ['web-1'], trigger: { onBattery: '60s' } }],
  });
  expect(applied.status).toBe(200);
});

afterAll(async () => {
  await t?.close();
});

describe('the live stream', () => {
  it('sends each stored UPS event with the UPS state, and each timeline entry of a run, as they happen', async () => {
    const response = await open();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const stream = reader(response);
    const hello = await stream.next();
    expect(hello.event).toBe('hello');

    await report(['OB', 'DISCHRG'], ['ONBATT'], { 'battery.charge': '93' });
    const ups = await stream.nextOf('ups');
    expect(ups.data).toMatchObject({
      event: { ups: 'ups-a', host: 'nas', events: ['ONBATT'], status: ['OB', 'DISCHRG'] },
      state: { ups: 'ups-a', power: 'battery', vars: { 'battery.charge': '93' } },
    });
    const started = await stream.nextOf('run');
    expect(started.data).toMatchObject({ kind: 'run-started', run: { kind: 'outage', state: 'active' } });
    await stream.cancel();
  });

  it('replays what a client missed when it reconnects with Last-Event-ID, without repeating what it had', async () => {
    const first = reader(await open({}, '?topics=ups'));
    const hello = await first.next();
    await first.cancel();
    await report(['OL'], ['ONLINE'], { 'battery.charge': '94' });
    await report(['OL'], [], { 'battery.charge': '95' });

    const resumed = reader(await open({ 'last-event-id': String(hello.id) }, '?topics=ups'));
    expect((await resumed.next()).event).toBe('hello');
    const charges = [await resumed.nextOf('ups'), await resumed.nextOf('ups')].map(
      (m) => (m.data.event as { vars: Record<string, string> }).vars['battery.charge'],
    );
    expect(charges).toEqual(['94', '95']);
    await report(['OL'], [], { 'battery.charge': '96' });
    const live = await resumed.nextOf('ups');
    expect((live.data.event as { vars: Record<string, string> }).vars['battery.charge']).toBe('96');
    await resumed.cancel();
  });

  it('needs a read token, and refuses a bad resume cursor with the reason', async () => {
    expect((await t.request('/api/v1/stream')).status).toBe(401);
    const bad = await open({}, '?after=yesterday');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/event id/);
  });
});
