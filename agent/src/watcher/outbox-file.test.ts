import { appendFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../../shared/src/clock.js';
import { createMemoryLogger, type Logger } from '../../../shared/src/logger.js';
import type { UpsEventClaims, UpsEventInput } from '../../../shared/src/protocol.js';
import { generateSigningKey, type SigningKeyPair } from '../../../shared/src/signing.js';
import { signUpsEvent, verifyUpsEvent } from '../../../shared/src/tokens.js';
import { createTempDir } from '../test-support.js';
import { OUTBOX_FILE, type Outbox, openOutbox, type PendingEvent } from './outbox.js';

const T0 = Date.parse('2026-11-23T22:00:00Z');
const clock = createManualClock(T0);
const event = (n: number): PendingEvent => ({
  ups: 'rack-a',
  observedAt: T0 + n,
  status: ['OB'],
  events: [],
});

/** "Crash" = open the same folder again without closing the previous instance. */
describe('watcher outbox on disk', () => {
  let dir: { path: string; remove(): Promise<void> };
  let file: string;
  let keyPair: SigningKeyPair;
  const opened: Outbox[] = [];
  const open = async (options: { maxEvents?: number; logger?: Logger } = {}): Promise<Outbox> => {
    const sign = (claims: UpsEventInput) => signUpsEvent(keyPair, 'agent-1', claims, clock.now());
    const outbox = await openOutbox({ dir: dir.path, sign, clock, ...options });
    opened.push(outbox);
    return outbox;
  };
  const claimsOf = async (token: string | undefined): Promise<UpsEventClaims> =>
    (await verifyUpsEvent(token ?? '', async () => keyPair.publicKey, clock.now())).claims;

  beforeEach(async () => {
    dir = await createTempDir('outbox-file');
    file = join(dir.path, OUTBOX_FILE);
    keyPair = (await generateSigningKey()).keyPair;
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((outbox) => outbox.close()));
    await dir.remove();
  });

  it('survives a crash after every step: no acked event again, in-flight re-sent as is, order kept', async () => {
    const a = await open();
    for (const n of [1, 2, 3]) await a.enqueue(event(n));
    const b = await open();
    expect(b.size).toBe(3);
    const sent = await b.next();
    const c = await open();
    expect(await c.next()).toEqual(sent);
    expect(await c.ack(1)).toBe(true);
    const d = await open();
    const second = await d.next();
    expect(await claimsOf(second?.token)).toMatchObject({ seq: 2, observedAt: T0 + 2 });
    expect(await d.ack(2)).toBe(true);
    const e = await open();
    expect(await claimsOf((await e.next())?.token)).toMatchObject({ seq: 3, observedAt: T0 + 3 });
    expect(await e.ack(3)).toBe(true);
    const f = await open();
    expect(f.size).toBe(0);
    expect(await f.next()).toBeUndefined();
    await f.enqueue(event(4));
    const g = await open();
    expect(await claimsOf((await g.next())?.token)).toMatchObject({ seq: 4, observedAt: T0 + 4 });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('keeps the discard count across a crash', async () => {
    const a = await open({ maxEvents: 2 });
    for (const n of [1, 2, 3, 4]) await a.enqueue(event(n));
    const b = await open({ maxEvents: 2 });
    expect(await claimsOf((await b.next())?.token)).toMatchObject({ seq: 1, observedAt: T0 + 3, dropped: 2 });
  });

  it('trims to a smaller maxEvents on open, counting the discarded', async () => {
    const a = await open();
    for (const n of [1, 2, 3, 4, 5]) await a.enqueue(event(n));
    const b = await open({ maxEvents: 2 });
    expect([b.size, b.dropped]).toEqual([2, 3]);
    expect(await claimsOf((await b.next())?.token)).toMatchObject({ observedAt: T0 + 4, dropped: 3 });
  });

  it('ignores a torn last line (logged) and appends cleanly after it', async () => {
    const a = await open();
    for (const n of [1, 2]) await a.enqueue(event(n));
    await appendFile(file, '{"op":"send","id":0,"seq":1,"dropped":0,"tok');
    const logger = createMemoryLogger();
    const b = await open({ logger });
    expect(logger.lines().some((line) => line.startsWith('warn outbox journal ends in a torn write'))).toBe(
      true,
    );
    await b.enqueue(event(3));
    const c = await open();
    expect(c.size).toBe(3);
    for (const n of [1, 2, 3]) {
      const sent = await c.next();
      expect(await claimsOf(sent?.token)).toMatchObject({ seq: n, observedAt: T0 + n });
      await c.ack(n);
    }
  });

  it.each([
    ['a foreign file', '{"orders":{}}\n', /first line is not a \{"format":"upsfleet-outbox"\} header/],
    ['an empty file', '', /first line is not/],
    ['a newer format', '{"v":2,"format":"upsfleet-outbox"}\n', /format v2, this version reads v1/],
    [
      'a corrupt record before the end',
      '{"v":1,"format":"upsfleet-outbox","lastSeq":0,"pendingDropped":0,"inFlight":null}\nxx\n{"op":"ack","seq":1}\n',
      /line 2 is not an outbox record/,
    ],
    [
      'a record that does not follow',
      '{"v":1,"format":"upsfleet-outbox","lastSeq":5,"pendingDropped":0,"inFlight":null}\n{"op":"ack","seq":5}\n',
      /line 2 does not follow: seq 5 is not in flight/,
    ],
  ])('refuses %s with a clear error and leaves it alone', async (_name, content, message) => {
    await writeFile(file, content);
    await expect(open()).rejects.toThrow(message);
    await expect(open()).rejects.toThrow(/move it away to start with an empty queue/);
    expect(await readFile(file, 'utf8')).toBe(content);
  });

  it('compacts: 5,000 enqueue/ack cycles stay contiguous and the journal stays small', async () => {
    const outbox = await open();
    let largest = 0;
    for (let n = 1; n <= 5_000; n++) {
      await outbox.enqueue(event(n));
      const sent = await outbox.next();
      expect(sent?.seq).toBe(n);
      if (n % 250 === 0) {
        expect(await claimsOf(sent?.token)).toMatchObject({ seq: n, observedAt: T0 + n, dropped: 0 });
        largest = Math.max(largest, (await stat(file)).size);
      }
      expect(await outbox.ack(n)).toBe(true);
    }
    // Without compaction ≈ 5,000 × 900 bytes; the dead-line threshold keeps it near 1,024 lines.
    expect(largest).toBeLessThan(512 * 1024);
    await outbox.enqueue(event(5_001));
    const inFlight = await outbox.next();
    const reopened = await open();
    expect(await reopened.next()).toEqual(inFlight);
    expect(inFlight?.seq).toBe(5_001);
  });

  it('compacts while a backlog is queued, keeping it in order', async () => {
    const outbox = await open();
    for (let n = 1; n <= 1_500; n++) await outbox.enqueue(event(n));
    for (let n = 1; n <= 1_200; n++) {
      expect((await outbox.next())?.seq).toBe(n);
      await outbox.ack(n);
    }
    expect((await readFile(file, 'utf8')).split('\n').length).toBeLessThan(1_500);
    const reopened = await open();
    expect(reopened.size).toBe(300);
    expect(await claimsOf((await reopened.next())?.token)).toMatchObject({
      seq: 1_201,
      observedAt: T0 + 1_201,
    });
  });
});
