/**
 * STARTTLS, negotiated on the raw socket before the line-framed connection exists: send
 * `STARTTLS`, read one line, and on `OK STARTTLS` hand the socket to a TLS client. As upsmon does by
 * default, `try` encrypts when upsd offers it and goes on in plain text when upsd answers that TLS is
 * not configured; `require` refuses plain text. The certificate is verified only when a CA is given
 * (upsmon's CERTVERIFY): encryption without it still keeps the password off the wire.
 */
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { NutConnectionError } from './errors.js';
import { createLineFramer } from './line-framer.js';

export type TlsMode = 'off' | 'try' | 'require';

export interface TlsOptions {
  readonly mode: TlsMode;
  /** PEM of the CA that signed upsd's certificate; without it the certificate is not verified. */
  readonly ca?: string;
  /** The name in upsd's certificate (default: the host connected to). */
  readonly servername?: string;
}

/** One line from the socket (upsd answers STARTTLS with a single line). */
function readLine(socket: Socket, timeoutMs: number, where: string): Promise<string> {
  const framer = createLineFramer();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => done(new NutConnectionError('timeout', `no answer to STARTTLS from ${where}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      try {
        const [line] = framer.push(chunk);
        if (line !== undefined) done(undefined, line);
      } catch (error) {
        done(error);
      }
    };
    const onClose = () =>
      done(new NutConnectionError('connection-lost', `${where} closed the connection during STARTTLS`));
    function done(error: unknown, line?: string) {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (line !== undefined) resolve(line);
      else reject(error);
    }
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/** Returns the socket to speak NUT over: the TLS one, or the plain one when `try` found no TLS. */
export async function negotiateTls(
  socket: Socket,
  options: TlsOptions & { readonly host: string; readonly timeoutMs: number; readonly where: string },
): Promise<{ socket: Socket; encrypted: boolean }> {
  if (options.mode === 'off') return { socket, encrypted: false };
  socket.write('STARTTLS\n');
  const answer = await readLine(socket, options.timeoutMs, options.where);
  if (!answer.startsWith('OK STARTTLS')) {
    // Not configured in upsd, or an upsd too old to know the command: plain text, unless required.
    const plain = /^ERR (FEATURE-NOT-CONFIGURED|FEATURE-NOT-SUPPORTED|UNKNOWN-COMMAND)\b/.test(answer);
    if (plain && options.mode === 'try') return { socket, encrypted: false };
    socket.destroy();
    throw new NutConnectionError(
      'protocol',
      `${options.where} did not start TLS (${answer}); tls: require refuses plain text`,
    );
  }
  const secure = tlsConnect({
    socket,
    servername: options.servername ?? options.host,
    rejectUnauthorized: options.ca !== undefined,
    ...(options.ca === undefined ? {} : { ca: options.ca }),
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('TLS handshake timed out')), options.timeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      secure.destroy();
      reject(new NutConnectionError('protocol', `TLS with ${options.where} failed: ${error.message}`));
    };
    secure.once('secureConnect', () => {
      clearTimeout(timer);
      secure.off('error', fail);
      resolve();
    });
    secure.once('error', fail);
  });
  return { socket: secure, encrypted: true };
}
