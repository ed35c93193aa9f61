/**
 * Attack: a broken or hostile NUT client against the NUT server (the counterpart of
 * nut-codec-fuzz.test.ts, which fuzzes upsd's replies into the agent). Property-based (fast-check,
 * fixed seed, bounded runs): whatever words a command has, a session answers it with exactly one
 * well-formed reply (a line, or one BEGIN … END LIST block) and never throws; whatever bytes
 * arrive on a socket, the server stays up and a fresh connection is answered.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommandReader } from '../../agent/src/nut-server/command-reader.js';
import { createNutServer, type NutServer } from '../../agent/src/nut-server/server.js';
import { createNutSession } from '../../agent/src/nut-server/session.js';
import { createStaticAuth, createStaticSource } from '../../agent/src/nut-server/static-source.js';
import { chooseSeed } from '../helpers/seeded-random.js';
import { openRawNut } from '../nut/raw-nut.js';

const seed = chooseSeed('UPSFLEET_FUZZ_SEED', 'NUT server fuzzing', 20_261_207);

const source = createStaticSource([
  {
    name: 'nas-ups',
    description: 'fuzzed',
    vars: { 'ups.status': 'OB "LB" #1 \\', 'battery.charge': '42' },
    commands: ['load.off'],
  },
]);
const auth = createStaticAuth([{ username: 'nas2', password: 'pw' }]);

/** Words clients send, and the characters parseconf treats specially. */
const word = fc.oneof(
  fc.constantFrom(
    'GET',
    'LIST',
    'VAR',
    'TYPE',
    'DESC',
    'CMDDESC',
    'UPSDESC',
    'NUMLOGINS',
    'TRACKING',
    'UPS',
    'RW',
    'CMD',
    'ENUM',
    'RANGE',
    'CLIENT',
    'USERNAME',
    'PASSWORD',
    'LOGIN',
    'LOGOUT',
    'PRIMARY',
    'MASTER',
    'FSD',
    'SET',
    'INSTCMD',
    'STARTTLS',
    'VER',
    'NETVER',
    'PROTVER',
    'HELP',
    'nas-ups',
    'NAS-UPS',
    'ups.status',
    'server.info',
    'load.off',
    'nas2',
    'pw',
    'ON',
    '',
  ),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
);

/** A known command's first words, then anything: reaches the handlers that echo names back. */
const prefix = fc.constantFrom(
  [],
  ['GET', 'VAR', 'nas-ups'],
  ['GET', 'DESC', 'nas-ups'],
  ['GET', 'CMDDESC', 'nas-ups'],
  ['GET', 'TYPE', 'nas-ups'],
  ['GET', 'NUMLOGINS'],
  ['GET', 'UPSDESC'],
  ['LIST', 'VAR'],
  ['LIST', 'CLIENT'],
  ['LIST', 'ENUM', 'nas-ups'],
  ['LIST', 'RANGE', 'nas-ups'],
  ['USERNAME'],
  ['PASSWORD'],
  ['LOGIN'],
  ['INSTCMD', 'nas-ups'],
  ['SET', 'VAR', 'nas-ups'],
);
const words = fc.tuple(prefix, fc.array(word, { maxLength: 4 })).map(([head, tail]) => [...head, ...tail]);

/** One reply is one line, or one LIST block; no line carries a line end or a control character. */
function assertOneReply(lines: readonly string[]): void {
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) expect(line).not.toMatch(/[\n\r\0]/);
  const [first] = lines;
  if (first?.startsWith('BEGIN LIST ')) {
    expect(lines.at(-1)).toBe(`END LIST ${first.slice('BEGIN LIST '.length)}`);
  } else expect(lines).toHaveLength(1);
}

describe('attack: fuzzed NUT commands into the server', () => {
  it('a session answers every command, in any order, with exactly one well-formed reply', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(words, { minLength: 1, maxLength: 12 }), async (commands) => {
        const session = createNutSession({
          connectionId: 1,
          address: '127.0.0.1',
          source,
          auth,
          version: '2.8.0',
          tlsConfigured: false,
          clients: () => [],
          emit: () => undefined,
        });
        for (const command of commands) {
          const reply = await session.handle(command);
          assertOneReply(reply.lines);
          if (reply.after === 'close') break;
        }
        session.closed();
      }),
      { seed, numRuns: 1_000 },
    );
  });

  it('the command reader takes any bytes, with words and lines bounded', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 2_000 }), { maxLength: 8 }), (chunks) => {
        const reader = createCommandReader();
        for (const chunk of chunks) {
          for (const command of reader.push(chunk)) {
            expect(command.length).toBeLessThanOrEqual(32);
            for (const w of command) expect(w).toMatch(/^[\x20-\x7f]{0,512}$/);
          }
        }
      }),
      { seed, numRuns: 500 },
    );
  });

  describe('over a socket', () => {
    let server: NutServer;
    beforeAll(async () => {
      server = await createNutServer({ source, auth, port: 0 });
    });
    afterAll(async () => {
      await server?.close();
    });

    it('stays up whatever bytes arrive, and answers the next client', async () => {
      const bytes = fc.oneof(
        fc.array(words, { maxLength: 8 }).map((lines) => `${lines.map((w) => w.join(' ')).join('\n')}\n`),
        fc.string({ unit: 'binary', maxLength: 400 }),
        fc.integer({ min: 1, max: 4 }).map((n) => `${'x '.repeat(n * 20_000)}\n`),
      );
      await fc.assert(
        fc.asyncProperty(bytes, async (text) => {
          const raw = await openRawNut(server.port);
          raw.write(text);
          raw.close();
          const next = await openRawNut(server.port);
          expect(await next.send('VER\n', 1)).toEqual([
            'Network UPS Tools upsd 2.8.0 - http://www.networkupstools.org/\n',
          ]);
          next.close();
        }),
        { seed, numRuns: 60 },
      );
    }, 60_000);
  });
});
