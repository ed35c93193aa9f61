import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { createMagicPacket } from './magic-packet.js';
import { needsBroadcast, sendMagicPacket } from './send-magic-packet.js';

/** A UDP listener on 127.0.0.1:0; `next()` resolves with the next datagram. */
async function listen(): Promise<{ socket: Socket; port: number; next(): Promise<Buffer> }> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return {
    socket,
    port: socket.address().port,
    next: async () => {
      const [message] = (await once(socket, 'message')) as [Buffer];
      return message;
    },
  };
}

describe('sendMagicPacket', () => {
  let listener: Socket | undefined;
  afterEach(() => {
    listener?.close();
    listener = undefined;
  });

  it('delivers exactly the 102-byte magic packet to address:port over UDP', async () => {
    const udp = await listen();
    listener = udp.socket;
    const received = udp.next();
    await sendMagicPacket({ mac: '0a1b2c3d4e5f', address: '127.0.0.1', port: udp.port });
    const packet = await received;
    expect(packet).toHaveLength(102);
    expect(packet).toEqual(createMagicPacket('0a1b2c3d4e5f'));
  });

  it('rejects when the packet cannot be sent, and refuses a bad MAC before opening a socket', async () => {
    await expect(sendMagicPacket({ mac: '0a1b2c3d4e5f', address: '127.0.0.1', port: 0 })).rejects.toThrow(
      /port/i,
    );
    await expect(sendMagicPacket({ mac: 'nope', address: '127.0.0.1', port: 9 })).rejects.toThrow(
      /not a MAC address/,
    );
  });
});

describe('needsBroadcast', () => {
  it.each([
    ['255.255.255.255', true],
    ['192.0.2.255', true],
    ['10.1.255.255', true],
    ['127.0.0.1', false],
    ['192.0.2.25', false],
    ['10.255.0.1', false],
    ['::1', false],
    ['ff02::1', false],
  ])('%s → %s', (address, expected) => {
    expect(needsBroadcast(address)).toBe(expected);
  });
});
