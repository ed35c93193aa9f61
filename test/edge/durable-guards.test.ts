/**
 * The edge's replay and throttle stores (coordinator/src/edge/durable-guards.ts) in a real
 * SQLite-backed Durable Object in local workerd: the same store contract as the in-memory stores,
 * and what they are for: a used id and a count of failures are still there after workerd restarts.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPATIBILITY_DATE, COMPATIBILITY_FLAGS } from '../../coordinator/src/edge/dev/local-workerd.js';
import { workerdMissingReason } from '../helpers/edge.js';
import {
  describeReplayStoreContract,
  describeThrottleStoreContract,
} from '../helpers/guard-store-contract.js';
import { describeRequiring } from '../helpers/requirements.js';

let dir: string;
let script: string;

async function startWorkerd(persist: string | undefined): Promise<Miniflare> {
  const mf = new Miniflare({
    modules: true,
    script,
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: COMPATIBILITY_FLAGS,
    durableObjects: { GUARDS: { className: 'GuardObject', useSQLite: true } },
    ...(persist === undefined ? {} : { durableObjectsPersist: persist }),
    cf: false,
  });
  await mf.ready;
  return mf;
}

async function call(
  mf: Miniflare,
  object: string,
  body: { store: 'replay' | 'throttle'; options?: Record<string, number>; op: string; args: unknown[] },
): Promise<unknown> {
  const response = await mf.dispatchFetch(`http://guards/${object}`, {
    method: 'POST',
    body: JSON.stringify({ options: {}, ...body }),
  });
  if (response.status !== 200) throw new Error(`${body.store}.${body.op}: ${await response.text()}`);
  return ((await response.json()) as { result: unknown }).result;
}

describeRequiring('the edge guard stores', workerdMissingReason(), () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'upsfleet-guards-'));
    const outfile = join(dir, 'worker.mjs');
    await build({
      entryPoints: [new URL('./fixtures/guard-store-worker.ts', import.meta.url).pathname],
      outfile,
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      logLevel: 'warning',
    });
    script = await readFile(outfile, 'utf8');
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('the edge guard stores in workerd', () => {
    let mf: Miniflare;
    beforeAll(async () => {
      mf = await startWorkerd(undefined);
    });
    afterAll(async () => {
      await mf?.dispose();
    });

    describeReplayStoreContract('durable object', async (options) => {
      const object = randomUUID();
      return {
        claim: async (id, expiresAt, now) =>
          (await call(mf, object, { store: 'replay', options, op: 'claim', args: [id, expiresAt, now] })) as
            | 'claimed'
            | 'seen'
            | 'full',
        size: async () =>
          (await call(mf, object, { store: 'replay', options, op: 'size', args: [] })) as number,
      };
    });

    describeThrottleStoreContract('durable object', async () => {
      const object = randomUUID();
      return {
        recent: async (key, since) =>
          (await call(mf, object, { store: 'throttle', op: 'recent', args: [key, since] })) as number[],
        record: async (key, at, keep) => {
          await call(mf, object, { store: 'throttle', op: 'record', args: [key, at, keep] });
        },
        forget: async (key) => {
          await call(mf, object, { store: 'throttle', op: 'forget', args: [key] });
        },
      };
    });
  });

  describe('the edge guard stores across a workerd restart', () => {
    it('still refuse a used id and still hold the failures counted before', async () => {
      const persist = join(dir, 'state');
      const now = Date.now();
      const before = await startWorkerd(persist);
      try {
        expect(
          await call(before, 'fleet', { store: 'replay', op: 'claim', args: ['auth:t1', now + 60_000, now] }),
        ).toBe('claimed');
        await call(before, 'fleet', { store: 'throttle', op: 'record', args: ['10.0.0.1', now, 10] });
      } finally {
        await before.dispose();
      }
      const after = await startWorkerd(persist);
      try {
        expect(
          await call(after, 'fleet', {
            store: 'replay',
            op: 'claim',
            args: ['auth:t1', now + 60_000, now + 1],
          }),
        ).toBe('seen');
        expect(
          await call(after, 'fleet', { store: 'throttle', op: 'recent', args: ['10.0.0.1', now - 60_000] }),
        ).toEqual([now]);
      } finally {
        await after.dispose();
      }
    });
  });
});
