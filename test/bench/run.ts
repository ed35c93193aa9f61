/**
 * `npm run bench`: prints figures, asserts nothing. Speed belongs here, not in tests.
 * Numbers are from this machine at this moment; compare runs on the same machine only.
 */
import { decide, type EngineState, initialEngineState } from '../../coordinator/src/core/engine.js';
import { parsePolicy } from '../../coordinator/src/core/policy.js';
import { generateSigningKey } from '../../shared/src/signing.js';
import { signOrder, verifyOrder } from '../../shared/src/tokens.js';

async function measure(
  name: string,
  count: number,
  op: (i: number) => Promise<unknown> | unknown,
): Promise<void> {
  for (let i = 0; i < Math.min(200, count); i++) await op(i); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await op(i);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(
    `${name.padEnd(48)} ${Math.round(count / seconds)
      .toLocaleString('en')
      .padStart(10)} ops/s  (${count} in ${seconds.toFixed(2)} s)`,
  );
}

const { keyPair } = await generateSigningKey();
const now = Date.now();
const claims = { kind: 'shutdown' as const, runId: 'run-1', stage: 'apps', drill: false };
const token = await signOrder(keyPair, {
  orderId: 'o-1',
  agentId: 'agent-1',
  claims,
  now,
  expiresAt: now + 600_000,
});

console.log(`node ${process.version}, ${process.arch}`);
await measure('signOrder (EdDSA, jose)', 5_000, (i) =>
  signOrder(keyPair, { orderId: `o-${i}`, agentId: 'agent-1', claims, now, expiresAt: now + 600_000 }),
);
await measure('verifyOrder (signature, aud, exp, claims)', 5_000, () =>
  verifyOrder(token, keyPair.publicKey, { agentId: 'agent-1', now }),
);

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
await measure('engine decide, OB/OL flapping, 1,000-host policy', 20_000, (i) => {
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
      at: now + i * 1_000,
    },
    now + i * 1_000,
  ).state;
});
