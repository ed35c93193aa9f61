import { describe, expect, it } from 'vitest';
import { bare, findExchange, loadTranscript, RECORDED } from '../../../test/nut/transcript.js';
import { NutProtocolError } from './errors.js';
import { nutCommand, quote, tokenize } from './protocol.js';

const recorded = loadTranscript(RECORDED);

describe('tokenize (parseconf rules)', () => {
  it.each([
    ['VAR ups ups.status "OL"', ['VAR', 'ups', 'ups.status', 'OL']],
    ['VAR ups device.model "Simulated UPS"', ['VAR', 'ups', 'device.model', 'Simulated UPS']],
    ['VAR ups x ""', ['VAR', 'ups', 'x', '']],
    ['VAR ups x "a \\"q\\" b\\\\c"', ['VAR', 'ups', 'x', 'a "q" b\\c']],
    ['VAR ups x "model \\#5"', ['VAR', 'ups', 'x', 'model #5']],
    ['VAR ups x "a#b"', ['VAR', 'ups', 'x', 'a#b']],
    ['a\\ b c', ['a b', 'c']],
    ['\\"quoted\\"', ['"quoted"']],
    ['ab"c', ['ab"c']],
    ['"a"b', ['a', 'b']],
    ['  \tspaced \t words  ', ['spaced', 'words']],
    ['word # a comment', ['word']],
    ['word# glued comment', ['word']],
    ['# only a comment', []],
    ['', []],
    ['key=value', ['key', '=', 'value']],
    ['=x', ['=', 'x']],
    ['VAR ups x "OL"\r', ['VAR', 'ups', 'x', 'OL']],
  ])('%j → %j', (line, words) => {
    expect(tokenize(line)).toEqual(words);
  });

  it.each(['VAR ups x "OL', '"', 'VAR ups x "a\\"', 'trailing\\'])('throws a syntax error on %j', (line) => {
    expect(() => tokenize(line)).toThrow(NutProtocolError);
    try {
      tokenize(line);
    } catch (error) {
      expect(error).toMatchObject({ reason: 'syntax', code: 'protocol' });
    }
  });

  it('splits every recorded upsd reply that carries quoted words', () => {
    const replies = recorded.flatMap((e) => e.replies.map(bare)).filter((line) => line.includes('"'));
    expect(replies.length).toBeGreaterThan(50);
    for (const line of replies) {
      const words = tokenize(line);
      // Exactly one quoted word per recorded reply, at the end, with no quote left inside.
      expect(words.at(-1)).toBe(line.slice(line.indexOf('"') + 1, -1));
    }
  });
});

describe('quote', () => {
  it.each([
    ['secpass', '"secpass"'],
    ['', '""'],
    ['a "q" b\\c', '"a \\"q\\" b\\\\c"'],
    ['pa#ss', '"pa\\#ss"'],
    ['with space', '"with space"'],
  ])('%j → %j', (value, quoted) => {
    expect(quote(value)).toBe(quoted);
  });

  it.each(['a "q" b\\c', 'p#ss w"rd\\', '\\\\', '#', '"', ' lead and trail '])(
    'round-trips %j through tokenize',
    (value) => {
      expect(tokenize(`PASSWORD ${quote(value)}`)).toEqual(['PASSWORD', value]);
    },
  );

  it.each(['a\nFSD ups', 'a\rb', 'nul\0', 'tab\t', 'del\x7f', 'ünïcode'])('refuses %j', (value) => {
    expect(() => quote(value)).toThrow(/control or non-ASCII/);
  });
});

describe('nutCommand', () => {
  it('formats the commands exactly as the recorded client sent them', () => {
    const cases = [
      [nutCommand.ver(), 'VER'],
      [nutCommand.netver(), 'NETVER'],
      [nutCommand.protver(), 'PROTVER'],
      [nutCommand.help(), 'HELP'],
      [nutCommand.listUps(), 'LIST UPS'],
      [nutCommand.listVar('ups'), 'LIST VAR ups'],
      [nutCommand.listCmd('ups'), 'LIST CMD ups'],
      [nutCommand.getVar('ups', 'ups.status'), 'GET VAR ups ups.status'],
      [nutCommand.login('ups'), 'LOGIN ups'],
      [nutCommand.logout(), 'LOGOUT'],
      [nutCommand.instcmd('ups', 'load.off'), 'INSTCMD ups load.off'],
      [nutCommand.starttls(), 'STARTTLS'],
    ] as const;
    for (const [command, line] of cases) {
      expect(command.line).toBe(line);
      expect(`${command.line}\n`).toBe(findExchange(recorded, line).request);
    }
  });

  it('quotes credentials and INSTCMD parameters, and redacts the password in the label', () => {
    expect(nutCommand.username('monsec').line).toBe('USERNAME "monsec"');
    const password = nutCommand.password('s3cr#t"');
    expect(password.line).toBe('PASSWORD "s3cr\\#t\\""');
    expect(password.label).toBe('PASSWORD ***');
    expect(nutCommand.instcmd('ups', 'load.off.delay', '120').line).toBe('INSTCMD ups load.off.delay "120"');
  });

  it('describes the reply it expects and the UPS it is about', () => {
    expect(nutCommand.listVar('ups')).toMatchObject({ shape: 'list', ups: 'ups' });
    expect(nutCommand.getVar('ups', 'ups.status')).toMatchObject({ shape: 'line', ups: 'ups' });
    expect(nutCommand.ver()).toMatchObject({ shape: 'line', ups: undefined });
  });

  it.each([
    () => nutCommand.getVar('ups\nFSD ups', 'ups.status'),
    () => nutCommand.getVar('ups', 'ups.status\r\nFSD ups'),
    () => nutCommand.listVar('my ups'),
    () => nutCommand.login('ups"'),
    () => nutCommand.instcmd('ups', 'load.off', 'x\nFSD ups'),
    () => nutCommand.username('monsec\nFSD ups'),
    () => nutCommand.password('x\0'),
    () => nutCommand.getVar('', 'ups.status'),
  ])('refuses an argument that could inject a command (%#)', (format) => {
    expect(format).toThrow(NutProtocolError);
  });
});
