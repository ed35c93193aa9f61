/**
 * A simulated watcher: it signs UPS events as agent/src/watcher does (per-agent sequence numbers,
 * one signed token per event) and sends them over its WebSocket, resolving each when the
 * coordinator's event-ack for its sequence number arrives.
 */
import type { UpsEventInput } from '../../../shared/src/protocol.js';
import { loadSigningKey } from '../../../shared/src/signing.js';
import { signUpsEvent } from '../../../shared/src/tokens.js';
import type { SimAgentCredentials } from '../seed.js';
import { within } from '../within.js';
import { openSimSocket } from './sim-socket.js';

/** A coordinator busy with a large fleet may take a while, but not this long. */
const ACK_WAIT_MS = 300_000;

/** A signed event with its sequence number, ready to go. */
export interface SignedEvent {
  readonly seq: number;
  readonly token: string;
}

export interface SimWatcher {
  /** Signs one event with the next sequence number (to send later, in order). */
  sign(event: Omit<UpsEventInput, 'seq'>): Promise<SignedEvent>;
  /** Sends a signed event; resolves once the coordinator acknowledged it as stored. */
  deliver(event: SignedEvent): Promise<void>;
  /** sign, then deliver. */
  send(event: Omit<UpsEventInput, 'seq'>): Promise<void>;
  close(): void;
}

export async function connectSimWatcher(url: string, credentials: SimAgentCredentials): Promise<SimWatcher> {
  const keyPair = await loadSigningKey(credentials.key);
  const pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  let seq = 0;
  const socket = await openSimSocket({
    url,
    agentId: credentials.id,
    keyPair,
    roles: ['watcher'],
    onMessage: (message) => {
      if (message.type === 'event-ack') {
        pending.get(message.seq)?.resolve();
        pending.delete(message.seq);
      } else if (message.type === 'error' && message.seq !== undefined) {
        pending.get(message.seq)?.reject(new Error(`event ${message.seq} refused: ${message.message}`));
        pending.delete(message.seq);
      }
    },
  });
  void socket.closed.then((code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`watcher connection closed (${code})`));
    pending.clear();
  });
  const sign = async (event: Omit<UpsEventInput, 'seq'>): Promise<SignedEvent> => {
    seq += 1;
    const number = seq;
    return {
      seq: number,
      token: await signUpsEvent(keyPair, credentials.id, { ...event, seq: number }, Date.now()),
    };
  };
  const deliver = (event: SignedEvent): Promise<void> => {
    const stored = new Promise<void>((resolve, reject) => pending.set(event.seq, { resolve, reject }));
    socket.send({ type: 'event', token: event.token });
    return within(stored, ACK_WAIT_MS, `the event-ack for seq ${event.seq}`);
  };
  return {
    sign,
    deliver,
    send: async (event) => deliver(await sign(event)),
    close: () => socket.close(),
  };
}
