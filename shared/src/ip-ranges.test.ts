import { describe, expect, it } from 'vitest';
import { isAddressIn, parseIpRange, rangesOverlap } from './ip-ranges.js';

describe('address ranges', () => {
  it('matches addresses against addresses and CIDR ranges, v4 and v6', () => {
    expect(isAddressIn('192.0.2.21', ['192.0.2.21'])).toBe(true);
    expect(isAddressIn('192.0.2.22', ['192.0.2.21'])).toBe(false);
    expect(isAddressIn('192.0.2.200', ['192.0.2.128/25'])).toBe(true);
    expect(isAddressIn('192.0.2.1', ['192.0.2.128/25'])).toBe(false);
    expect(isAddressIn('2001:db8::7', ['2001:db8::/64'])).toBe(true);
    expect(isAddressIn('2001:db9::7', ['2001:db8::/64'])).toBe(false);
    expect(isAddressIn('::1', ['::1'])).toBe(true);
    // A v4 client on a dual-stack socket is the v4 address.
    expect(isAddressIn('::ffff:192.0.2.21', ['192.0.2.0/24'])).toBe(true);
    expect(isAddressIn('192.0.2.21', ['::/0'])).toBe(false);
    expect(isAddressIn('not an address', ['0.0.0.0/0'])).toBe(false);
  });

  it('says whether two entries share an address', () => {
    expect(rangesOverlap('127.0.0.2', '127.0.0.3')).toBe(false);
    expect(rangesOverlap('127.0.0.2', '127.0.0.0/30')).toBe(true);
    expect(rangesOverlap('10.0.0.0/8', '10.200.0.0/16')).toBe(true);
    expect(rangesOverlap('10.0.0.0/9', '10.200.0.0/16')).toBe(false);
    expect(rangesOverlap('2001:db8::/32', '2001:db8:1::1')).toBe(true);
    expect(rangesOverlap('0.0.0.0/0', '::/0')).toBe(false);
  });

  it('refuses what is not an address or range', () => {
    for (const bad of ['1.2.3', '1.2.3.256', '10.0.0.0/33', '1::2::3', 'fe80::/129', '10.0.0.0/8/8', ''])
      expect(parseIpRange(bad), bad).toBeUndefined();
    // An empty prefix is a typo, not the whole address space.
    expect(parseIpRange('10.0.0.1/')).toBeUndefined();
    expect(parseIpRange('2001:db8::1/')).toBeUndefined();
    expect(isAddressIn('192.0.2.7', ['10.0.0.1/'])).toBe(false);
  });

  it('counts an IPv4-mapped range within the mapped block as the v4 range', () => {
    expect(parseIpRange('::ffff:192.0.2.0/120')).toEqual(parseIpRange('192.0.2.0/24'));
    expect(parseIpRange('::ffff:0:0/96')).toEqual(parseIpRange('0.0.0.0/0'));
    expect(isAddressIn('192.0.2.21', ['::ffff:192.0.2.0/120'])).toBe(true);
    expect(isAddressIn('::ffff:192.0.2.21', ['::ffff:192.0.2.0/120'])).toBe(true);
    expect(isAddressIn('192.0.3.1', ['::ffff:192.0.2.0/120'])).toBe(false);
    expect(rangesOverlap('::ffff:192.0.2.0/120', '192.0.2.21')).toBe(true);
    // Wider than the mapped block: a v6 range.
    expect(parseIpRange('::ffff:0:0/95')?.family).toBe(6);
    expect(parseIpRange('::ffff:192.0.2.0/129')).toBeUndefined();
  });
});
