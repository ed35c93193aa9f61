/**
 * The bench's handle on its swarm processes (swarm-main.ts): spreads the simulated agents over them,
 * connects them, and collects when each agent held its verified order.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { raiseFdLimit } from '../fd-limit.js';
import type { Scope } from '../scope.js';
import type { SeededFleet, SimAgentCredentials } from '../seed.js';
import type { FromSwarm, ToSwarm } from './swarm-messages.js';

const MAIN = fileURLToPath(new URL('./swarm-main.ts', import.meta.url));

/** Every swarm process's report together; times are NaN while no order is held. */
export interface SwarmOrders {
  /** Every connected agent held its order. */
  readonly complete: boolean;
  readonly count: number;
  readonly refused: number;
  readonly firstArrived: number;
  readonly lastArrived: number;
  readonly firstVerified: number;
  readonly lastVerified: number;
}

export interface Swarm {
  readonly connected: number;
  /** Connections the coordinator closed since they were made. */
  readonly disconnected: number;
  /**
   * Forgets held orders in every process; resolves once each has done so. With `ack`, the agents
   * acknowledge the next orders as real agents do.
   */
  arm(options?: { ack: boolean }): Promise<void>;
  /** Resolves when every agent holds an order, or after `timeoutMs` with what is held then. */
  orders(timeoutMs: number): Promise<SwarmOrders>;
}

interface Member {
  readonly child: ChildProcess;
  /** Connections of this process the coordinator closed. */
  readonly disconnected: number;
  next(type: FromSwarm['type']): Promise<FromSwarm>;
  /** Forgets messages of `type` that nobody waited for (a previous trial's late report). */
  drop(type: FromSwarm['type']): void;
  send(message: ToSwarm): void;
}

function startMember(scope: Scope, index: number): Member {
  const child = fork(MAIN, [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  scope.defer(`swarm process ${index}`, async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  });
  const waiting = new Map<string, ((message: FromSwarm) => void)[]>();
  const early: FromSwarm[] = [];
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`swarm process ${index} exited (${code})`))),
  );
  exited.catch(() => undefined);
  let disconnected = 0;
  child.on('message', (message: FromSwarm) => {
    if (message.type === 'disconnected') {
      disconnected = message.count;
      return;
    }
    const queue = waiting.get(message.type);
    const waiter = queue?.shift();
    if (waiter !== undefined) waiter(message);
    else early.push(message);
  });
  return {
    child,
    get disconnected() {
      return disconnected;
    },
    next(type) {
      const index = early.findIndex((message) => message.type === type);
      const found = index >= 0 ? early.splice(index, 1)[0] : undefined;
      if (found !== undefined) return Promise.resolve(found);
      const arrived = new Promise<FromSwarm>((resolve) => {
        const queue = waiting.get(type) ?? [];
        queue.push(resolve);
        waiting.set(type, queue);
      });
      return Promise.race([arrived, exited]);
    },
    drop(type) {
      for (let i = early.length - 1; i >= 0; i--) if (early[i]?.type === type) early.splice(i, 1);
    },
    send: (message) => child.send(message),
  };
}

function combine(parts: readonly Extract<FromSwarm, { type: 'orders' }>[]): SwarmOrders {
  const pick = (
    key: 'firstArrived' | 'lastArrived' | 'firstVerified' | 'lastVerified',
    how: 'min' | 'max',
  ) => {
    const values = parts.map((part) => part[key]).filter((value): value is number => value !== null);
    if (values.length === 0) return Number.NaN;
    return how === 'min' ? Math.min(...values) : Math.max(...values);
  };
  return {
    complete: parts.every((part) => part.complete),
    count: parts.reduce((sum, part) => sum + part.count, 0),
    refused: parts.reduce((sum, part) => sum + part.refused, 0),
    firstArrived: pick('firstArrived', 'min'),
    lastArrived: pick('lastArrived', 'max'),
    firstVerified: pick('firstVerified', 'min'),
    lastVerified: pick('lastVerified', 'max'),
  };
}

/** Starts `processes` swarm processes holding `agents` between them, connected to `url`. */
export async function startSwarm(
  scope: Scope,
  options: {
    readonly url: string;
    readonly fleet: SeededFleet;
    readonly agents: readonly SimAgentCredentials[];
    readonly processes: number;
    readonly dir: string;
    /** Handshakes in flight at once, per process. */
    readonly window?: number;
    /** No new connection is started after this long (ms); the swarm holds what it reached. */
    readonly budgetMs?: number;
  },
): Promise<Swarm & { readonly failed: number; readonly error: string | undefined }> {
  const count = Math.max(1, Math.min(options.processes, options.agents.length));
  const deadline = Date.now() + (options.budgetMs ?? 600_000);
  const members: Member[] = [];
  const connecting: Promise<FromSwarm>[] = [];
  for (let index = 0; index < count; index++) {
    const share = options.agents.filter((_, i) => i % count === index);
    const file = join(options.dir, `swarm-${index}.json`);
    await writeFile(file, JSON.stringify(share), { mode: 0o600 });
    const member = startMember(scope, index);
    if (member.child.pid !== undefined) await raiseFdLimit(member.child.pid, share.length + 256);
    members.push(member);
    connecting.push(member.next('connected'));
    member.send({
      type: 'connect',
      url: options.url,
      file,
      coordinatorKey: options.fleet.coordinatorKey,
      window: options.window ?? 100,
      deadline,
    });
  }
  const results = (await Promise.all(connecting)) as Extract<FromSwarm, { type: 'connected' }>[];
  return {
    connected: results.reduce((sum, result) => sum + result.connected, 0),
    failed: results.reduce((sum, result) => sum + Math.max(0, result.failed), 0),
    error: results.find((result) => result.error !== undefined)?.error,
    get disconnected() {
      return members.reduce((sum, member) => sum + member.disconnected, 0);
    },
    async arm(options = { ack: false }) {
      for (const member of members) member.drop('orders');
      const armed = members.map((member) => member.next('armed'));
      for (const member of members) member.send({ type: 'arm', ack: options.ack });
      await Promise.all(armed);
    },
    async orders(timeoutMs) {
      const parts = members.map(async (member) => {
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), timeoutMs);
        });
        const first = member.next('orders');
        const result = await Promise.race([first, timedOut]);
        clearTimeout(timer);
        if (result !== 'timeout') return result as Extract<FromSwarm, { type: 'orders' }>;
        member.send({ type: 'collect' });
        return (await first) as Extract<FromSwarm, { type: 'orders' }>;
      });
      return combine(await Promise.all(parts));
    },
  };
}
