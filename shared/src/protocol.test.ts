import { describe, expect, it } from 'vitest';
import { ProtocolError } from './errors.js';
import {
  type AgentMessage,
  CloseCode,
  type CoordinatorMessage,
  closeCodeName,
  encodeMessage,
  NameSchema,
  PROTOCOL_VERSION,
  parseAgentMessage,
  parseCoordinatorMessage,
  powerStateOf,
} from './protocol.js';

/** Runs `parse` and returns the ProtocolError it throws; fails the test if it throws nothing or something else. */
function protocolErrorOf(parse: () => unknown): ProtocolError {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    if (error instanceof ProtocolError) return error;
  }
  throw new Error('expected a ProtocolError, but the frame was accepted');
}

const agentFrames: ReadonlyArray<[string, AgentMessage]> = [
  ['hello', { type: 'hello', protocol: PROTOCOL_VERSION, version: '0.1.0', roles: ['host', 'watcher'] }],
  ['event', { type: 'event', token: 'eyJhbGciOiJFZERTQSJ9.e30.c2ln' }],
  ['ack accepted', { type: 'ack', orderId: 'order-1', status: 'accepted' }],
  ['ack rejected with reason', { type: 'ack', orderId: 'order-1', status: 'rejected', reason: 'expired' }],
  ['result started', { type: 'result', orderId: 'order-1', outcome: 'started' }],
  [
    'result failed with details',
    {
      type: 'result',
      orderId: 'order-1',
      outcome: 'failed',
      exitCode: 1,
      signal: null,
      output: 'systemctl: permission denied\n',
      error: 'exit code 1',
    },
  ],
  [
    'result killed by signal',
    { type: 'result', orderId: 'o', outcome: 'failed', exitCode: null, signal: 'SIGKILL' },
  ],
  ['result drill', { type: 'result', orderId: 'o', outcome: 'drill' }],
  [
    'offline report',
    {
      type: 'offline-report',
      id: 'offline:1700000000000',
      lostAt: 1_700_000_000_000,
      steps: [
        { at: 1_700_000_000_000, what: 'lost', detail: 'no valid lease' },
        { at: 1_700_000_030_000, what: 'shutdown', detail: 'started' },
      ],
      shutdown: { at: 1_700_000_030_000, rule: 'offline', stage: 'apps' },
    },
  ],
  [
    'host reading',
    {
      type: 'host-reading',
      readings: [
        { ups: 'nas-ups', status: ['OB', 'DISCHRG'], dead: false, at: 1_700_000_000_000 },
        { ups: 'b-ups', status: null, reason: 'access-denied', dead: false, at: 1_700_000_000_000 },
      ],
      warnings: [],
    },
  ],
];

const coordinatorFrames: ReadonlyArray<[string, CoordinatorMessage]> = [
  [
    'welcome',
    {
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      agentId: 'a-1',
      name: 'web-1',
      serverTime: 1_700_000_000_000,
    },
  ],
  ['order', { type: 'order', token: 'eyJhbGciOiJFZERTQSJ9.e30.c2ln' }],
  ['event-ack', { type: 'event-ack', seq: 42 }],
  ['error', { type: 'error', code: 'bad_event', message: 'event claims invalid' }],
  ['lease', { type: 'lease', token: 'eyJhbGciOiJFZERTQSJ9.e30.c2ln' }],
  ['offline-ack', { type: 'offline-ack', id: 'offline:1700000000000' }],
];

describe('agent → coordinator frames', () => {
  it.each(agentFrames)('%s round-trips through encodeMessage and parseAgentMessage', (_name, message) => {
    expect(parseAgentMessage(encodeMessage(message))).toEqual(message);
  });

  it('covers every agent frame type', () => {
    expect(new Set(agentFrames.map(([, m]) => m.type))).toEqual(
      new Set(['hello', 'event', 'ack', 'result', 'offline-report', 'host-reading']),
    );
  });

  it('refuses a coordinator frame sent by an agent', () => {
    const error = protocolErrorOf(() =>
      parseAgentMessage(encodeMessage({ type: 'order', token: 'eyJhbGciOiJFZERTQSJ9.e30.c2ln' })),
    );
    expect(error.message).toContain('"order"');
  });
});

