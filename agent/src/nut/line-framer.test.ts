import { describe, expect, it } from 'vitest';
import { findExchange, loadTranscript, RECORDED } from '../../../test/nut/transcript.js';
import { NutProtocolError } from './errors.js';
import { createLineFramer } from './line-framer.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');
const recorded = loadTranscript(RECORDED);

describe('createLineFramer', () => {
  it('splits a recorded LIST reply however the bytes are chunked', () => {
    const reply = findExchange(recorded, 'LIST VAR ups').replies.join('');
    const expected = reply.split('\n').slice(0, -1);
    for (const size of [1, 2, 7, 64, reply.length]) {
      const framer = createLineFramer();
      const lines: string[] = [];
      for (let i = 0; i < reply.length; i += size)
        lines.push(...framer.push(bytes(reply.slice(i, i + size))));
      expect(lines).toEqual(expected);
      expect(framer.buffered).toBe(0);
    }
  });

  it('returns pipelined replies from one chunk in order', () => {
    const exchange = recorded.find((e) => e.request.startsWith('VER\nGET VAR'));
    const framer = createLineFramer();
    expect(framer.push(bytes(exchange?.replies.join('') ?? ''))).toEqual([
      'Network UPS Tools upsd 2.8.0 - http://www.networkupstools.org/',
      'VAR ups ups.status "OL"',
      'VAR ups battery.charge "100"',
    ]);
  });

  it('holds back an unterminated line, and tolerates a CR even when split from its LF', () => {
    const framer = createLineFramer();
    expect(framer.push(bytes('VAR ups ups.status "O'))).toEqual([]);
    expect(framer.buffered).toBe(21);
    expect(framer.push(bytes('L"\r'))).toEqual([]);
    expect(framer.push(bytes('\nOK\r\n\n'))).toEqual(['VAR ups ups.status "OL"', 'OK', '']);
  });

  it('decodes UTF-8 split across chunks', () => {
    const framer = createLineFramer();
    const text = Buffer.from('VAR ups ups.mfr "Écho"\n', 'utf8');
    const cut = text.indexOf(0xc3) + 1;
    expect(framer.push(text.subarray(0, cut))).toEqual([]);
    expect(framer.push(text.subarray(cut))).toEqual(['VAR ups ups.mfr "Écho"']);
  });

  it('accepts a line of exactly the limit, CR not counted', () => {
    const framer = createLineFramer({ maxLineBytes: 8 });
    expect(framer.push(bytes('12345678\r\n12345678\n'))).toEqual(['12345678', '12345678']);
  });

  it('throws line-too-long for an over-long terminated line', () => {
    const framer = createLineFramer({ maxLineBytes: 8 });
    expect(() => framer.push(bytes('123456789\n'))).toThrow(NutProtocolError);
  });

  it('throws line-too-long as soon as an unterminated line passes the limit, and stays failed', () => {
    const framer = createLineFramer();
    expect(framer.push(bytes('x'.repeat(8192)))).toEqual([]);
    let error: unknown;
    try {
      framer.push(bytes('xx'));
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ name: 'NutProtocolError', reason: 'line-too-long', code: 'protocol' });
    expect(framer.buffered).toBe(0);
    expect(() => framer.push(bytes('OK\n'))).toThrow(/limit/);
  });
});
