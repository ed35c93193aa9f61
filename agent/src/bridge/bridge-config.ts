import { isIPv6 } from 'node:net';
import { z } from 'zod';
import { AddressOrRangeSchema, isAddressIn } from '../../../shared/src/ip-ranges.js';

/**
 * The `bridge:` section of an agent config: this agent serves NUT's network protocol to the hosts
 * the policy says it serves (`nut: { bridge: THIS-AGENT }`), on `listen` (port 3493 by default).
 */
/** `HOST[:PORT]`, the port 3493 by default; port 0 picks a free one (tests). IPv6 as `[::]:3493`. */
const ListenAddress = z.string().transform((text, ctx) => {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+))(?::(\d{1,5}))?$/.exec(text.trim());
  const host = match?.[1] ?? match?.[2];
  const port = match?.[3] === undefined ? 3493 : Number(match[3]);
  if (host === undefined || port > 65535) {
    ctx.addIssue({ code: 'custom', message: 'must be HOST:PORT, like 0.0.0.0:3493 or 192.0.2.7' });
    return z.NEVER;
  }
  return { host, port };
});

export const BridgeSchema = z.strictObject({
  listen: ListenAddress.default({ host: '0.0.0.0', port: 3493 }),
  /** Only these addresses (or CIDR ranges) may connect; without it, any address may. */
  allow: z
    .array(AddressOrRangeSchema)
    .min(1, 'list at least one address (leave out allow: to accept any)')
    .optional(),
  /** PEM files: STARTTLS is offered with them, as upsd with CERTFILE. */
  tls: z.strictObject({ key: z.string().min(1), cert: z.string().min(1) }).optional(),
});

export interface BridgeConfig {
  readonly listen: { readonly host: string; readonly port: number };
  /** Undefined: any address may connect. */
  readonly allow: readonly string[] | undefined;
  /** Paths of the PEM key and certificate (absolute). */
  readonly tls: { readonly key: string; readonly cert: string } | undefined;
}

/** `HOST:PORT` as the coordinator prints it in MONITOR lines (`[v6]:port`). */
export function formatListen(listen: BridgeConfig['listen']): string {
  return isIPv6(listen.host) ? `[${listen.host}]:${listen.port}` : `${listen.host}:${listen.port}`;
}

/** The allow-list as a check on a client's address; undefined → everyone. */
export function createAllowCheck(
  allow: readonly string[] | undefined,
): ((address: string) => boolean) | undefined {
  if (allow === undefined) return undefined;
  const entries = [...allow];
  return (address) => isAddressIn(address, entries);
}
