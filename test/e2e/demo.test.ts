/**
 * `npx upsfleet demo` in a checkout, as the README says to try it: it plays the power cut and the
 * restore, prints the staged timeline, and exits 0, leaving nothing behind (its temp dir is gone).
 * Nothing is shut down: each host's "shutdown" appends its name to a file in that temp dir.
 */
import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type WatchedProcess, watchProcess } from '../helpers/processes.js';

describe('npx upsfleet demo', () => {
  let demo: WatchedProcess | undefined;
  afterAll(async () => {
    await demo?.stop();
  });

  it('plays a power cut in stages and the restore, then exits cleanly', async () => {
    demo = watchProcess(
      spawn('npx', ['upsfleet', 'demo'], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      }),
      'demo',
    );
    const code = await demo.exited;
    const output = demo.lines.join('\n');
    expect(code, output).toBe(0);

    // The staged timeline, in order: web, then apps, then databases; then the wake-ups in reverse.
    const order = [
      /power cut: the UPS says OB DISCHRG/,
      /run-started {2}power lost: demo-ups/,
      /stage-fired {2}web {2}demo-ups: on battery 3s/,
      /web1: shutdown command ran/,
      /host-down {2}web1 {2}confirmed/,
      /stage-fired {2}apps/,
      /host-down {2}app1/,
      /stage-fired {2}databases/,
      /host-down {2}db1/,
      /power is back/,
      /wake {2}db1 {2}via nas/,
      /magic packet for 02:00:00:00:00:03 on 127\.0\.0\.1: db1 boots/,
      /host-back {2}db1/,
      /host-back {2}app1/,
      /host-back {2}web1/,
      /run-ended {2}restored/,
    ];
    let from = 0;
    for (const pattern of order) {
      const at = demo.lines.findIndex((line, index) => index >= from && pattern.test(line));
      expect(at, `${pattern} after line ${from}:\n${output}`).toBeGreaterThanOrEqual(0);
      from = at + 1;
    }
    expect(output).toContain('shutdowns recorded (nothing was powered off): web1, app1, db1');
    expect(output).toMatch(/dashboard http:\/\/127\.0\.0\.1:\d+\/ +admin token ufa_demo_/);

    const tempDir = /embedded database in (\S+)\)/.exec(output)?.[1];
    expect(tempDir).toBeDefined();
    await expect(access(tempDir ?? '')).rejects.toThrow();
  });
});
