import { describe, expect, it } from 'vitest';
import {
  bare,
  type Exchange,
  findExchange,
  loadTranscript,
  RECORDED,
  SYNTHETIC,
} from '../../../test/nut/transcript.js';
import { NUT_ERROR_CODES, NutError, NutProtocolError } from './errors.js';
import { nutCommand } from './protocol.js';
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
} from './replies.js';

const recorded = loadTranscript(RECORDED);
const synthetic = loadTranscript(SYNTHETIC);
const lines = (exchange: Exchange): string[] => exchange.replies.map(bare);

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('recorded upsd 2.8.0 replies', () => {
  it('VER, NETVER, PROTVER and HELP are bare text', () => {
    expect(parseTextReply(lines(findExchange(recorded, 'VER')), nutCommand.ver())).toBe(
      'Network UPS Tools upsd 2.8.0 - http://www.networkupstools.org/',
    );
    expect(parseTextReply(lines(findExchange(recorded, 'NETVER')), nutCommand.netver())).toBe('1.3');
    expect(parseTextReply(lines(findExchange(recorded, 'PROTVER')), nutCommand.protver())).toBe('1.3');
    expect(parseTextReply(lines(findExchange(recorded, 'HELP')), nutCommand.help())).toMatch(
      /^Commands: HELP VER/,
    );
  });

  it('LIST UPS, LIST VAR and LIST CMD blocks', () => {
    expect(parseListUps(lines(findExchange(recorded, 'LIST UPS')), nutCommand.listUps())).toEqual([
      { name: 'ups', description: 'nutpeer simulated UPS' },
    ]);
    const vars = parseListVar(
      lines(findExchange(recorded, 'LIST VAR ups')),
      nutCommand.listVar('ups'),
      'ups',
    );
    expect(Object.keys(vars)).toHaveLength(22);
    expect(vars).toMatchObject({
      'ups.status': 'OL',
      'device.model': 'Simulated UPS',
      'input.voltage': '230.0',
    });
    expect(
      parseListCmd(lines(findExchange(recorded, 'LIST CMD ups')), nutCommand.listCmd('ups'), 'ups'),
    ).toEqual(['load.off']);
  });

  it('FSD shows in ups.status in both GET VAR and LIST VAR', () => {
    const get = findExchange(recorded, 'GET VAR ups ups.status', 'J.');
    expect(parseVarReply(lines(get), nutCommand.getVar('ups', 'ups.status'), 'ups', 'ups.status')).toBe(
      'FSD OL',
    );
    const list = findExchange(recorded, 'LIST VAR ups', 'J.');
    expect(parseListVar(lines(list), nutCommand.listVar('ups'), 'ups')['ups.status']).toBe('FSD OL');
  });

  it('GET VAR matches echoed names case-insensitively', () => {
    const reply = lines(findExchange(recorded, 'GET VAR UPS ups.status'));
    expect(parseVarReply(reply, nutCommand.getVar('UPS', 'ups.status'), 'UPS', 'ups.status')).toBe('OL');
  });

  it('OK, OK Goodbye and OK TRACKING', () => {
    expect(parseOkReply(['OK'], nutCommand.login('ups'))).toEqual({ text: '', tracking: undefined });
    const tracked = lines(findExchange(recorded, 'INSTCMD ups load.off', 'F.', 1));
    expect(parseOkReply(tracked, nutCommand.instcmd('ups', 'load.off')).tracking).toBe(
      '98C489FD-821C-4132-9D93-4F6590B55E63',
    );
    expect(() =>
      parseGoodbyeReply(lines(findExchange(recorded, 'LOGOUT')), nutCommand.logout()),
    ).not.toThrow();
  });

  it('every recorded ERR becomes a NutError with the code, command and UPS', () => {
    const errs = recorded.filter((e) => e.replies.length === 1 && e.replies[0]?.startsWith('ERR '));
    expect(new Set(errs.map((e) => e.replies[0])).size).toBeGreaterThanOrEqual(14);
    for (const exchange of errs) {
      const command = { line: exchange.command, label: exchange.command, shape: 'line', ups: 'x' } as const;
      const error = toNutError(lines(exchange)[0] ?? '', command);
      expect(error).toBeInstanceOf(NutError);
      expect(error?.nutCode).toBe(bare(exchange.replies[0] ?? '').slice(4));
    }
    const stale = findExchange(recorded, 'GET VAR ups ups.status', 'I.');
    const error = thrown(() =>
      parseVarReply(lines(stale), nutCommand.getVar('ups', 'ups.status'), 'ups', 'ups.status'),
    );
    expect(error).toMatchObject({
      code: 'nut',
      nutCode: 'DATA-STALE',
      command: 'GET VAR ups ups.status',
      ups: 'ups',
    });
    expect(error).toHaveProperty('message', 'upsd ERR DATA-STALE for GET VAR ups ups.status');
  });

  it('ERR on a LIST is a NutError, and complete after one line', () => {
    const exchange = findExchange(recorded, 'LIST VAR nosuch');
    const command = nutCommand.listVar('nosuch');
    expect(isReplyComplete(command, lines(exchange))).toBe(true);
    expect(thrown(() => parseListVar(lines(exchange), command, 'nosuch'))).toMatchObject({
      nutCode: 'UNKNOWN-UPS',
    });
  });
});

