import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryLogger } from '../../../shared/src/logger.js';
import { randomId } from '../../../shared/src/tokens.js';
import { openExecutedOrders } from '../executed-orders.js';
import { createTempDir, recordedLines, recorderArgv } from '../test-support.js';
import { createAgentOrders } from './agent-orders.js';
import type { BeforeHook } from './before-hooks.js';
import {
  AGENT_ID,
  createOrderSigner,
  createSentFrames,
  createTestClock,
  type OrderSigner,
  shutdownClaims,
} from './order-test-support.js';
import { checkProgram } from './program-check.js';

describe('drill shutdown orders', () => {
  let dir: { path: string; remove(): Promise<void> };
  let signer: OrderSigner;
  let recordFile: string;
  const clock = createTestClock();

  beforeEach(async () => {
    dir = await createTempDir('drill');
    signer = await createOrderSigner();
    recordFile = join(dir.path, 'shutdown.log');
  });
  afterEach(async () => dir.remove());

  async function drill(shutdown: string[], searchPath = '/nonexistent', before: BeforeHook[] = []) {
    const sent = createSentFrames();
    const logger = createMemoryLogger();
    const executed = await openExecutedOrders(join(dir.path, 'executed.json'), { clock });
    const orders = createAgentOrders({
      config: {
        host: {
          name: undefined,
          shutdown,
          shutdownTimeout: 20_000,
          clockTolerance: 30_000,
          before,
          fallbackAfter: undefined,
        },
        wake: undefined,
        ups: [],
        clockTolerance: 30_000,
      },
      agentId: AGENT_ID,
      coordinatorKey: signer.keyPair.publicKey,
      executed,
      send: sent.send,
      clock,
      logger,
      checkProgram: (program) => checkProgram(program, { searchPath, cwd: dir.path }),
    });
    const id = randomId();
    await orders.handleOrder(await signer.sign(shutdownClaims(true), { id }));
    return { sent, logger, id, result: sent.frames.at(-1), outcome: executed.get(id)?.outcome };
  }

  it('reports what it would run and that the program is executable, and runs nothing', async () => {
    const argv = recorderArgv(recordFile);
    const { sent, result, outcome } = await drill(argv);
    expect(sent.summary()).toEqual(['ack accepted', 'result drill']);
    expect(result).toEqual({
      type: 'result',
      orderId: expect.any(String),
      outcome: 'drill',
      output: `would run: ${argv.join(' ')} — ${process.execPath} exists and is executable`,
    });
    expect(outcome).toBe('drill');
    expect(await recordedLines(recordFile)).toEqual([]);
  });

  it('resolves a bare program name through PATH, as the real shutdown would', async () => {
    const program = join(dir.path, 'fake-systemctl');
    await writeFile(program, `#!/bin/sh\necho ran >> ${recordFile}\n`);
    await chmod(program, 0o755);
    const { result } = await drill(['fake-systemctl', 'poweroff'], dir.path);
    expect(result).toMatchObject({
      outcome: 'drill',
      output: `would run: fake-systemctl poweroff — fake-systemctl resolves through PATH to ${program}, which is executable`,
    });
    expect(result).not.toHaveProperty('error');
    expect(await recordedLines(recordFile)).toEqual([]);
  });

  it('reports a missing or non-executable program as an error, still as a drill', async () => {
    const missing = join(dir.path, 'missing-poweroff');
    const first = await drill([missing, '--now']);
    expect(first.result).toEqual({
      type: 'result',
      orderId: first.id,
      outcome: 'drill',
      output: `would run: ${missing} --now — ${missing} does not exist`,
      error: `${missing} does not exist`,
    });
    expect(first.logger.lines().join('\n')).toMatch(/warn drill: would run: .* — .* does not exist/);

    const script = join(dir.path, 'not-executable');
    await writeFile(script, '#!/bin/sh\n');
    await chmod(script, 0o644);
    const second = await drill([script]);
    expect(second.result).toMatchObject({
      outcome: 'drill',
      error: `${script} is not executable by this agent`,
    });
  });

  it('checks every before hook the same way, reports each check, and runs none of them', async () => {
    const docker = join(dir.path, 'docker');
    await writeFile(docker, `#!/bin/sh\necho ran >> ${recordFile}\n`);
    await chmod(docker, 0o755);
    const missing = join(dir.path, 'virsh');
    const before: BeforeHook[] = [
      { name: 'stop-app', run: ['docker', 'stop', 'app'], timeout: 60_000 },
      { name: 'stop-vms', run: [missing, 'shutdown', 'vm1'], timeout: 60_000 },
    ];
    const argv = recorderArgv(recordFile);
    const { sent, result } = await drill(argv, dir.path, before);
    expect(sent.summary()).toEqual(['ack accepted', 'result drill']);
    expect(result).toMatchObject({
      outcome: 'drill',
      output: [
        `before stop-app: would run: docker stop app — docker resolves through PATH to ${docker}, which is executable`,
        `before stop-vms: would run: ${missing} shutdown vm1 — ${missing} does not exist`,
        `would run: ${argv.join(' ')} — ${process.execPath} exists and is executable`,
      ].join('\n'),
      error: `before stop-vms: ${missing} does not exist`,
    });
    expect(await recordedLines(recordFile)).toEqual([]);
  });

  it('has no error when every hook and the shutdown would start', async () => {
    const before: BeforeHook[] = [{ name: 'sync', run: [process.execPath, '-e', '0'], timeout: 60_000 }];
    const { result } = await drill(recorderArgv(recordFile), '/nonexistent', before);
    expect(result).toMatchObject({ outcome: 'drill' });
    expect(result).not.toHaveProperty('error');
    expect(await recordedLines(recordFile)).toEqual([]);
  });
});
