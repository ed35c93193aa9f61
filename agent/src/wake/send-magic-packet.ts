import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { createMagicPacket } from './magic-packet.js';

export interface WakeTarget {
  readonly mac: string;
  /** An IP address (never a name: nothing is resolved). */
  readonly address: string;
  readonly port: number;
}

/** Only the limited broadcast address and an IPv4 address ending in .255 need SO_BROADCAST. */
export function needsBroadcast(address: string): boolean {
  return address === '255.255.255.255' || (!isIPv6(address) && address.endsWith('.255'));
}

/** Resolves when `step` calls back without error; rejects on its error or the socket's. */
function socketStep(socket: Socket, step: (done: (error?: Error | null) => void) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    socket.once('error', onError);
    try {
      step((error) => {
        socket.off('error', onError);
        if (error) reject(error);
        else resolve();
      });
    } catch (error) {
      socket.off('error', onError);
      reject(error);
    }
  });
}

/** Sends one magic packet over UDP from an ephemeral port, then closes the socket. */
export async function sendMagicPacket(target: WakeTarget): Promise<void> {
  const packet = createMagicPacket(target.mac);
  const socket = createSocket(isIPv6(target.address) ? 'udp6' : 'udp4');
  try {
    await socketStep(socket, (done) => socket.bind(0, () => done()));
    // SO_BROADCAST can only be set on a bound socket.
    if (needsBroadcast(target.address)) socket.setBroadcast(true);
    await socketStep(socket, (done) =>
      socket.send(packet, target.port, target.address, (error) => done(error)),
    );
  } finally {
    try {
      socket.close();
    } catch {
      // A socket that never bound is already closed.
    }
  }
}
