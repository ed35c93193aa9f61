import { err, findVar, listBlock, NUT_URL, quoted, sortedVars, varLine } from './replies.js';
import type { NutClientView, NutServedData, NutServedUps, NutServerSource } from './types.js';

/** GET and LIST, answered as upsd 2.8.0 answers them (server/netget.c, server/netlist.c). */

export interface QueryContext {
  readonly source: NutServerSource;
  readonly client: NutClientView;
  readonly version: string;
  /** Whether SET TRACKING ON was sent on this connection. */
  readonly tracking: boolean;
  /** Every connection's view, for NUMLOGINS and LIST CLIENT. */
  readonly clients: () => Iterable<NutClientView>;
}

const sameName = (a: string | undefined, b: string): boolean =>
  a !== undefined && a.toLowerCase() === b.toLowerCase();

/** The UPS by name, case-insensitively, as this client sees it. */
export function findUps(context: QueryContext, name: string): NutServedUps | undefined {
  return context.source.upses(context.client).find((ups) => sameName(ups.name, name));
}

type Lookup = { ups: NutServedUps; data: NutServedData } | { error: string[] };

/** get_ups_ptr + ups_available: UNKNOWN-UPS, or the driver's state when its data cannot be served. */
function available(context: QueryContext, name: string): Lookup {
  const ups = findUps(context, name);
  if (ups === undefined) return { error: [err('UNKNOWN-UPS')] };
  if (typeof ups.data === 'string') return { error: [err(ups.data)] };
  return { ups, data: ups.data };
}

function loginsTo(context: QueryContext, ups: string): NutClientView[] {
  return [...context.clients()].filter((client) => sameName(client.loggedInTo, ups));
}

function getVar(context: QueryContext, upsName: string, name: string): string[] {
  // upsd ignores the UPS name for server.* variables.
  if (name.toLowerCase().startsWith('server.')) {
    if (sameName(name, 'server.info'))
      return [varLine(upsName, 'server.info', `Network UPS Tools upsd ${context.version} - ${NUT_URL}`)];
    if (sameName(name, 'server.version')) return [varLine(upsName, 'server.version', context.version)];
    return [err('VAR-NOT-SUPPORTED')];
  }
  const found = available(context, upsName);
  if ('error' in found) return found.error;
  const value = findVar(found.data.vars, name);
  return value === undefined ? [err('VAR-NOT-SUPPORTED')] : [varLine(upsName, name, value)];
}

export function handleGet(context: QueryContext, args: readonly string[]): string[] {
  const [what = '', ups = '', name = ''] = args;
  if (args.length < 1) return [err('INVALID-ARGUMENT')];
  const kind = what.toUpperCase();
  if (kind === 'TRACKING') {
    if (args.length < 2) return [context.tracking ? 'ON' : 'OFF'];
    // Nothing is ever tracked here: no SET or INSTCMD is ever carried out.
    return [context.tracking ? err('UNKNOWN') : err('FEATURE-NOT-CONFIGURED')];
  }
  if (args.length < 2) return [err('INVALID-ARGUMENT')];
  if (kind === 'NUMLOGINS') {
    const found = available(context, ups);
    if ('error' in found) return found.error;
    return [`NUMLOGINS ${ups} ${loginsTo(context, found.ups.name).length}`];
  }
  if (kind === 'UPSDESC') {
    const found = findUps(context, ups);
    if (found === undefined) return [err('UNKNOWN-UPS')];
    return [`UPSDESC ${ups} ${quoted(found.description ?? 'Unavailable')}`];
  }
  if (args.length < 3) return [err('INVALID-ARGUMENT')];
  switch (kind) {
    case 'VAR':
      return getVar(context, ups, name);
    case 'TYPE': {
      const found = available(context, ups);
      if ('error' in found) return found.error;
      if (findVar(found.data.vars, name) === undefined) return [err('VAR-NOT-SUPPORTED')];
      // Served read-only and never flagged as a string: upsd calls such a variable NUMBER.
      return [`TYPE ${ups} ${name} NUMBER`];
    }
    case 'DESC':
    case 'CMDDESC': {
      const found = available(context, ups);
      if ('error' in found) return found.error;
      const text =
        kind === 'DESC' ? context.source.describeVar?.(name) : context.source.describeCommand?.(name);
      return [`${kind} ${ups} ${name} ${quoted(text ?? 'Description unavailable')}`];
    }
    default:
      return [err('INVALID-ARGUMENT')];
  }
}

export function handleList(context: QueryContext, args: readonly string[]): string[] {
  const [what = '', ups = '', name = ''] = args;
  if (args.length < 1) return [err('INVALID-ARGUMENT')];
  const kind = what.toUpperCase();
  if (kind === 'UPS') {
    const items = context.source
      .upses(context.client)
      .map((entry) => `UPS ${entry.name} ${quoted(entry.description ?? 'Description unavailable')}`);
    return listBlock('UPS', items);
  }
  if (args.length < 2) return [err('INVALID-ARGUMENT')];
  if (kind === 'CLIENT') {
    const found = findUps(context, ups);
    if (found === undefined) return [err('UNKNOWN-UPS')];
    const items = loginsTo(context, found.name).map((client) => `CLIENT ${found.name} ${client.address}`);
    return listBlock(`CLIENT ${ups}`, items);
  }
  if (kind === 'VAR' || kind === 'RW' || kind === 'CMD') {
    const found = available(context, ups);
    if ('error' in found) return found.error;
    const items =
      kind === 'VAR'
        ? sortedVars(found.data.vars).map(([key, value]) => varLine(ups, key, value))
        : kind === 'CMD'
          ? found.data.commands.map((command) => `CMD ${ups} ${command}`)
          : // Nothing is writable through this server.
            [];
    return listBlock(`${kind} ${ups}`, items);
  }
  if (args.length < 3) return [err('INVALID-ARGUMENT')];
  if (kind === 'ENUM' || kind === 'RANGE') {
    const found = available(context, ups);
    if ('error' in found) return found.error;
    if (findVar(found.data.vars, name) === undefined) return [err('VAR-NOT-SUPPORTED')];
    return listBlock(`${kind} ${ups} ${name}`, []);
  }
  return [err('INVALID-ARGUMENT')];
}
