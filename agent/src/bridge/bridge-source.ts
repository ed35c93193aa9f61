import type { BridgeClaims } from '../../../shared/src/protocol.js';
import type { NutClientView, NutServedUps, NutServerSource } from '../nut-server/types.js';
import type { BridgeState } from './bridge-state.js';

/**
 * What each NUT client of the bridge sees. Every UPS of the fleet by its policy name, with what its
 * watcher last read; a UPS whose state is unknown (or dead) answers DATA-STALE, as upsd does when
 * its driver stops updating. A legacy host logged in with its own account sees `FSD` added to
 * `ups.status` of the UPSes that feed it once its stage fires — and no other client does. A host's
 * alias names its first UPS a second time (Synology DSM insists on `ups`), for every client.
 */

type Host = BridgeClaims['hosts'][number];
type Ups = BridgeClaims['upses'][number];

/** The legacy host a client is, by its username (verified once it has logged in). */
function hostOf(claims: BridgeClaims, username: string | undefined): Host | undefined {
  if (username === undefined) return undefined;
  const account = claims.accounts.find((a) => a.username === username);
  return account?.host === null || account === undefined
    ? undefined
    : claims.hosts.find((h) => h.name === account.host);
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

export function createBridgeSource(state: BridgeState): NutServerSource {
  return {
    upses(client: NutClientView): NutServedUps[] {
      const claims = state.claims;
      if (claims === undefined) return [];
      const host = hostOf(claims, client.username);
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
