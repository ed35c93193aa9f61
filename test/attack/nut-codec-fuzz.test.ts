/**
 * Attack: a broken or hostile upsd. Property-based (fast-check, fixed seeds, bounded runs): whatever
 * bytes come back, the agent's NUT codec (line framer, tokenizer, reply parsers) returns a value or
 * throws one of its typed errors (NutError for `ERR …`, NutProtocolError for anything unreadable),
 * never anything else; and the real client over a socket always settles (a value, or a typed
 * error; a reply that never completes times out) instead of hanging.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNutClient } from '../../agent/src/nut/client.js';
import { NutConnectionError, NutError, NutProtocolError } from '../../agent/src/nut/errors.js';
import { createLineFramer } from '../../agent/src/nut/line-framer.js';
import { type NutCommand, nutCommand, tokenize } from '../../agent/src/nut/protocol.js';
import {
  isReplyComplete,
  parseGoodbyeReply,
  parseListCmd,
  parseListUps,
  parseListVar,
  parseOkReply,
  parseTextReply,
  parseVarReply,
  toNutError,
} from '../../agent/src/nut/replies.js';
import { chooseSeed } from '../helpers/seeded-random.js';
import { type FakeUpsd, startFakeUpsd } from '../nut/fake-upsd.js';

const seed = chooseSeed('UPSFLEET_FUZZ_SEED', 'NUT codec fuzzing', 20_240_601);

/** Words upsd's replies are made of, and the characters its tokenizer treats specially. */
const word = fc.oneof(
  fc.constantFrom(
    'VAR',
    'UPS',
    'CMD',
    'OK',
    'ERR',
    'BEGIN',
    'END',
    'LIST',
    'ups',
    'UPS',
    'ups.status',
    'battery.charge',
    'TRACKING',
    'Goodbye',
    'DATA-STALE',
    'ACCESS-DENIED',
    '"',
    '""',
    '\\',
    '\\"',
    '#',
    '=',
    '"OB LB"',
    '"unterminated',
  ),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
);
const line = fc.array(word, { maxLength: 8 }).map((words) => words.join(' '));
/** A reply: a single line or something shaped like a LIST block (often a broken one). */
const reply = fc.oneof(
  fc.array(line, { minLength: 1, maxLength: 3 }),
  fc
    .tuple(
      fc.constantFrom('BEGIN LIST VAR ups', 'BEGIN LIST UPS', 'BEGIN LIST CMD ups', 'BEGIN LIST VAR other'),
      fc.array(line, { maxLength: 6 }),
      fc.constantFrom('END LIST VAR ups', 'END LIST UPS', 'END LIST CMD ups', 'END LIST', 'ERR UNKNOWN-UPS'),
    )
    .map(([begin, body, end]) => [begin, ...body, end]),
);

function isTyped(error: unknown): boolean {
  return error instanceof NutError || error instanceof NutProtocolError;
}

/** Calls `fn`; a throw other than the codec's typed errors fails the property with its stack. */
function typedOrValue(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (!isTyped(error)) throw new Error(`untyped error: ${String(error)}`, { cause: error });
  }
}

const commands: readonly NutCommand[] = [
  nutCommand.getVar('ups', 'ups.status'),
  nutCommand.listVar('ups'),
  nutCommand.listUps(),
  nutCommand.listCmd('ups'),
  nutCommand.ver(),
  nutCommand.logout(),
];

describe('attack: fuzzed NUT replies into the agent', () => {
  it('the line framer yields bounded lines or refuses with line-too-long, and stays refused', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 96 }), { maxLength: 12 }),
        fc.integer({ min: 1, max: 64 }),
        (chunks, maxLineBytes) => {
          const framer = createLineFramer({ maxLineBytes });
          let failed: NutProtocolError | undefined;
          for (const chunk of chunks) {
            try {
              const lines = framer.push(chunk);
              expect(failed, 'a framer that refused once must keep refusing').toBeUndefined();
              for (const text of lines) {
                expect(text).not.toContain('\n');
                expect(Buffer.byteLength(text)).toBeLessThanOrEqual(maxLineBytes * 3);
              }
              expect(framer.buffered).toBeLessThanOrEqual(maxLineBytes + 1);
            } catch (error) {
              if (!(error instanceof NutProtocolError)) throw error;
              expect(error.reason).toBe('line-too-long');
              failed = error;
            }
          }
        },
      ),
      { seed, numRuns: 400 },
    );
  });

  it('the tokenizer and every reply parser return a value or throw NutError / NutProtocolError', () => {
    fc.assert(
      fc.property(reply, fc.constantFrom(...commands), (lines, command) => {
        for (const text of lines) {
          typedOrValue(() => tokenize(text));
          typedOrValue(() => toNutError(text, command));
        }
        typedOrValue(() => isReplyComplete(command, lines));
        typedOrValue(() => parseVarReply(lines, command, 'ups', 'ups.status'));
        typedOrValue(() => parseListVar(lines, command, 'ups'));
        typedOrValue(() => parseListUps(lines, command));
        typedOrValue(() => parseListCmd(lines, command, 'ups'));
        typedOrValue(() => parseOkReply(lines, command));
        typedOrValue(() => parseTextReply(lines, command));
        typedOrValue(() => parseGoodbyeReply(lines, command));
      }),
      { seed, numRuns: 1_000 },
    );
  });

  describe('the client over a socket', () => {
    let upsd: FakeUpsd;
    /** What the fake upsd answers to the next command (raw bytes, terminators included or not). */
    let answer = '';

    beforeAll(async () => {
      upsd = await startFakeUpsd((_line, connection) => connection.write(answer));
    });

    afterAll(async () => {
      await upsd?.close();
    });

    it('always settles with a value or a typed error, even when the reply never ends', async () => {
      const bytes = fc.oneof(
        reply.map((lines) => `${lines.join('\n')}\n`),
        reply.map((lines) => lines.join('\n')),
        fc.string({ unit: 'binary', maxLength: 200 }),
        fc.integer({ min: 1, max: 4 }).map((n) => `${'x'.repeat(n * 5_000)}\n`),
      );
      await fc.assert(
        fc.asyncProperty(
          bytes,
          fc.constantFrom('getVar', 'listVar', 'listUps', 'ver'),
          async (text, call) => {
            answer = text;
            const client = await createNutClient({
              host: upsd.host,
              port: upsd.port,
              timeoutMs: 250,
              keepAliveMs: 0,
            });
            try {
              const pending =
                call === 'getVar'
                  ? client.getVar('ups', 'ups.status')
                  : call === 'listVar'
                    ? client.listVar('ups')
                    : call === 'listUps'
                      ? client.listUps()
                      : client.ver();
              await pending.catch((error: unknown) => {
                if (!(isTyped(error) || error instanceof NutConnectionError)) throw error;
              });
            } finally {
              await client.close();
            }
          },
        ),
        { seed, numRuns: 40 },
      );
    }, 60_000);
  });
});
