import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRawNut, type RawNut } from '../../../test/nut/raw-nut.js';
import { bare, type Exchange, findExchange, loadTranscript, RECORDED } from '../../../test/nut/transcript.js';
import { tokenize } from '../nut/protocol.js';
import { createNutServer, type NutServer } from './server.js';
import { createStaticAuth, createStaticSource } from './static-source.js';
import type { NutServerEvent } from './types.js';

/**
 * The recorded upsd 2.8.0 session (test/fixtures/nut), replayed byte for byte against this server
 * serving the same UPS: every answer must be upsd's, except where this server knowingly differs
 * (nothing is writable, no descriptions table), listed below with what it answers instead.
 */

const recorded = loadTranscript(RECORDED);

/** The recorded UPS: its variables from section A's LIST VAR, its one command, its description. */
function recordedUps() {
  const list = findExchange(recorded, 'LIST VAR ups', 'A.');
  const vars: Record<string, string> = {};
  for (const line of list.replies.slice(1, -1)) {
    const [, , name, value] = tokenize(bare(line));
    vars[name as string] = value as string;
  }
  return { name: 'ups', description: 'nutpeer simulated UPS', vars, commands: ['load.off'] };
}

/** Where this server answers otherwise than upsd, and why. */
const DIFFERENCES: Record<string, readonly string[]> = {
  // Served read-only: no RW variables, and no variable flagged as a string.
  'LIST RW ups': ['BEGIN LIST RW ups\n', 'END LIST RW ups\n'],
  'GET TYPE ups battery.charge': ['TYPE ups battery.charge NUMBER\n'],
  'GET TYPE ups ups.status': ['TYPE ups ups.status NUMBER\n'],
  // No cmdvartab: descriptions come from the source, and this one gives none.
  'GET DESC ups battery.charge': ['DESC ups battery.charge "Description unavailable"\n'],
  'GET DESC ups ups.status': ['DESC ups ups.status "Description unavailable"\n'],
  'GET CMDDESC ups load.off': ['CMDDESC ups load.off "Description unavailable"\n'],
};

describe('NUT server: the recorded upsd 2.8.0 session replayed', () => {
  let server: NutServer;
  const events: NutServerEvent[] = [];

  beforeAll(async () => {
    server = await createNutServer({
      source: createStaticSource([recordedUps()]),
      auth: createStaticAuth([{ username: 'monsec', password: 'secpass' }]),
      port: 0,
      onEvent: (event) => events.push(event),
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers sections A–D (anonymous, errors, bad credentials, a secondary) as upsd did', async () => {
    const sections = recorded.filter((e) => /^[A-D]\./.test(e.section));
    expect(sections.length).toBeGreaterThan(70);
    const connections = new Map<number, RawNut>();
    const differed: string[] = [];
    try {
      for (const exchange of sections) {
        let raw = connections.get(exchange.connection);
        if (!raw) {
          raw = await openRawNut(server.port);
          connections.set(exchange.connection, raw);
        }
        const replies = await raw.send(exchange.request, countReplies(exchange));
        const expected = DIFFERENCES[exchange.command] ?? exchange.replies;
        if (DIFFERENCES[exchange.command]) differed.push(exchange.command);
        expect({ request: exchange.request, replies }).toEqual({
          request: exchange.request,
          replies: expected,
        });
        if (exchange.eof) await raw.closed;
      }
    } finally {
      for (const raw of connections.values()) raw.close();
    }
    expect(differed.sort()).toEqual(Object.keys(DIFFERENCES).sort());
  });

  it('reported the secondary’s login, and its going away', async () => {
    await expect.poll(() => events.filter((e) => e.type === 'logout')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'login')).toEqual([
      expect.objectContaining({ username: 'monsec', ups: 'ups', address: '127.0.0.1' }),
    ]);
    expect(events.filter((e) => e.type === 'logout')).toEqual([
      expect.objectContaining({ username: 'monsec', ups: 'ups', how: 'disconnect' }),
    ]);
    expect(events.filter((e) => e.type === 'login-denied').map((e) => 'username' in e && e.username)).toEqual(
      ['monsec', 'nosuchuser'],
    );
  });
});

/** Replies recorded for one request: a LIST block counts once. */
function countReplies(exchange: Exchange): number {
  let count = 0;
  let inList = false;
  for (const line of exchange.replies) {
    if (inList) {
      if (line.startsWith('END LIST')) inList = false;
      continue;
    }
    count += 1;
    if (line.startsWith('BEGIN LIST')) inList = true;
  }
  return count;
}