describe('coordinator → agent frames', () => {
  it.each(coordinatorFrames)(
    '%s round-trips through encodeMessage and parseCoordinatorMessage',
    (_name, message) => {
      expect(parseCoordinatorMessage(encodeMessage(message))).toEqual(message);
    },
  );

  it('covers every coordinator frame type', () => {
    expect(new Set(coordinatorFrames.map(([, m]) => m.type))).toEqual(
      new Set(['welcome', 'order', 'event-ack', 'error', 'lease', 'offline-ack']),
    );
  });

  it('refuses an agent frame sent by the coordinator', () => {
    const error = protocolErrorOf(() =>
      parseCoordinatorMessage(encodeMessage({ type: 'ack', orderId: 'o', status: 'accepted' })),
    );
    expect(error.message).toContain('"ack"');
  });
});

describe('bad frames become a ProtocolError with a useful message', () => {
  it('not JSON', () => {
    const error = protocolErrorOf(() => parseAgentMessage('{"type": "hello",'));
    expect(error.code).toBe('protocol');
    expect(error.message).toMatch(/not JSON/);
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it('names the direction', () => {
    expect(protocolErrorOf(() => parseAgentMessage('nope')).message).toMatch(/^agent frame/);
    expect(protocolErrorOf(() => parseCoordinatorMessage('nope')).message).toMatch(/^coordinator frame/);
  });

  it.each([
    ['an object without type', '{"token":"x"}'],
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"hello"'],
    ['an array', '[{"type":"hello"}]'],
  ])('no type: %s', (_name, raw) => {
    expect(protocolErrorOf(() => parseAgentMessage(raw)).message).toMatch(/has no type/);
  });

  it('unknown type, named in the message', () => {
    const error = protocolErrorOf(() => parseAgentMessage('{"type":"reboot-everything"}'));
    expect(error.message).toContain('"reboot-everything"');
    expect(error.details).toEqual({ type: 'reboot-everything' });
  });

  it.each([
    [
      'hello with protocol as a string',
      { type: 'hello', protocol: '1', version: '1', roles: ['host'] },
      'protocol',
    ],
    [
      'hello with a fractional protocol',
      { type: 'hello', protocol: 1.5, version: '1', roles: ['host'] },
      'protocol',
    ],
    ['hello without roles', { type: 'hello', protocol: 1, version: '1', roles: [] }, 'roles'],
    ['hello with an unknown role', { type: 'hello', protocol: 1, version: '1', roles: ['admin'] }, 'roles'],
    ['ack with an unknown status', { type: 'ack', orderId: 'o', status: 'maybe' }, 'status'],
    ['ack with a numeric orderId', { type: 'ack', orderId: 7, status: 'accepted' }, 'orderId'],
    ['ack with an empty orderId', { type: 'ack', orderId: '', status: 'accepted' }, 'orderId'],
    [
      'result with exitCode as a string',
      { type: 'result', orderId: 'o', outcome: 'failed', exitCode: '1' },
      'exitCode',
    ],
    ['event with an empty token', { type: 'event', token: '' }, 'token'],
  ])('wrong field type: %s', (_name, frame, field) => {
    const error = protocolErrorOf(() => parseAgentMessage(JSON.stringify(frame)));
    expect(error.message).toContain(`"${frame.type}"`);
    expect(error.message).toContain(field);
  });

  it.each([
    [
      'welcome with serverTime as a string',
      { type: 'welcome', protocol: 1, agentId: 'a', name: 'n', serverTime: 'now' },
      'serverTime',
    ],
    ['event-ack with a negative seq', { type: 'event-ack', seq: -1 }, 'seq'],
    ['order without token', { type: 'order' }, 'token'],
  ])('wrong field type (coordinator): %s', (_name, frame, field) => {
    const error = protocolErrorOf(() => parseCoordinatorMessage(JSON.stringify(frame)));
    expect(error.message).toContain(`"${frame.type}"`);
    expect(error.message).toContain(field);
  });

  it.each([
    ['hello version', { type: 'hello', protocol: 1, version: 'v'.repeat(65), roles: ['host'] }, 'version'],
    ['ack reason', { type: 'ack', orderId: 'o', status: 'rejected', reason: 'r'.repeat(513) }, 'reason'],
    ['ack orderId', { type: 'ack', orderId: 'o'.repeat(129), status: 'accepted' }, 'orderId'],
    [
      'result output',
      { type: 'result', orderId: 'o', outcome: 'failed', output: 'x'.repeat(4097) },
      'output',
    ],
    ['event token', { type: 'event', token: 't'.repeat(16 * 1024 + 1) }, 'token'],
  ])('over-long string: %s', (_name, frame, field) => {
    const error = protocolErrorOf(() => parseAgentMessage(JSON.stringify(frame)));
    expect(error.message).toContain(field);
  });

  it('accepts strings exactly at their limit', () => {
    const frame = { type: 'ack', orderId: 'o'.repeat(128), status: 'rejected', reason: 'r'.repeat(512) };
    expect(parseAgentMessage(JSON.stringify(frame))).toEqual(frame);
  });

  it.each([
    ['error message', { type: 'error', code: 'x', message: 'm'.repeat(513) }, 'message'],
    ['error code', { type: 'error', code: 'c'.repeat(65), message: 'm' }, 'code'],
  ])('over-long string (coordinator): %s', (_name, frame, field) => {
    const error = protocolErrorOf(() => parseCoordinatorMessage(JSON.stringify(frame)));
    expect(error.message).toContain(field);
  });
});

describe('NameSchema', () => {
  it.each(['web-1', 'nas.ups', 'ups_main', 'A', '1rack', 'x'.repeat(63)])('accepts %j', (name) => {
    expect(NameSchema.safeParse(name).success).toBe(true);
  });

  it.each([
    ['a path', '../x'],
    ['a slash', 'a/b'],
    ['a space', 'a b'],
    ['empty', ''],
    ['64 characters', 'x'.repeat(64)],
    ['a leading dot', '.hidden'],
    ['a leading dash', '-rf'],
    ['a trailing newline', 'web-1\n'],
    ['an @ (NUT host syntax)', 'ups@host'],
    ['non-ASCII letters', 'wéb'],
  ])('refuses %s', (_name, name) => {
    expect(NameSchema.safeParse(name).success).toBe(false);
  });
});

describe('powerStateOf', () => {
  const words = (status: string): string[] => status.split(' ').filter((word) => word !== '');

  it.each([
    ['OL', 'online'],
    ['OL CHRG', 'online'],
    ['FSD OL', 'online'],
    ['ol', 'online'],
    ['OB DISCHRG', 'battery'],
    ['OB LB', 'battery'],
    ['FSD OB LB', 'battery'],
    // Driver bugs seen on units that are online (DDL): OL wins, so no false shutdown.
    ['OL OB', 'online'],
    ['OB OL', 'online'],
    ['OL DISCHRG OB', 'online'],
    ['OL DISCHRG', 'online'],
    ['DISCHRG', 'unknown'],
    ['WAIT', 'unknown'],
    ['', 'unknown'],
    ['LB', 'unknown'],
  ])('%j → %s', (status, expected) => {
    expect(powerStateOf(words(status))).toBe(expected);
  });

  it('null (no data) is unknown, never battery', () => {
    expect(powerStateOf(null)).toBe('unknown');
  });
});

describe('closeCodeName', () => {
  it.each([
    [CloseCode.Normal, 'Normal'],
    [1009, 'MessageTooBig'],
    [4400, 'ProtocolError'],
    [4401, 'Unauthorized'],
    [4403, 'Revoked'],
    [4408, 'HeartbeatTimeout'],
    [4409, 'Replaced'],
    [4426, 'UnsupportedVersion'],
  ])('%i → %s', (code, name) => {
    expect(closeCodeName(code)).toBe(name);
  });

  it('an unknown code is shown as a number', () => {
    expect(closeCodeName(4999)).toBe('code 4999');
  });

  it('every close code has a distinct value', () => {
    const values = Object.values(CloseCode);
    expect(new Set(values).size).toBe(values.length);
  });
});
