import type { BridgeClaims } from '../../../shared/src/protocol.js';
import type { OwnReading } from '../fallback/own-reading.js';
import type { NutClientView, NutServedUps, NutServerSource } from '../nut-server/types.js';
import { findAccount } from './bridge-accounts.js';
import type { BridgeState } from './bridge-state.js';

/**
 * What each NUT client of the bridge sees. Every UPS of the fleet by its policy name, with what its
 * watcher last read; a UPS whose state is unknown (or dead) answers DATA-STALE, as upsd does when
 * its driver stops updating. A legacy host logged in with its own account sees `FSD` added to
 * `ups.status` of the UPSes that feed it once its stage fires — and no other client does. A host's
 * alias names its first UPS a second time (Synology DSM insists on `ups`), for every client.
 * While the bridge is on its own, a UPS it reads itself (`bridge.upsd:`) is served with its own
 * fresh `ups.status`, `battery.charge` and `battery.runtime` over the last state's variables, so that
 * clients see the power as it is (Synology DSM ignores FSD while the status says OL).
 */

type Host = BridgeClaims['hosts'][number];
type Ups = BridgeClaims['upses'][number];

/** The legacy host a client is, by its username and address (verified once it has logged in). */
function hostOf(claims: BridgeClaims, client: NutClientView): Host | undefined {
  const account = findAccount(claims, client.username, client.address);
  return account?.host === null || account === undefined
    ? undefined
    : claims.hosts.find((h) => h.name === account.host);
}

/** The last state's reading of a UPS, with the bridge's own fresh reading over it (on its own). */
function current(ups: Ups, own: OwnReading | undefined): Ups {
  if (own === undefined || !own.fresh || own.dead || own.status === null) return ups;
  const vars: Record<string, string> = { ...ups.vars, 'ups.status': own.status.join(' ') };
  if (own.charge !== undefined) vars['battery.charge'] = String(own.charge);
  if (own.runtime !== undefined) vars['battery.runtime'] = String(Math.round(own.runtime / 1_000));
  return { ...ups, status: [...own.status], vars, dead: false, observedAt: own.at };
}

function served(ups: Ups, name: string, fsd: boolean): NutServedUps {
  const description = `upsfleet: ${ups.name}`;
  if (ups.status === null || ups.dead) return { name, description, data: 'DATA-STALE' };
  const vars = new Map(Object.entries(ups.vars));
  const status = ups.status.join(' ');
  // upsd prefixes FSD to whatever the driver says (netget.c); a UPS that says FSD itself keeps it.
  vars.set('ups.status', fsd && !ups.status.includes('FSD') ? `FSD ${status}` : status);
  return { name, description, data: { vars, commands: [] } };
}

export function createBridgeSource(
  state: BridgeState,
  /** While on its own: the bridge's own readings by UPS name (empty otherwise). */
  own: () => Readonly<Record<string, OwnReading>> = () => ({}),
): NutServerSource {
  return {
    upses(client: NutClientView): NutServedUps[] {
      const last = state.claims;
      if (last === undefined) return [];
      const readings = own();
      const claims = { ...last, upses: last.upses.map((ups) => current(ups, readings[ups.name])) };
      const host = hostOf(claims, client);
      // FSD only for a host that proved who it is (LOGIN checks the password).
      const fsd = host !== undefined && client.loggedInTo !== undefined && state.fsd(host.name);
      const list = claims.upses.map((ups) =>
        served(ups, ups.name, fsd && host?.ups.includes(ups.name) === true),
      );
      // Aliases are names like any other (a client asks for `ups` before it logs in).
      for (const aliased of claims.hosts) {
        const target = claims.upses.find((ups) => ups.name === aliased.ups[0]);
        const alias = aliased.alias;
        if (alias === null || target === undefined) continue;
        if (list.some((u) => u.name.toLowerCase() === alias.toLowerCase())) continue;
        list.push(served(target, alias, fsd && host?.ups[0] === target.name));
      }
      return list;
    },
  };
}
