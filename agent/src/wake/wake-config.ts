import { isIPv6 } from 'node:net';
import { z } from 'zod';

/**
 * The `wake:` section of an agent config: the addresses this agent may send Wake-on-LAN packets to
 * (the LAN's broadcast address in production). Without the section, wake orders are refused.
 */
export const WakeSchema = z.strictObject({
  allowed: z
    .array(z.union([z.ipv4(), z.ipv6()], { error: 'must be an IPv4 or IPv6 address, like 192.0.2.255' }), {
      error: 'must be a list of addresses, like ["192.0.2.255"]',
    })
    .min(1, 'list at least one address (leave out wake: to refuse wake orders)'),
});

export interface WakeConfig {
  /** Normalised (IPv6 in its canonical compressed form), so either spelling of an address matches. */
  readonly allowed: readonly string[];
}

/** IPv6 has many spellings (case, `::`); WHATWG URL prints its canonical one. IPv4 stays as written. */
export function normaliseAddress(address: string): string {
  return isIPv6(address) ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address;
}

export function toWakeConfig(parsed: z.output<typeof WakeSchema>): WakeConfig {
  return Object.freeze({ allowed: Object.freeze(parsed.allowed.map(normaliseAddress)) });
}

export function isAllowedTarget(config: WakeConfig, address: string): boolean {
  return config.allowed.includes(normaliseAddress(address));
}
