import { describe, expect, it } from 'vitest';
import { parseDevFile } from './dev-file.js';

/** Joins lines with \n; `\t` in a line is a real tab. */
const file = (...lines: string[]): string => `${lines.join('\n')}\n`;

describe('parseDevFile: the DDL format', () => {
  it('reads name: value lines and skips the header block, comments and blank lines', () => {
    const text = file(
      '# DEVICE:URL:REPORT: https://github.com/networkupstools/nut/issues/1970',
      '',
      '# DEVICE:COMMENT',
      '# `upsc ups` gave me',
      '# ups.status: OB DISCHRG',
      '# DEVICE:EOC',
      '',
      'battery.charge: 100',
      'device.model: BK650M2-CH',
      'ups.status: OL DISCHRG',
      '',
      '# DEVICE:COMMENT-BLOCK: Detailed data dump',
      '# ups.status: OB',
      '# DEVICE:EOC',
    );
    expect(parseDevFile(text)).toEqual({
      vars: { 'battery.charge': '100', 'device.model': 'BK650M2-CH', 'ups.status': 'OL DISCHRG' },
      warnings: [],
    });
  });

  it.each([
    ['ups.status: OL OFF #BAD: not really off', 'OL OFF'],
    ['ups.status: OL OB\t#BAD: Actually the UPS is online.', 'OL OB'],
    ['ups.status: \t#BAD: always empty', ''],
    ['ups.serial:', ''],
    ['device.serial:\t#COMMENT: masked by user', ''],
    ['ups.test.result: Done and passed', 'Done and passed'],
    ['ups.time: 12:34:56', '12:34:56'],
    [
      'device.model: Eaton ePDU MA 1P IN:IEC309 32A OUT:20xC13, 4xC19',
      'Eaton ePDU MA 1P IN:IEC309 32A OUT:20xC13, 4xC19',
    ],
    ['battery.mfr.date: 2001/01/01', '2001/01/01'],
    ['ups.model:  850', '850'],
    ['ups.model: POWERWARE UPS   \\\\ 1000i', 'POWERWARE UPS \\ 1000i'],
    // As dummy-ups reads them (parseconf): a # starts a comment anywhere, = is a word of its own.
    ['ups.serial: ####', ''],
    ['ups.model: Unknown #BC1200     (1.650)', 'Unknown'],
    ['ups.firmware: UPS 08.8 / ID=18', 'UPS 08.8 / ID = 18'],
    ['device.part: "quoted  value"', 'quoted  value'],
    ['   ups.load: 5   ', '5'],
  ])('%j → %j', (line, value) => {
    const { vars, warnings } = parseDevFile(file(line));
    expect(Object.values(vars)).toEqual([value]);
    expect(warnings).toEqual([]);
  });

  it('reads CRLF files and files without a final newline', () => {
    expect(parseDevFile('ups.status: OL\r\nups.load: 5').vars).toEqual({
      'ups.status': 'OL',
      'ups.load': '5',
    });
  });
});

describe('parseDevFile: dummy-ups instructions', () => {
  it('skips TIMER and ALARM, flattening a sequence so that the last value wins', () => {
    const { vars, warnings } = parseDevFile(
      file('ups.status: OL', 'TIMER 5', 'ALARM Replace battery!', 'ups.status: OB', 'ALARM', 'TIMER 300'),
    );
    expect(vars).toEqual({ 'ups.status': 'OB' });
    expect(warnings).toEqual(['line 4: ups.status repeated; the last value wins']);
  });

  it('warns about a TIMER without seconds', () => {
    expect(parseDevFile(file('TIMER soon')).warnings).toEqual(['line 1: TIMER without seconds']);
  });
});

describe('parseDevFile: odd lines warn and never throw', () => {
  it('skips lines that are not name: value, naming the line', () => {
    const { vars, warnings } = parseDevFile(
      file('ups.status: OL', 'garbage here', ': no name', 'bad name!: x', 'ups.load: 7'),
    );
    expect(vars).toEqual({ 'ups.status': 'OL', 'ups.load': '7' });
    expect(warnings).toEqual([
      'line 2: not a "name: value" line: "garbage here"; line skipped',
      'line 3: not a "name: value" line: ": no name"; line skipped',
      'line 4: not a "name: value" line: "bad name!: x"; line skipped',
    ]);
  });

  it('skips a line with an unbalanced quote or a dangling backslash', () => {
    const { vars, warnings } = parseDevFile(file('ups.mfr: "Exide', 'ups.model: UPS 2400 VA', 'ups.id: x\\'));
    expect(vars).toEqual({ 'ups.model': 'UPS 2400 VA' });
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^line 1: .*quote.*; line skipped$/);
    expect(warnings[1]).toMatch(/^line 3: .*backslash.*; line skipped$/);
  });

  it('keeps a value glued to its colon, with a warning', () => {
    expect(parseDevFile(file('ups.status:OL CHRG'))).toEqual({
      vars: { 'ups.status': 'OL CHRG' },
      warnings: ['line 1: no space after "ups.status:"; value kept (dummy-ups would drop it)'],
    });
  });

  it('reads data inside an unclosed header block, and says so', () => {
    const { vars, warnings } = parseDevFile(
      file('# DEVICE:COMMENT', '# text', 'ups.status: OL', '# DEVICE:EOC', '# DEVICE:EOC'),
    );
    expect(vars).toEqual({ 'ups.status': 'OL' });
    expect(warnings).toEqual([
      'line 3: data inside the DEVICE:COMMENT block of line 1; read as data',
      'line 5: DEVICE:EOC without a DEVICE:COMMENT block',
    ]);
    expect(parseDevFile(file('# DEVICE:COMMENT', 'ups.status: OL')).warnings).toContain(
      'line 1: DEVICE:COMMENT block never closed by DEVICE:EOC',
    );
  });

  it('returns nothing, quietly, for an empty file; a __proto__ name is a plain key', () => {
    expect(parseDevFile('')).toEqual({ vars: {}, warnings: [] });
    const { vars } = parseDevFile(file('__proto__: x'));
    expect(Object.keys(vars)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(vars)).toBe(Object.prototype);
  });
});
