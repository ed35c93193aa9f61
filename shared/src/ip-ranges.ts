import { z } from 'zod';

/**
 * Client addresses as the bridge's `allow:` list takes them: an IP address or a CIDR range, v4 or
 * v6. The same entries bind a NUT account to where its client connects from (`--from`). Pure (no
 * `node:net`), so the coordinator can check two accounts' addresses for overlap on any runtime.
 */
export const AddressOrRangeSchema = z.union([z.ipv4(), z.ipv6(), z.cidrv4(), z.cidrv6()], {
  error: 'an IP address or CIDR range',
});

interface IpRange {
  readonly family: 4 | 6;
  readonly first: bigint;
  readonly last: bigint;
}

function v4ToBigInt(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function v6ToBigInt(text: string): bigint | undefined {
  let head = text;
  let tailV4: bigint | undefined;
  // A trailing dotted quad (::ffff:192.0.2.1) is the last 32 bits.
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    tailV4 = v4ToBigInt(dotted[2] as string);
    if (tailV4 === undefined) return undefined;
    head = `${dotted[1]}0:0`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string | undefined) => (part === undefined || part === '' ? [] : part.split(':'));
  const left = groups(halves[0]);
  const right = groups(halves[1]);
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  let value = 0n;
  for (const group of [...left, ...Array<string>(halves.length === 1 ? 0 : missing).fill('0'), ...right]) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    value = (value << 16n) | BigInt(`0x${group}`);
  }
  return tailV4 === undefined ? value : value | tailV4;
}

const MAPPED_V4 = 0xffff_0000_0000n;

/** `10.0.0.5`, `10.0.0.0/24`, `2001:db8::/32`; an IPv4-mapped v6 address counts as the v4 one. */
export function parseIpRange(text: string): IpRange | undefined {
  const [address = '', prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) return undefined;
  const v4 = v4ToBigInt(address);
  // An empty prefix (`10.0.0.1/`) is a typo, not the whole address space.
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  let family: 4 | 6 = 4;
  let value = v4;
  let prefix = prefixText === undefined ? undefined : Number(prefixText);
  if (value === undefined) {
    value = v6ToBigInt(address);
    if (value === undefined) return undefined;
    family = 6;
    // ::ffff:192.0.2.0/120 is 192.0.2.0/24: a mapped range within the mapped block counts as v4.
    if (value >> 32n === MAPPED_V4 >> 32n && (prefix === undefined || prefix >= 96)) {
      family = 4;
      value &= 0xffff_ffffn;
      if (prefix !== undefined) prefix -= 96;
    }
  }
  const bits = family === 4 ? 32 : 128;
  prefix ??= bits;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) return undefined;
  const hostBits = BigInt(bits - prefix);
  const first = (value >> hostBits) << hostBits;
  return { family, first, last: first | ((1n << hostBits) - 1n) };
}

/** Whether two address-or-range entries share at least one address (unparsable: false). */
export function rangesOverlap(a: string, b: string): boolean {
  const x = parseIpRange(a);
  const y = parseIpRange(b);
  return (
    x !== undefined && y !== undefined && x.family === y.family && x.first <= y.last && y.first <= x.last
  );
}

/** Whether `address` (a client's, as its socket reports it) is within one of `entries`. */
export function isAddressIn(address: string, entries: readonly string[]): boolean {
  const at = parseIpRange(address);
  if (at === undefined) return false;
  return entries.some((entry) => {
    const range = parseIpRange(entry);
    return (
      range !== undefined && range.family === at.family && range.first <= at.first && at.first <= range.last
    );
  });
}
