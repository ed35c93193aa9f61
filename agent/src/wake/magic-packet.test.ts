import { describe, expect, it } from 'vitest';
import { createMagicPacket, MAGIC_PACKET_BYTES, parseMac } from './magic-packet.js';

describe('createMagicPacket', () => {
  it('is 6 bytes of 0xFF then the MAC 16 times: 102 bytes', () => {
    const packet = createMagicPacket('0a1b2c3d4e5f');
    expect(MAGIC_PACKET_BYTES).toBe(102);
    expect(packet).toHaveLength(102);
    const mac = Buffer.from([0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f]);
    expect(packet.subarray(0, 6)).toEqual(Buffer.alloc(6, 0xff));
    for (let i = 0; i < 16; i += 1) expect(packet.subarray(6 + i * 6, 12 + i * 6)).toEqual(mac);
  });

  it('reads upper-case hex like lower-case', () => {
    expect(createMagicPacket('0A1B2C3D4E5F')).toEqual(createMagicPacket('0a1b2c3d4e5f'));
  });

  it.each([
    ['too short', '0a1b2c3d4e'],
    ['too long', '0a1b2c3d4e5f00'],
    ['with separators', '0a:1b:2c:3d:4e:5f'],
    ['not hex', '0a1b2c3d4e5g'],
    ['empty', ''],
    ['padded', ' 0a1b2c3d4e5f'],
  ])('refuses a MAC that is %s', (_what, mac) => {
    expect(() => createMagicPacket(mac)).toThrow(/not a MAC address/);
    expect(() => parseMac(mac)).toThrow(/expected 12 hex digits/);
  });
});
