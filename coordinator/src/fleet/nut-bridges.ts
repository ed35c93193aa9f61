/**
 * NUT bridges: agents with a `bridge:` section serve NUT's protocol to hosts that run no agent
 * (`nut: { bridge: AGENT }` in the policy). Each connected bridge gets a signed copy of what it
 * serves (shared/src/protocol.ts `BridgeClaims`): every UPS with what its watcher last read, the
 * legacy hosts it serves (FSD or not, their offline rules), and the NUT accounts (hashes only).
 * Re-signed and sent only when that changes: after every decision, a policy, a credential change.
 */
import type { Clock } from '../../../shared/src/clock.js';
import { errorMessage } from '../../../shared/src/errors.js';
import type { Logger } from '../../../shared/src/logger.js';
import type { BridgeClaims } from '../../../shared/src/protocol.js';
import type { SigningKeyPair } from '../../../shared/src/signing.js';
import { signBridge } from '../../../shared/src/tokens.js';
import type { EngineState } from '../core/engine-state.js';
import { compileOfflineRules, fallbackOf } from '../core/offline-rule.js';
import type { Policy } from '../core/policy.js';
import type { Db } from '../db/client.js';
import { listNutCredentials, loginNameOf } from '../db/queries/nut-credentials.js';
import { listUpsStates } from '../db/queries/ups-events.js';
import type { Hub } from '../ws/hub.js';
import { createVersionCounter, type RaiseCeiling } from './briefings.js';

export type BridgeContent = Omit<BridgeClaims, 'version'>;

/** What a bridge said of itself in its hello. */
export interface BridgeHello {
  /** Where it serves NUT (`HOST:PORT`). */
  readonly listen: string;
  /** It checks the accounts' addresses at LOGIN (older bridges do not). */
  readonly accountAddresses: boolean;
}

/** A session's bridge, as its hello said it (undefined: not a bridge). */
export function bridgeOf(state: {
  readonly bridgeListen?: string | undefined;
  readonly bridgeAccountAddresses?: boolean | undefined;
}): BridgeHello | undefined {
  return state.bridgeListen === undefined
    ? undefined
    : { listen: state.bridgeListen, accountAddresses: state.bridgeAccountAddresses === true };
}

/** The frame's limit (shared/src/protocol.ts), under the WebSocket's 64 KiB. */
const MAX_BRIDGE_TOKEN = 60 * 1024;

/** The setting that holds the highest bridge-state version reserved so far. */
export const BRIDGE_VERSION_SETTING = 'bridge-version';

/** A legacy host sees FSD from the moment its stage is ordered until the run restores or ends. */
export function showsFsd(state: EngineState, host: string): boolean {
  const run = state.run;
  return (
    run !== undefined && run.kind === 'outage' && run.phase === 'active' && run.hosts[host] !== undefined
  );
}

type UpsRow = Awaited<ReturnType<typeof listUpsStates>>[number];
type CredentialRow = Awaited<ReturnType<typeof listNutCredentials>>[number];

const stringVars = (vars: unknown): Record<string, string> =>
  Object.fromEntries(
    Object.entries((vars ?? {}) as Record<string, unknown>).filter(
      (entry): entry is [string, string] => typeof entry[1] === 'string',
    ),
  );

/**
 * What one bridge serves. Pure. A bridge that does not check accounts' addresses
 * (`accountAddresses: false`, from before they existed) gets no account bound to addresses: it
 * would let such an account log in from anywhere, and take a shared username for its first account.
 */
export function bridgeContent(
  bridge: string,
  policy: Policy,
  state: EngineState,
  upsRows: readonly UpsRow[],
  credentials: readonly CredentialRow[],
  options: { readonly accountAddresses: boolean } = { accountAddresses: true },
): BridgeContent {
  const hosts = [...policy.hosts.values()].filter((host) => host.nut?.bridge === bridge);
  const served = new Set(hosts.map((host) => host.name));
  const rows = new Map(upsRows.map((row) => [row.ups, row]));
  return {
    kind: 'bridge',
    upses: [...policy.ups.keys()].map((name) => {
      const row = rows.get(name);
      const vars = stringVars(row?.vars);
      if (row?.status) vars['ups.status'] = row.status.join(' ');
      return {
        name,
        status: row?.status ?? null,
        vars,
        dead: row?.dead ?? false,
        observedAt: row === undefined ? 0 : row.observedAt.getTime(),
      };
    }),
    hosts: hosts.map((host) => ({
      name: host.name,
      ups: [...host.ups],
      alias: host.nut?.alias ?? null,
      fsd: showsFsd(state, host.name),
      offline: compileOfflineRules(policy, host.name),
      fallback: fallbackOf(policy, host),
      minSupplies: host.minSupplies,
    })),
    accounts: credentials
      .filter((row) => row.host === null || served.has(row.host))
      .filter((row) => options.accountAddresses || row.sourceAddresses === null)
      .map((row) => ({
        username: loginNameOf(row),
        hash: row.passwordHash,
        host: row.host,
        from: row.sourceAddresses,
      })),
  };
}

