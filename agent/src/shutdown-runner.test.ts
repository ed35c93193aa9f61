import { once } from 'node:events';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  describeRunResult,
  OUTPUT_TAIL_BYTES,
  type RunResult,
  runCommand,
  toRunOutcome,
} from './shutdown-runner.js';

const node = (script: string, ...args: string[]): string[] => [process.execPath, '-e', script, ...args];

describe('runCommand', () => {
  it('captures stdout and stderr and the exit code, without a shell', async () => {
    const result = await runCommand(node("console.log('out $HOME'); console.error('err'); process.exit(3)"), {
      timeoutMs: 20_000,
    });
    expect(result).toMatchObject({ exitCode: 3, signal: null, timedOut: false });
    expect(result.output).toContain('out $HOME');
    expect(result.output).toContain('err');
    expect(result.error).toBeUndefined();
  });

  it('passes arguments literally', async () => {
    const result = await runCommand(node('console.log(process.argv[1])', '; echo injected'), {
      timeoutMs: 20_000,
    });
    expect(result.output.trim()).toBe('; echo injected');
  });

  it('keeps only the tail of long output', async () => {
    const result = await runCommand(node("process.stdout.write('x'.repeat(20000) + 'END')"), {
      timeoutMs: 20_000,
    });
    expect(result.exitCode).toBe(0);
    expect(result.output.endsWith('END')).toBe(true);
    expect(result.output.length).toBe(OUTPUT_TAIL_BYTES);
  });

  it('resolves with the error when the program does not exist', async () => {
    const result = await runCommand(['/nonexistent/upsfleet-poweroff'], { timeoutMs: 20_000 });
    expect(result.exitCode).toBeNull();
    expect(result.error).toMatch(/ENOENT/);
  });

  it('kills a command that outlives its timeout with SIGTERM', async () => {
    const result = await runCommand(node('setInterval(() => {}, 1000)'), { timeoutMs: 50 });
    expect(result).toMatchObject({ timedOut: true, signal: 'SIGTERM', exitCode: null });
  });

  it('follows up with SIGKILL when SIGTERM is ignored', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    const abort = new AbortController();
    // The child ignores SIGTERM, then says so by connecting; only then is it aborted.
    server.once('connection', () => abort.abort());
    const script =
      "process.on('SIGTERM', () => {}); require('node:net').connect(Number(process.argv[1]), '127.0.0.1');" +
      'setInterval(() => {}, 1000)';
    try {
      const result = await runCommand(node(script, String(address.port)), {
        timeoutMs: 60_000,
        killGraceMs: 50,
        signal: abort.signal,
      });
      expect(result).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
    } finally {
      server.close();
    }
  });

  it('returns after exit even when a daemon it started keeps its output open', async () => {
    const script =
      "const c = require('node:child_process').spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']," +
      " { stdio: 'inherit', detached: true }); c.unref(); console.log(c.pid)";
    const result = await runCommand(node(script), { timeoutMs: 20_000 });
    const pid = Number(result.output.trim());
    try {
      expect(result.exitCode).toBe(0);
      expect(pid).toBeGreaterThan(0);
    } finally {
      if (pid > 0) process.kill(pid, 'SIGKILL');
    }
  });
});

describe('toRunOutcome and describeRunResult', () => {
  const base: RunResult = { exitCode: 0, signal: null, output: '', timedOut: false };
  it.each([
    ['exit 0', base, 'succeeded', 'exited 0'],
    ['a non-zero exit', { ...base, exitCode: 3 }, 'failed', 'exited 3'],
    [
      'a kill by the timeout',
      { ...base, exitCode: null, signal: 'SIGTERM', timedOut: true },
      'timed-out',
      'was killed after 1m',
    ],
    [
      'a kill by someone else',
      { ...base, exitCode: null, signal: 'SIGKILL' },
      'failed',
      'was killed by SIGKILL',
    ],
    [
      'a program that cannot start',
      { ...base, exitCode: null, error: 'spawn x ENOENT' },
      'failed',
      'could not start: spawn x ENOENT',
    ],
  ] as const)('%s', (_what, result, outcome, how) => {
    expect(toRunOutcome(result)).toBe(outcome);
    expect(describeRunResult(result, 60_000)).toBe(how);
  });
});
