/**
 * Attack: fuzzed WebSocket frames into the shared protocol's decoders (parseAgentMessage on the
 * coordinator, parseCoordinatorMessage on every agent). Property-based, fixed seed, bounded runs:
 * a frame is either a well-formed message of a known type that survives a round trip through
 * encodeMessage, or a ProtocolError, never another exception. Inputs: any text, any JSON, and valid
 * frames of every type with one to three parts replaced, removed, or given a risky key.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../shared/src/errors.js';
import {
  type AgentMessage,
  type CoordinatorMessage,
  encodeMessage,
  parseAgentMessage,
  parseCoordinatorMessage,
} from '../../shared/src/protocol.js';
import { type Json, mutateJson, mutation, riskyObject } from '../helpers/fuzz-json.js';
import { chooseSeed } from '../helpers/seeded-random.js';

const seed = chooseSeed('UPSFLEET_FUZZ_SEED', 'protocol frame fuzzing', 20_240_603);

const TOKEN = 'eyJhbGciOiJFZERTQSJ9.eyJzZXEiOjF9.c2lnbmF0dXJl';
const ORDER_ID = '8d0c6a52-6a55-4a55-9b0e-2a3e8f3f0c11';

const agentFrames: AgentMessage[] = [
  { type: 'hello', protocol: 1, version: '0.1.0', roles: ['host', 'watcher'] },
  { type: 'event', token: TOKEN },
  { type: 'ack', orderId: ORDER_ID, status: 'rejected', reason: 'bad_signature' },
  {
    type: 'result',
    orderId: ORDER_ID,
    outcome: 'failed',
    exitCode: 1,
    signal: null,
    output: 'x',
    error: 'y',
  },
  { type: 'progress', orderId: ORDER_ID, step: 'stop-vms', state: 'timed-out', exitCode: null, output: '' },
];
const coordinatorFrames: CoordinatorMessage[] = [
  { type: 'welcome', protocol: 1, agentId: ORDER_ID, name: 'web1', serverTime: 1_700_000_000_000 },
  { type: 'order', token: TOKEN },
  { type: 'event-ack', seq: 7, duplicate: true },
  { type: 'error', code: 'signature', message: 'bad', seq: 3 },
  { type: 'briefing', token: TOKEN },
  { type: 'rekey', token: TOKEN },
];

const values: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  riskyObject,
  fc.constantFrom('hello', 'order', 'ack', 'accepted', -1, 2 ** 53, 1e308, '', 'x'.repeat(70_000)),
);

function frames<T>(valid: readonly T[]): fc.Arbitrary<string> {
  const mutated = fc
    .tuple(fc.constantFrom(...valid), fc.array(mutation(values), { minLength: 1, maxLength: 3 }))
    .map(([frame, changes]) =>
      changes.reduce<Json>(
        (doc, [pick, how, value]) => mutateJson(doc, pick, how, value),
        frame as unknown as Json,
      ),
    );
  return fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
    fc.constantFrom(...valid).map((frame) => JSON.stringify(frame)),
    mutated.map((frame) => JSON.stringify(frame) ?? 'null'),
  );
}

/** The decoder either returns a known message that round-trips, or throws a ProtocolError. */
function checkDecoder<T extends { type: string }>(
  parse: (raw: string) => T,
  types: readonly string[],
  raw: string,
): void {
  let message: T;
  try {
    message = parse(raw);
  } catch (error) {
    if (!(error instanceof ProtocolError))
      throw new Error(`not a ProtocolError: ${String(error)}`, { cause: error });
    expect(error.message).not.toBe('');
    return;
  }
  expect(types).toContain(message.type);
  expect(parse(encodeMessage(message as unknown as AgentMessage))).toEqual(message);
}

describe('attack: fuzzed WebSocket frames into the protocol decoders', () => {
  it('agent → coordinator frames', () => {
    const types = agentFrames.map((frame) => frame.type);
    fc.assert(
      fc.property(frames(agentFrames), (raw) => checkDecoder(parseAgentMessage, types, raw)),
      { seed, numRuns: 1_500 },
    );
  });

  it('coordinator → agent frames', () => {
    const types = coordinatorFrames.map((frame) => frame.type);
    fc.assert(
      fc.property(frames(coordinatorFrames), (raw) => checkDecoder(parseCoordinatorMessage, types, raw)),
      { seed, numRuns: 1_500 },
    );
  });
});
