import { createSocket } from 'node:dgram';

/**
 * A Wake-on-LAN receiver on 127.0.0.1: what a sleeping machine's network card does, for the demo.
 * A magic packet is 6 × 0xFF, then the target MAC 16 times.
 */
export interface WakeListener {
  readonly port: number;
  close(): Promise<void>;
}

/** The MAC a magic packet wakes (`02:00:00:00:00:01`), or undefined when it is not one. */
export function magicPacketMac(packet: Buffer): string | undefined {
  if (packet.length < 102 || !packet.subarray(0, 6).every((byte) => byte === 0xff)) return undefined;
  const mac = packet.subarray(6, 12);
  for (let i = 1; i < 16; i++) if (!packet.subarray(6 + i * 6, 12 + i * 6).equals(mac)) return undefined;
  return [...mac].map((byte) => byte.toString(16).padStart(2, '0')).join(':');
}

export async function listenForWake(onWake: (mac: string) => void): Promise<WakeListener> {
  const socket = createSocket('udp4');
  socket.on('message', (packet) => {
    const mac = magicPacketMac(packet);
    if (mac !== undefined) onWake(mac);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  return {
    port: socket.address().port,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
