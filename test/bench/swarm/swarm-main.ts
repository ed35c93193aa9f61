/**
 * A swarm process: holds many simulated host agents, apart from the bench and the coordinator, so
 * that their CPU (signature checks included) is not counted against the coordinator's. Driven over
 * IPC by swarm.ts.
 */
import { readFile } from 'node:fs/promises';
import { errorMessage } from '../../../shared/src/errors.js';
import { importPublicKey } from '../../../shared/src/signing.js';
import type { SimAgentCredentials } from '../seed.js';
import type { HeldOrder } from './sim-host.js';
import { connectSimHost } from './sim-host.js';
import type { SimSocket } from './sim-socket.js';
import type { FromSwarm, OrdersHeld, ToSwarm } from './swarm-messages.js';

const sockets: SimSocket[] = [];
/** The first order each agent (by id) held since the last arm. */
let held = new Map<string, HeldOrder>();
let refused = 0;
let armed = false;
let acknowledge = false;
let disconnected = 0;

function tell(message: FromSwarm): void {
  process.send?.(message);
}

/** Smallest or largest, null for none (IPC carries JSON, where Infinity would turn into null anyway). */
function extreme(values: readonly number[], how: 'min' | 'max'): number | null {
  if (values.length === 0) return null;
  return values.reduce((a, b) => (how === 'min' ? Math.min(a, b) : Math.max(a, b)));
}

function summary(): OrdersHeld {
  const orders = [...held.values()];
  const arrived = orders.map((order) => order.arrivedAt);
  const verified = orders.map((order) => order.verifiedAt);
  return {
    count: orders.length,
    firstArrived: extreme(arrived, 'min'),
    lastArrived: extreme(arrived, 'max'),
    firstVerified: extreme(verified, 'min'),
    lastVerified: extreme(verified, 'max'),
    refused,
  };
}

function onOrder(agentId: string, order: HeldOrder): void {
  if (held.has(agentId)) return;
  held.set(agentId, order);
  if (armed && held.size === sockets.length) {
    armed = false;
    tell({ type: 'orders', complete: true, ...summary() });
  }
}

async function connectAll(message: Extract<ToSwarm, { type: 'connect' }>): Promise<void> {
  const credentials = JSON.parse(await readFile(message.file, 'utf8')) as SimAgentCredentials[];
  const coordinatorKey = await importPublicKey(message.coordinatorKey);
  let next = 0;
  let failed = 0;
  let lastError: string | undefined;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < credentials.length && Date.now() < message.deadline; index = next++) {
      const agent = credentials[index];
      if (agent === undefined) continue;
      try {
        const socket = await connectSimHost({
          url: message.url,
          credentials: agent,
          coordinatorKey,
          onOrder: (order) => onOrder(agent.id, order),
          ack: () => acknowledge,
          onRefused: () => {
            refused += 1;
          },
        });
        sockets.push(socket);
        void socket.closed.then(() => {
          disconnected += 1;
          tell({ type: 'disconnected', count: disconnected });
        });
      } catch (error) {
        failed += 1;
        lastError = errorMessage(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, message.window) }, worker));
  tell({
    type: 'connected',
    connected: sockets.length,
    failed,
    ...(lastError === undefined ? {} : { error: lastError }),
  });
}

process.on('message', (message: ToSwarm) => {
  switch (message.type) {
    case 'connect':
      connectAll(message).catch((error: unknown) =>
        tell({ type: 'connected', connected: sockets.length, failed: -1, error: errorMessage(error) }),
      );
      return;
    case 'arm':
      held = new Map();
      refused = 0;
      armed = true;
      acknowledge = message.ack;
      tell({ type: 'armed' });
      return;
    case 'collect':
      armed = false;
      tell({ type: 'orders', complete: held.size === sockets.length, ...summary() });
      return;
    case 'stop':
      for (const socket of sockets) socket.close();
      process.exit(0);
  }
});
// The bench went away: do not linger holding thousands of sockets.
process.on('disconnect', () => process.exit(0));
