/**
 * The micro-benchmarks kept from the first bench: signing and verifying an order, and one engine
 * decision on a 1,000-host policy. In-process, one core; extra rows beside the figures.
 */
import { decide, type EngineState, initialEngineState } from '../../coordinator/src/core/engine.js';
import { parsePolicy } from '../../coordinator/src/core/policy.js';
import { generateSigningKey } from '../../shared/src/signing.js';
import { signOrder, verifyOrder } from '../../shared/src/tokens.js';
import type { BenchContext } from './context.js';
import { figureLabel } from './options.js';
import { summarize } from './stats.js';
import type { Row } from './table.js';

const FIGURE = figureLabel('micro');

/** Operations per second over `count` sequential calls, after a warm-up; one value per trial. */
async function opsPerSecond(
  trials: number,
  count: number,
  op: (i: number) => Promise<unknown> | unknown,
): Promise<number[]> {
  for (let i = 0; i < Math.min(200, count); i++) await op(i);
  const rates: number[] = [];
  for (let trial = 0; trial < trials; trial++) {
    const start = performance.now();
    for (let i = 0; i < count; i++) await op(i);
    rates.push(count / ((performance.now() - start) / 1000));
  }
  return rates;
}

export async function runMicro(context: BenchContext): Promise<Row[]> {
  const trials = context.options.trials ?? (context.options.quick ? 2 : 5);
  const count = context.options.quick ? 200 : 2_000;
  const { keyPair } = await generateSigningKey();
  const now = Date.now();
  const claims = { kind: 'shutdown' as const, runId: 'run-1', stage: 'apps', drill: false };
  const order = (orderId: string) =>
    signOrder(keyPair, { orderId, agentId: 'agent-1', claims, now, expiresAt: now + 600_000 });
  const token = await order('o-1');

  const hosts = Array.from({ length: 1_000 }, (_, i) => ({ name: `host-${i}`, ups: ['ups-1'] }));
  const policy = parsePolicy({
    ups: [{ name: 'ups-1', watcher: 'nas' }],
    hosts,
    stages: [
      { name: 'early', hosts: hosts.slice(0, 500).map((h) => h.name), trigger: { onBattery: '0s' } },
      { name: 'late', hosts: hosts.slice(500).map((h) => h.name), trigger: { onBattery: '5m' } },
    ],
  });
  let state: EngineState = initialEngineState;
  const flap = (i: number) => {
    const at = now + i * 1_000;
    const battery = i % 2 === 0;
    state = decide(
      policy,
      state,
      {
        kind: 'ups',
        ups: 'ups-1',
        power: battery ? 'battery' : 'online',
        lowBattery: false,
        fsd: false,
        dead: false,
        charge: 90,
        runtime: 1_800_000,
        at,
      },
      at,
    ).state;
  };
  return [
    {
      figure: FIGURE,
      measurement: 'signOrder (EdDSA, jose), one core',
      value: summarize(await opsPerSecond(trials, count, (i) => order(`o-${i}`))),
      unit: 'ops/s',
    },
    {
      figure: FIGURE,
      measurement: 'verifyOrder (signature, audience, expiry, claims), one core',
      value: summarize(
        await opsPerSecond(trials, count, () =>
          verifyOrder(token, keyPair.publicKey, { agentId: 'agent-1', now }),
        ),
      ),
      unit: 'ops/s',
    },
    {
      figure: FIGURE,
      measurement: 'engine decide, OB/OL flapping, 1,000-host policy (pure, no I/O)',
      value: summarize(await opsPerSecond(trials, count, flap)),
      unit: 'ops/s',
    },
  ];
}
