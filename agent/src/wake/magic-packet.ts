import { AppError } from '../../../shared/src/errors.js';

/** A Wake-on-LAN magic packet: 6 bytes of 0xFF, then the target's 6-byte MAC 16 times. */
export const MAGIC_PACKET_BYTES = 6 + 16 * 6;

/** Parses a MAC written as 12 hex digits (either case, no separators) into its 6 bytes. */
export function parseMac(mac: string): Buffer {
  if (!/^[0-9a-fA-F]{12}$/.test(mac)) {
    throw new AppError('bad_request', `not a MAC address: ${JSON.stringify(mac)} (expected 12 hex digits)`);
  }
  return Buffer.from(mac, 'hex');
}

export function createMagicPacket(mac: string): Buffer {
  const address = parseMac(mac);
  const packet = Buffer.alloc(MAGIC_PACKET_BYTES, 0xff);
  for (let i = 0; i < 16; i += 1) address.copy(packet, 6 + i * 6);
  return packet;
}
