/**
 * The two NUT requests the bench needs that the agent's client has no verb for: `FSD <ups>`, which
 * is how a primary upsmon raises the forced-shutdown flag on upsd (upsmon.c sends exactly this once
 * it decides the UPS is critical, or on `upsmon -c fsd`), and `GET NUMLOGINS`, to know when a
 * secondary upsmon has logged in. One-line replies only.
 */
import { connect, type Socket } from 'node:net';

export interface NutWire {
  request(line: string): Promise<string>;
  close(): void;
}

export async function openNutWire(host: string, port: number): Promise<NutWire> {
  const socket: Socket = connect({ host, port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const waiting: { resolve: (line: string) => void; reject: (error: Error) => void }[] = [];
  let partial = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    partial += chunk;
    for (let end = partial.indexOf('\n'); end >= 0; end = partial.indexOf('\n')) {
      const line = partial.slice(0, end);
      partial = partial.slice(end + 1);
      waiting.shift()?.resolve(line);
    }
  });
  const fail = (error: Error) => {
    for (const waiter of waiting.splice(0)) waiter.reject(error);
  };
  socket.on('error', fail);
  socket.on('close', () => fail(new Error(`upsd ${host}:${port} closed the connection`)));
  return {
    request(line) {
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        socket.write(`${line}\n`);
      });
    },
    close: () => socket.destroy(),
  };
}

/** Logs in as `username` (who needs `upsmon primary` or `actions = FSD`) and sets FSD on `ups`. */
export async function raiseFsd(
  host: string,
  port: number,
  ups: string,
  account: { username: string; password: string },
): Promise<void> {
  const wire = await openNutWire(host, port);
  try {
    for (const line of [`USERNAME ${account.username}`, `PASSWORD ${account.password}`, `FSD ${ups}`]) {
      const reply = await wire.request(line);
      if (!reply.startsWith('OK')) throw new Error(`upsd answered "${reply}" to ${line.split(' ')[0]}`);
    }
  } finally {
    wire.close();
  }
}

/** How many clients are logged in to `ups` (upsmon logs in; plain readers do not). */
export async function numLogins(host: string, port: number, ups: string): Promise<number> {
  const wire = await openNutWire(host, port);
  try {
    const reply = await wire.request(`GET NUMLOGINS ${ups}`);
    const count = Number(reply.split(' ').at(-1));
    if (!reply.startsWith('NUMLOGINS') || !Number.isInteger(count))
      throw new Error(`upsd answered "${reply}"`);
    return count;
  } finally {
    wire.close();
  }
}
