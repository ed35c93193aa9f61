import { readFile } from 'node:fs/promises';
import type { Clock } from '../../../shared/src/clock.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { OwnReading } from '../fallback/own-reading.js';
import { createNutServer, type NutServer } from '../nut-server/server.js';
import type { NutServerEvent } from '../nut-server/types.js';
import { findAccount } from './bridge-accounts.js';
import { createBridgeAuth } from './bridge-auth.js';
import { type BridgeConfig, createAllowCheck, formatListen } from './bridge-config.js';
import { createBridgeSource } from './bridge-source.js';
import type { BridgeState } from './bridge-state.js';

/** How a legacy host's NUT client left after FSD, or why the wait ended without it. */
export type HostLeft =
  | { readonly left: true; readonly how: 'logout' | 'disconnect'; readonly address: string }
  | { readonly left: false; readonly reason: string };

/** What a `nut-fsd` order needs from the bridge. */
export interface NutFsdAbility {
  /** Whether the bridge's state lists this host as one it serves. */
  serves(host: string): boolean;
  /** Whether a client is logged in with the host's account right now. */
  loggedIn(host: string): boolean;
  /** Shows FSD to the host (order issued at `issuedAt`, coordinator time). */
  showFsd(host: string, issuedAt: number): void;
  /** Resolves when the host's client logs out or disconnects while shown FSD, or FSD is cleared. */
  waitForLeave(host: string): Promise<HostLeft>;
}

export interface Bridge {
  readonly server: NutServer;
  readonly ability: NutFsdAbility;
  /** Where it serves NUT, for the hello (`HOST:PORT`). */
  readonly listen: string;
  stop(): Promise<void>;
}

export async function startBridge(options: {
  readonly config: BridgeConfig;
  readonly state: BridgeState;
  readonly clock: Clock;
  readonly logger: Logger;
  /** While on its own: the bridge's own readings by UPS name, served over the last state's. */
  readonly ownReadings?: () => Readonly<Record<string, OwnReading>>;
  /** A legacy host's NUT client left (logout or disconnect) while it was shown FSD. */
  readonly onLeft?: (host: string, how: 'logout' | 'disconnect') => void;
}): Promise<Bridge> {
  const { config, state, logger } = options;
  const waiters = new Map<string, Set<(left: HostLeft) => void>>();
  /**
   * How each host's client left while shown FSD (until FSD is cleared): an order that arrives after
   * the bridge showed FSD on its own, and the client already went, is answered with it.
   */
  const leftAlready = new Map<string, Extract<HostLeft, { left: true }>>();
  const hostOfClient = (username: string | undefined, address: string) =>
    findAccount(state.claims, username, address)?.host ?? undefined;
  /** Connections that sent LOGOUT and are closing (still listed until their socket closes). */
  const loggedOut = new Set<number>();
  /** The connections logged in as `host` now, but `except`. */
  const loggedInAs = (host: string, except?: number) =>
    server
      .clients()
      .filter(
        (c) =>
          c.loggedInTo !== undefined &&
          c.connectionId !== except &&
          !loggedOut.has(c.connectionId) &&
          hostOfClient(c.username, c.address) === host,
      );
  const settle = (host: string, left: HostLeft) => {
    const set = waiters.get(host);
    waiters.delete(host);
    for (const resolve of set ?? []) resolve(left);
  };

  const onEvent = (event: NutServerEvent): void => {
    switch (event.type) {
      case 'login':
        logger.info(`bridge: ${event.username} logged in to ${event.ups} from ${event.address}`);
        return;
      case 'logout': {
        if (event.how === 'logout') loggedOut.add(event.connectionId);
        const host = hostOfClient(event.username, event.address);
        logger.info(`bridge: ${event.username} left ${event.ups} (${event.how}) from ${event.address}`);
        if (host !== undefined && state.fsd(host)) {
          // Another client logged in as this host is still there (the host's second MONITOR line, or
          // someone else who knows its password): the host has not left yet.
          const others = loggedInAs(host, event.connectionId);
          if (others.length > 0) {
            logger.info(
              `bridge: ${host} is still logged in from ${others.map((c) => c.address).join(', ')}: its shutdown is not confirmed yet`,
            );
            return;
          }
          const left = { left: true, how: event.how, address: event.address } as const;
          leftAlready.set(host, left);
          settle(host, left);
          options.onLeft?.(host, event.how);
        }
        return;
      }
      case 'disconnect':
        loggedOut.delete(event.connectionId);
        return;
      case 'refused':
        logger.warn(`bridge: connection from ${event.address} refused: not on the allow-list`);
        return;
      default:
        return;
    }
  };

  // FSD cleared (the run restored) ends every wait for that host.
  state.onChange(() => {
    for (const host of [...leftAlready.keys()]) if (!state.fsd(host)) leftAlready.delete(host);
    for (const host of [...waiters.keys()])
      if (!state.fsd(host)) settle(host, { left: false, reason: 'FSD was cleared (power is back)' });
  });

  const tls =
    config.tls === undefined
      ? undefined
      : { key: await readFile(config.tls.key, 'utf8'), cert: await readFile(config.tls.cert, 'utf8') };
  const allow = createAllowCheck(config.allow);
  const server = await createNutServer({
    source: createBridgeSource(state, options.ownReadings),
    auth: createBridgeAuth(state, { clock: options.clock, logger }),
    host: config.listen.host,
    port: config.listen.port,
    ...(tls === undefined ? {} : { tls }),
    ...(allow === undefined ? {} : { allow }),
    onEvent,
  });
  const listen = formatListen({ host: config.listen.host, port: server.port });
  logger.info(`bridge: serving NUT on ${listen}${tls ? ' (STARTTLS offered)' : ''}`);

  const loggedIn = (host: string): boolean => loggedInAs(host).length > 0;

  return {
    server,
    listen,
    ability: {
      serves: (host) => state.claims?.hosts.some((h) => h.name === host) === true,
      loggedIn,
      showFsd: (host, issuedAt) => state.fsdOrdered(host, issuedAt),
      waitForLeave: (host) =>
        new Promise<HostLeft>((resolve) => {
          if (!state.fsd(host)) {
            resolve({ left: false, reason: 'FSD is not shown to this host' });
            return;
          }
          const already = leftAlready.get(host);
          if (already !== undefined && !loggedIn(host)) {
            resolve(already);
            return;
          }
          const set = waiters.get(host) ?? new Set();
          set.add(resolve);
          waiters.set(host, set);
        }),
    },
    async stop() {
      for (const host of [...waiters.keys()]) settle(host, { left: false, reason: 'the bridge stopped' });
      await server.close();
    },
  };
}
