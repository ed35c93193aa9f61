import { createParseconf, UPSD_PARSECONF } from '../nut/parseconf.js';

/**
 * Client bytes → commands (word lists), exactly as upsd 2.8.0 reads them (server/upsd.c
 * `client_readline`): every byte goes through parseconf, a line end outside quotes completes a
 * command, and there is no line-length error: words are cut at 512 characters and lines at 32 words,
 * so memory stays bounded however long the line. A parse error (a raw `#` inside quotes) is not
 * answered; like upsd, the rest of that read (upsd reads 512 bytes at a time) is thrown away.
 */

/** upsd reads the socket in SMALLBUF pieces and drops the rest of a piece after a parse error. */
const READ_SIZE = 512;

export interface CommandReader {
  /** Feeds bytes as they arrive; returns the commands they complete, in order. */
  push(chunk: Uint8Array): string[][];
}

export function createCommandReader(): CommandReader {
  const parser = createParseconf(UPSD_PARSECONF);
  return {
    push(chunk) {
      const commands: string[][] = [];
      for (let start = 0; start < chunk.length; start += READ_SIZE) {
        const end = Math.min(start + READ_SIZE, chunk.length);
        for (let i = start; i < end; i++) {
          const step = parser.push(String.fromCharCode(chunk[i] as number));
          if (step === 'line') commands.push([...parser.words]);
          else if (step === 'error') break;
        }
      }
      return commands;
    },
  };
}