describe('isReplyComplete', () => {
  it('waits for END LIST, including for an empty list', () => {
    const list = lines(findExchange(recorded, 'LIST VAR ups'));
    const command = nutCommand.listVar('ups');
    for (let n = 1; n < list.length; n++) expect(isReplyComplete(command, list.slice(0, n))).toBe(false);
    expect(isReplyComplete(command, list)).toBe(true);
    const empty = lines(findExchange(recorded, 'LIST ENUM ups ups.status'));
    expect(isReplyComplete(command, empty.slice(0, 1))).toBe(false);
    expect(isReplyComplete(command, empty)).toBe(true);
    expect(isReplyComplete(nutCommand.ver(), [])).toBe(false);
  });
});

describe('hand-written replies', () => {
  const getStatus = nutCommand.getVar('ups', 'ups.status');

  it.each([
    ['ups.mfr', 'a "q" b\\c'],
    ['ups.model', 'model #5'],
    ['ups.id', ''],
    ['ups.alarm', 'a#b'],
    ['ups.note', 'x  y'],
    ['ups.serial', 'SN-1'],
  ])('decodes %s as %j', (variable, value) => {
    const reply = lines(findExchange(synthetic, `GET VAR ups ${variable}`));
    expect(parseVarReply(reply, nutCommand.getVar('ups', variable), 'ups', variable)).toBe(value);
  });

  it('decodes escapes and empty values inside LIST blocks', () => {
    const vars = parseListVar(
      lines(findExchange(synthetic, 'LIST VAR ups')),
      nutCommand.listVar('ups'),
      'ups',
    );
    expect(vars).toEqual({
      'ups.mfr': 'a "q" b\\c',
      'ups.id': '',
      'ups.model': 'model #5',
      'ups.status': 'OB DISCHRG',
    });
    expect(parseListUps(lines(findExchange(synthetic, 'LIST UPS')), nutCommand.listUps())).toEqual([
      { name: 'ups', description: 'rack "A"' },
      { name: 'spare', description: '' },
    ]);
    expect(() =>
      parseGoodbyeReply(lines(findExchange(synthetic, 'LOGOUT')), nutCommand.logout()),
    ).not.toThrow();
  });

  it('maps every code of NUT.md’s table, and keeps unknown codes with their extra text', () => {
    const [known, unknown] = synthetic.filter((e) => e.section.startsWith('S2.'));
    const codes = (known?.replies ?? []).map((reply) => toNutError(bare(reply), getStatus)?.nutCode);
    expect(codes).toEqual([...NUT_ERROR_CODES]);
    const error = toNutError(bare(unknown?.replies[0] ?? ''), getStatus);
    expect(error).toMatchObject({
      nutCode: 'UNRECOGNIZED',
      rawCode: 'SOMETHING-NEW',
      extra: 'please upgrade',
    });
    expect(error?.message).toBe('upsd ERR SOMETHING-NEW (please upgrade) for GET VAR ups ups.status');
  });

  it.each([
    [0, 'list-mismatch'],
    [1, 'unexpected-reply'],
    [2, 'unexpected-reply'],
    [3, 'syntax'],
  ])('refuses broken LIST block #%i (%s)', (nth, reason) => {
    const exchange = findExchange(synthetic, 'LIST VAR ups', 'S3.', nth);
    const error = thrown(() => parseListVar(lines(exchange), nutCommand.listVar('ups'), 'ups'));
    expect(error).toBeInstanceOf(NutProtocolError);
    expect(error).toMatchObject({ reason });
  });

  it('refuses garbage single-line replies', () => {
    const garbage = synthetic.filter((e) => e.section.startsWith('S3.') && e.connection === 4);
    expect(garbage).toHaveLength(6);
    for (const exchange of garbage) {
      const command = exchange.command.startsWith('INSTCMD')
        ? nutCommand.instcmd('ups', 'load.off')
        : getStatus;
      const parse =
        command === getStatus
          ? () => parseVarReply(lines(exchange), command, 'ups', 'ups.status')
          : () => parseOkReply(lines(exchange), command);
      expect(thrown(parse), exchange.note).toBeInstanceOf(NutProtocolError);
    }
  });

  it('refuses a single-line reply of more than one line', () => {
    expect(thrown(() => parseTextReply(['1.3', '1.3'], nutCommand.netver()))).toMatchObject({
      reason: 'unexpected-reply',
    });
  });
});
