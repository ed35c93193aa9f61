import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryLogger } from '../../../shared/src/logger.js';
import { runCommand } from '../shutdown-runner.js';
import { createTempDir, recordedLines } from '../test-support.js';
import { type BeforeHook, runBeforeHooks } from './before-hooks.js';
import type { ProgressFields } from './order-plan.js';

/** A hook that appends its name to the record, then runs `then` (JavaScript). */
const hook = (name: string, record: string, then = ''): BeforeHook => ({
  name,
  run: [
    process.execPath,
    '-e',
    `require('node:fs').appendFileSync(process.argv[1], '${name}\\n'); ${then}`,
    record,
  ],
  timeout: 20_000,
});

describe('runBeforeHooks', () => {
  let dir: { path: string; remove(): Promise<void> };
  let record: string;

  beforeEach(async () => {
    dir = await createTempDir('hooks');
    record = join(dir.path, 'record.log');
  });
  afterEach(async () => dir.remove());

  async function run(hooks: BeforeHook[]) {
    const frames: ProgressFields[] = [];
    const logger = createMemoryLogger();
    const reports = await runBeforeHooks(hooks, {
      run: runCommand,
      progress: (fields) => frames.push(fields),
      logger,
      orderId: 'order-1',
    });
    return { frames, logger, reports };
  }

  it('runs each hook in order and reports its start and end', async () => {
    const { frames, reports } = await run([
      hook('stop-app', record, "console.log('app stopped')"),
      hook('stop-db', record),
    ]);
    expect(await recordedLines(record)).toEqual(['stop-app', 'stop-db']);
    expect(frames).toEqual([
      { step: 'stop-app', state: 'started' },
      { step: 'stop-app', state: 'succeeded', output: 'app stopped\n' },
      { step: 'stop-db', state: 'started' },
      { step: 'stop-db', state: 'succeeded' },
    ]);
    expect(reports.map((r) => r.outcome)).toEqual(['succeeded', 'succeeded']);
  });

  it('reports a failing hook with its exit code and output, and goes on with the next', async () => {
    const { frames, logger, reports } = await run([
      hook('flaky', record, "console.error('container busy'); process.exit(3)"),
      hook('after', record),
    ]);
    expect(await recordedLines(record)).toEqual(['flaky', 'after']);
    expect(frames[1]).toEqual({ step: 'flaky', state: 'failed', exitCode: 3, output: 'container busy\n' });
    expect(reports).toEqual([
      { name: 'flaky', outcome: 'failed', how: 'exited 3' },
      { name: 'after', outcome: 'succeeded', how: 'exited 0' },
    ]);
    expect(logger.lines()).toContain(
      'error before hook flaky exited 3 orderId=order-1 output="container busy\\n"',
    );
  });

  it('kills a hook that outlives its timeout, reports it timed out, and goes on', async () => {
    // It never exits by itself, so it is killed whenever the timeout fires (even before it started).
    const hangs = {
      name: 'hangs',
      run: [process.execPath, '-e', 'setInterval(() => {}, 1000)'],
      timeout: 50,
    };
    const { frames, reports } = await run([hangs, hook('after', record)]);
    expect(await recordedLines(record)).toEqual(['after']);
    expect(frames[1]).toEqual({ step: 'hangs', state: 'timed-out' });
    expect(reports[0]).toEqual({ name: 'hangs', outcome: 'timed-out', how: 'was killed after 50ms' });
  });

  it('reports a hook whose program does not exist, and goes on', async () => {
    const missing = join(dir.path, 'no-such-docker');
    const { frames } = await run([
      { name: 'missing', run: [missing, 'stop', 'app'], timeout: 20_000 },
      hook('after', record),
    ]);
    expect(frames[1]).toEqual({
      step: 'missing',
      state: 'failed',
      output: expect.stringMatching(/^could not start: spawn .*no-such-docker ENOENT$/),
    });
    expect(await recordedLines(record)).toEqual(['after']);
  });

  it('keeps the tail of a long output', async () => {
    const { frames } = await run([hook('chatty', record, "process.stdout.write('x'.repeat(20000) + 'END')")]);
    const output = frames[1]?.output ?? '';
    expect(output.endsWith('END')).toBe(true);
    expect(output.length).toBeLessThanOrEqual(4096);
  });

  it('does nothing without hooks', async () => {
    expect(await run([])).toMatchObject({ frames: [], reports: [] });
  });
});
