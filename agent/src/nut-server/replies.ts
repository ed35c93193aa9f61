import type { KnownNutErrorCode } from '../nut/errors.js';
import { escapeValue } from '../nut/protocol.js';

/**
 * upsd's reply lines, formatted without I/O (server/netget.c, netlist.c, netmisc.c, netuser.c).
 * Names are echoed as the client spelled them, as upsd does. Values are quoted and escaped like
 * pconf_encode (upsd 2.8.0 sends them raw, which breaks on `"`; escaping is what 2.8.1+ does and
 * what every parseconf-based client reads back whole). Characters a line cannot carry are dropped.
 */

export const NUT_URL = 'http://www.networkupstools.org/';

export const err = (code: KnownNutErrorCode): string => `ERR ${code}`;

/** A value as one quoted word: printable ASCII only (a newline would end the reply), escaped. */
export function quoted(value: string): string {
  return `"${escapeValue(value.replace(/[^\x20-\x7e]/g, ''))}"`;
}

export const verLine = (version: string): string => `Network UPS Tools upsd ${version} - ${NUT_URL}`;

/** upsd's HELP: PRIMARY, MASTER, FSD and PROTVER are deliberately left out (netmisc.c). */
export const HELP_LINE = 'Commands: HELP VER GET LIST SET INSTCMD LOGIN LOGOUT USERNAME PASSWORD STARTTLS';

export const varLine = (ups: string, name: string, value: string): string =>
  `VAR ${ups} ${name} ${quoted(value)}`;

/** `BEGIN LIST <query>`, the items, `END LIST <query>`. */
export function listBlock(query: string, items: readonly string[]): string[] {
  return [`BEGIN LIST ${query}`, ...items, `END LIST ${query}`];
}

/** Variables in upsd's order: its state tree is sorted by strcasecmp. */
export function sortedVars(vars: ReadonlyMap<string, string>): [string, string][] {
  return [...vars].sort(([a], [b]) => {
    const x = a.toLowerCase();
    const y = b.toLowerCase();
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** Case-insensitive lookup, as upsd's sstate_getinfo. */
export function findVar(vars: ReadonlyMap<string, string>, name: string): string | undefined {
  const exact = vars.get(name);
  if (exact !== undefined) return exact;
  const lower = name.toLowerCase();
  for (const [key, value] of vars) if (key.toLowerCase() === lower) return value;
  return undefined;
}
