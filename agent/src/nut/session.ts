import { setTimeout as sleep } from 'node:timers/promises';
import { type BackoffOptions, defaultBackoff, nextDelay } from '../../../shared/src/backoff.js';
import { createNutClient, type NutClient, type NutClientOptions } from './client.js';
import type { NutConnectionError } from './errors.js';

/** Where a session is. `ready` carries the live client; every other state has none. */
export type NutSessionState =
  | { readonly kind: 'connecting'; readonly attempt: number }
  | { readonly kind: 'ready'; readonly client: NutClient }
  | { readonly kind: 'waiting'; readonly attempt: number; readonly delayMs: number; readonly error: unknown }
  | { readonly kind: 'closed' };

export interface NutCredentials {
  readonly username: string;
  readonly password: string;
  readonly ups: string;
}

export interface NutSessionOptions {
  readonly client: Omit<NutClientOptions, 'onClose'>;
  /** LOGIN after connecting, as upsmon does (makes this host count in NUMLOGINS). */
  readonly login?: NutCredentials;
  /** Every state change, in order. Must not throw. */
  readonly onState: (state: NutSessionState) => void;
  readonly backoff?: BackoffOptions;
  readonly random?: () => number;
  /** Seam for tests; defaults to createNutClient. */
  readonly createClient?: (options: NutClientOptions) => Promise<NutClient>;
}

export interface NutSession {
  readonly state: NutSessionState;
  /** Stops reconnecting, closes the client; resolves once the state is `closed`. */
  close(): Promise<void>;
}

/**
 * Keeps one upsd connection up: connect → optional LOGIN → ready; when it is lost (or the
 * connect/login fails), wait `nextDelay(attempt)` and start over. Nothing is polled here.
 */
export function createNutSession(options: NutSessionOptions): NutSession {
  const create = options.createClient ?? createNutClient;
  const stop = new AbortController();
  let state: NutSessionState = { kind: 'connecting', attempt: 0 };
  let client: NutClient | undefined;

  const set = (next: NutSessionState): void => {
    state = next;
    options.onState(next);
  };

  /** One connection's life: resolves with why it ended, and whether it got as far as ready. */
  async function connectOnce(attempt: number): Promise<{ error: unknown; wasReady: boolean }> {
    set({ kind: 'connecting', attempt });
    let lost: (error: NutConnectionError) => void = () => undefined;
    const ended = new Promise<NutConnectionError>((resolve) => {
      lost = resolve;
    });
    try {
      client = await create({ ...options.client, onClose: (error) => lost(error) });
      if (options.login) {
        const { username, password, ups } = options.login;
        await client.login(username, password, ups);
      }
      if (stop.signal.aborted) throw stop.signal.reason;
    } catch (error) {
      await client?.close();
      client = undefined;
      return { error, wasReady: false };
    }
    set({ kind: 'ready', client });
    const error = await ended;
    client = undefined;
    return { error, wasReady: true };
  }

  async function run(): Promise<void> {
    // Consecutive failures; a connection that reached ready starts the count again.
    let failures = 0;
    while (!stop.signal.aborted) {
      const { error, wasReady } = await connectOnce(failures);
      if (stop.signal.aborted) break;
      if (wasReady) failures = 0;
      const delayMs = nextDelay(failures, options.random, options.backoff ?? defaultBackoff);
      set({ kind: 'waiting', attempt: failures, delayMs, error });
      failures += 1;
      await sleep(delayMs, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  }

  const done = run()
    .catch(() => undefined)
    .finally(() => set({ kind: 'closed' }));

  return {
    get state() {
      return state;
    },
    close: async () => {
      stop.abort();
      await client?.close();
      await done;
    },
  };
}
