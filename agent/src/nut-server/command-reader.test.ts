import { describe, expect, it } from 'vitest';
import { createCommandReader } from './command-reader.js';

const bytes = (text: string): Uint8Array => Buffer.from(text, 'latin1');
const read = (...chunks: string[]): string[][] => {
  const reader = createCommandReader();
  return chunks.flatMap((chunk) => reader.push(bytes(chunk)));
};

describe('command reader (upsd 2.8.0 client_readline + parseconf)', () => {
  it('splits words, honours quotes, escapes, comments and CRLF', () => {
    expect(read('GET VAR "ups" ups.status\r\nLIST UPS # a comment\n')).toEqual([
      ['GET', 'VAR', 'ups', 'ups.status'],
      ['LIST', 'UPS'],
    ]);
    expect(read('PASSWORD "p\\#ss \\"w\\\\rd\\" x"\n')).toEqual([['PASSWORD', 'p#ss "w\\rd" x']]);
  });

  it('keeps a command split across chunks whole', () => {
    expect(read('GET VA', 'R ups x', '\n')).toEqual([['GET', 'VAR', 'ups', 'x']]);
  });

  it('an empty or comment-only line is a command with no words (upsd answers UNKNOWN-COMMAND)', () => {
    expect(read('\n# only\n   \n')).toEqual([[], [], []]);
  });

  it('a quote spans line ends; the line end itself is dropped', () => {
    expect(read('GET VAR ups "ups.status\nmore"\n')).toEqual([['GET', 'VAR', 'ups', 'ups.statusmore']]);
  });

  it('cuts words at 512 characters and lines at 32 words instead of refusing them', () => {
    const [long] = read(`GET VAR ups ${'x'.repeat(100_000)}\n`);
    expect(long?.[3]).toHaveLength(512);
    const [many] = read(`${Array.from({ length: 100 }, (_, i) => `w${i}`).join(' ')}\n`);
    expect(many).toHaveLength(32);
    expect(many?.at(-1)).toBe('w31');
  });

  it('drops bytes outside 0x20–0x7f from words', () => {
    expect(read('GET VAR ups ups.st\xe9a\x01tus\n')).toEqual([['GET', 'VAR', 'ups', 'ups.status']]);
  });

  it('a raw # inside quotes breaks the line and the rest of its 512-byte read, then reading goes on', () => {
    const broken = 'GET VAR "u#ps" x\nVER\n'.padEnd(512, ' ');
    expect(read(`${broken}NETVER\n`)).toEqual([['NETVER']]);
    expect(read('GET VAR "u#ps" x\nVER\n', 'HELP\n')).toEqual([['HELP']]);
  });
});
