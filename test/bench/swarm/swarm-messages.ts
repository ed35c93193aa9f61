/** What the bench and a swarm process tell each other over the IPC channel. */

export type ToSwarm =
  /**
   * Connect the agents in `file` (JSON SimAgentCredentials[]) to `url`, at most `window` handshakes
   * at once, starting no new one after `deadline` (ms since the epoch).
   */
  | {
      readonly type: 'connect';
      readonly url: string;
      readonly file: string;
      readonly coordinatorKey: unknown;
      readonly window: number;
      readonly deadline: number;
    }
  /** Forget the orders held so far: a trial starts. `ack`: acknowledge its orders as a real agent does. */
  | { readonly type: 'arm'; readonly ack: boolean }
  /** Report what is held now, complete or not. */
  | { readonly type: 'collect' }
  | { readonly type: 'stop' };

/** When the held orders arrived and were verified (ms since the epoch); null while none is held. */
export interface OrdersHeld {
  readonly count: number;
  readonly firstArrived: number | null;
  readonly lastArrived: number | null;
  readonly firstVerified: number | null;
  readonly lastVerified: number | null;
  readonly refused: number;
}

export type FromSwarm =
  | {
      readonly type: 'connected';
      readonly connected: number;
      readonly failed: number;
      readonly error?: string;
    }
  /** Every connected agent holds an order since the last arm (sent once), or the answer to collect. */
  | ({ readonly type: 'orders'; readonly complete: boolean } & OrdersHeld)
  | { readonly type: 'armed' }
  | { readonly type: 'disconnected'; readonly count: number };
