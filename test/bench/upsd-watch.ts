/**
 * When did `ups.status` change at upsd? A reader polling upsd every few milliseconds sees a change
 * within one interval; it is dated halfway between the last reply with the old status and the
 * first with the new one (± half an interval, ~3 ms). Every figure 1 latency starts there.
 */
import { createNutClient } from '../../agent/src/nut/client.js';
import { errorMessage } from '../../shared/src/errors.js';
import { wallNow } from './proc.js';

const INTERVAL_MS = 5;

export interface UpsdWatch {
  /** The first change to a status matching `matches` after this call. */
  change(matches: (status: string) => boolean, timeoutMs?: number): Promise<{ at: number; status: string }>;
  stop(): Promise<void>;
}

export async function watchUpsd(port: number, ups: string): Promise<UpsdWatch> {
  const client = await createNutClient({ host: '127.0.0.1', port, timeoutMs: 2_000, keepAliveMs: 0 });
  let status = await client.getVar(ups, 'ups.status');
  let seenAt = wallNow();
  let stopped = false;
  let failure: string | undefined;
  const listeners = new Set<(status: string, at: number) => void>();
  const loop = (async () => {
    while (!stopped) {
      try {
        const next = await client.getVar(ups, 'ups.status');
        const now = wallNow();
        if (next !== status) for (const listener of listeners) listener(next, (seenAt + now) / 2);
        status = next;
        seenAt = now;
      } catch (error) {
        // upsd restarting (the FSD latch is cleared that way): the caller reconnects with a new watch.
        failure = errorMessage(error);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS));
    }
  })();
  return {
    change(matches, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(listener);
          reject(
            new Error(`upsd did not change to the expected status in ${timeoutMs} ms (${failure ?? status})`),
          );
        }, timeoutMs);
        const listener = (next: string, at: number) => {
          if (!matches(next)) return;
          clearTimeout(timer);
          listeners.delete(listener);
          resolve({ at, status: next });
        };
        listeners.add(listener);
      });
    },
    async stop() {
      stopped = true;
      await loop;
      await client.close();
    },
  };
}
