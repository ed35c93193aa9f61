import { describe, expect, it } from 'vitest';
import { isAllowedTarget, normaliseAddress, toWakeConfig } from './wake-config.js';

describe('wake config', () => {
  it('matches IPv6 targets whatever their spelling, IPv4 as written', () => {
    const config = toWakeConfig({ allowed: ['192.0.2.255', 'FD00:0:0::FF'] });
    expect(config.allowed).toEqual(['192.0.2.255', 'fd00::ff']);
    expect(isAllowedTarget(config, '192.0.2.255')).toBe(true);
    expect(isAllowedTarget(config, 'fd00:0000::00ff')).toBe(true);
    expect(isAllowedTarget(config, '192.0.2.254')).toBe(false);
    expect(isAllowedTarget(config, '255.255.255.255')).toBe(false);
    expect(normaliseAddress('::1')).toBe('::1');
    expect(Object.isFrozen(config.allowed)).toBe(true);
  });
});
