import { readFile } from 'node:fs/promises';
import type { CryptoKey } from 'jose';
import type { Clock } from '../../../shared/src/clock.js';
import { errorMessage } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { BridgeClaims } from '../../../shared/src/protocol.js';
import { verifyBridge } from '../../../shared/src/tokens.js';
import { writeFileAtomic } from '../atomic-file.js';

/**
 * What this bridge serves: the latest signed state from the coordinator (kept on disk, so a restarted
 * bridge serves through a coordinator outage), plus FSD shown to hosts by orders that arrived before
 * the state saying so. A state issued after such an order that says `fsd: false` ends it: the run
 * restored. Offline FSD (the bridge's own verdict while the coordinator is gone) is kept apart.
 */
export interface BridgeState {
  readonly claims: BridgeClaims | undefined;
  /** Verifies and keeps a state if it is newer than the one held. Never rejects. */
  accept(token: string): Promise<void>;
  /** An FSD order for `host`, issued at `issuedAt` (coordinator time). */
  fsdOrdered(host: string, issuedAt: number): void;
  /** Sets or clears the bridge's own offline verdict for `host`. */
  setOfflineFsd(host: string, fsd: boolean): void;
  /** Whether `host` is shown FSD now. */
  fsd(host: string): boolean;
  /** Told after every change. */
  onChange(listener: () => void): void;
}

export async function openBridgeState(options: {
  readonly agentId: string;
  readonly coordinatorKeys: () => readonly CryptoKey[];
  readonly clockToleranceMs: number;
  readonly file: string;
  readonly clock: Clock;
  readonly logger: Logger;
}): Promise<BridgeState> {
  const { logger } = options;
  let claims: BridgeClaims | undefined;
  let issuedAt = 0;
  const ordered = new Map<string, number>();
  const offline = new Set<string>();
  const listeners: (() => void)[] = [];
  const changed = () => {
    for (const listener of listeners) listener();
  };

  async function verify(token: string) {
    let last: unknown;
    for (const key of options.coordinatorKeys()) {
      try {
        return await verifyBridge(token, key, {
          agentId: options.agentId,
          now: options.clock.now(),
          clockToleranceMs: options.clockToleranceMs,
        });
      } catch (error) {
        last = error;
      }
    }
    throw last ?? new Error('no coordinator key pinned');
  }

  function apply(next: { claims: BridgeClaims; issuedAt: number }): boolean {
    if (claims !== undefined && next.claims.version <= claims.version) return false;
    claims = next.claims;
    issuedAt = next.issuedAt;
    for (const host of next.claims.hosts) {
      const at = ordered.get(host.name);
      if (!host.fsd && at !== undefined && next.issuedAt > at) ordered.delete(host.name);
    }
    return true;
  }

  const saved = await readFile(options.file, 'utf8').catch(() => undefined);
  if (saved !== undefined) {
    try {
      apply(await verify(saved.trim()));
      logger.info('bridge: serving the state kept from before the restart', { version: claims?.version });
    } catch (error) {
      logger.warn(
        `bridge: the kept state is not usable (${errorMessage(error)}): waiting for the coordinator`,
      );
    }
  }

  return {
    get claims() {
      return claims;
    },
    async accept(token) {
      try {
        const verified = await verify(token);
        if (!apply(verified)) return;
        await writeFileAtomic(options.file, `${token}\n`, 0o600);
        changed();
      } catch (error) {
        logger.error(`bridge: refused a state from the coordinator: ${errorMessage(error)}`);
      }
    },
    fsdOrdered(host, at) {
      const said = claims?.hosts.find((h) => h.name === host);
      // A state issued after this order already says the run restored: the order is history.
      if (said !== undefined && !said.fsd && issuedAt > at) return;
      ordered.set(host, at);
      changed();
    },
    setOfflineFsd(host, fsd) {
      if (fsd === offline.has(host)) return;
      if (fsd) offline.add(host);
      else offline.delete(host);
      changed();
    },
    fsd(host) {
      return (
        ordered.has(host) || offline.has(host) || claims?.hosts.some((h) => h.name === host && h.fsd) === true
      );
    },
    onChange(listener) {
      listeners.push(listener);
    },
  };
}
