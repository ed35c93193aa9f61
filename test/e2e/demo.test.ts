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

    // Two sources, each in order: the run's timeline (printed when the demo next reads the run)
    // and what the simulated machines do (printed the moment it happens). Between the two sources
    // the order of lines is not fixed: a shutdown can be printed before the timeline's "stage-fired".
    const timeline = [
      /run-started {2}power lost: demo-ups/,
      /stage-fired {2}web {2}demo-ups: on battery 3s/,
      /host-down {2}web1 {2}confirmed/,
      /stage-fired {2}apps/,
      /host-down {2}app1/,
      /stage-fired {2}databases/,
      /host-down {2}db1/,
      /wake {2}db1 {2}via nas/,
      /host-back {2}db1/,
      /host-back {2}app1/,
      /host-back {2}web1/,
      /run-ended {2}restored/,
    ];
    const machines = [
      /power cut: the UPS says OB DISCHRG/,
      /web1: shutdown command ran/,
      /app1: shutdown command ran/,
      /db1: shutdown command ran/,
      /power is back/,
      /magic packet for 02:00:00:00:00:03 on 127\.0\.0\.1: db1 boots/,
      /magic packet for 02:00:00:00:00:02 on 127\.0\.0\.1: app1 boots/,
      /magic packet for 02:00:00:00:00:01 on 127\.0\.0\.1: web1 boots/,
    ];
    for (const order of [timeline, machines]) {
      let from = 0;
      for (const pattern of order) {
        const at = demo.lines.findIndex((line, index) => index >= from && pattern.test(line));
        expect(at, `${pattern} after line ${from}:\n${output}`).toBeGreaterThanOrEqual(0);
        from = at + 1;
      }
    }
    expect(output).toContain('shutdowns recorded (nothing was powered off): web1, app1, db1');
    expect(output).toMatch(/dashboard http:\/\/127\.0\.0\.1:\d+\/ +admin token ufa_demo_/);

    const tempDir = /embedded database in (\S+)\)/.exec(output)?.[1];
    expect(tempDir).toBeDefined();
    await expect(access(tempDir ?? '')).rejects.toThrow();
  });
});