export interface NutBridgeDeps {
  readonly db: Db;
  readonly raiseVersionCeiling: RaiseCeiling;
  readonly hub: Hub;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly signingKey: SigningKeyPair;
}

/** The connected bridges. Every method must run in the fleet's serial queue. */
export function createNutBridges(deps: NutBridgeDeps) {
  /** Agent name → its id and what its hello said. */
  const bridges = new Map<string, { agentId: string } & BridgeHello>();
  /** Agent id → what its latest state said. */
  const sent = new Map<string, string>();
  const nextVersion = createVersionCounter(deps.raiseVersionCeiling, deps.clock);

  /** Signs and sends to each bridge whose state changed. Never rejects: a failure is logged. */
  async function refresh(policy: Policy | undefined, state: EngineState, names?: Iterable<string>) {
    if (policy === undefined || bridges.size === 0) return;
    try {
      const targets = [...(names ?? bridges.keys())].flatMap((name) => {
        const bridge = bridges.get(name);
        return bridge && deps.hub.isConnected(bridge.agentId) ? [{ name, ...bridge }] : [];
      });
      if (targets.length === 0) return;
      const [upsRows, credentials] = await Promise.all([
        // One unreadable row must not keep FSD from every legacy host: that UPS is served without
        // its readings (its hosts' FSD comes from the run, not from the row) until its next event.
        listUpsStates(deps.db, {
          unreadable: (ups, error) =>
            deps.logger.error(`UPS ${ups}: its stored readings are not served to the NUT bridges`, {
              error: error.message,
            }),
        }),
        listNutCredentials(deps.db),
      ]);
      for (const target of targets) {
        const content = bridgeContent(target.name, policy, state, upsRows, credentials, target);
        const key = JSON.stringify(content);
        if (sent.get(target.agentId) === key) continue;
        if (!target.accountAddresses) {
          const bound = credentials.filter((row) => row.sourceAddresses !== null).map((row) => row.name);
          if (bound.length > 0)
            deps.logger.warn(
              "bridge: accounts bound to addresses (--from) are not sent to a bridge that does not check them: upgrade the bridge's agent",
              { bridge: target.name, accounts: bound.join(',') },
            );
        }
        const claims = { ...content, version: await nextVersion() };
        const token = await signBridge(deps.signingKey, {
          agentId: target.agentId,
          claims,
          now: deps.clock.now(),
        });
        if (token.length > MAX_BRIDGE_TOKEN) {
          deps.logger.error('bridge state too large to send: fewer UPSes, hosts or accounts per bridge', {
            bridge: target.name,
            bytes: token.length,
          });
          continue;
        }
        if (deps.hub.send(target.agentId, { type: 'bridge', token })) sent.set(target.agentId, key);
      }
    } catch (error) {
      deps.logger.error('sending bridge state failed', { error: errorMessage(error) });
    }
  }

  return {
    /** A bridge said hello: it gets its state now, whatever it was sent before. */
    hello(policy: Policy | undefined, state: EngineState, agentId: string, name: string, hello: BridgeHello) {
      bridges.set(name, { agentId, ...hello });
      sent.delete(agentId);
      return refresh(policy, state, [name]);
    },
    gone(name: string): void {
      const bridge = bridges.get(name);
      if (bridge !== undefined) sent.delete(bridge.agentId);
      bridges.delete(name);
    },
    /** After a decision, a policy, a credential change: every bridge whose state changed. */
    refresh: (policy: Policy | undefined, state: EngineState) => refresh(policy, state),
    /** Where bridge `name` said it serves NUT, if it is connected. */
    listenOf: (name: string): string | undefined => bridges.get(name)?.listen,
  };
}
export type NutBridges = ReturnType<typeof createNutBridges>;
