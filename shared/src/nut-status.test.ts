import { describe, expect, it } from 'vitest';
import {
  IGNORED_STATUS_TOKENS,
  interpretStatus,
  isKnownStatusToken,
  type PowerState,
  parseStatusWords,
  STATUS_TOKENS,
} from './nut-status.js';

describe('parseStatusWords', () => {
  it.each([
    ['OL', ['OL']],
    ['ol chrg', ['OL', 'CHRG']],
    ['  OB\tDISCHRG \n LB ', ['OB', 'DISCHRG', 'LB']],
    ['FSD OL', ['FSD', 'OL']],
    ['', []],
    ['   ', []],
  ])('%j → %j', (text, words) => {
    expect(parseStatusWords(text)).toEqual(words);
  });
});

describe('interpretStatus: power', () => {
  it.each<[string, PowerState]>([
    ['OL', 'online'],
    ['OL CHRG', 'online'],
    ['ol', 'online'],
    // The BK650M2-CH on mains; DISCHRG never means battery.
    ['OL DISCHRG', 'online'],
    ['OB DISCHRG', 'battery'],
    ['OB', 'battery'],
    ['OB LB RB', 'battery'],
    ['ALARM OB', 'battery'],
    // Driver bugs from the DDL on units that are online: OL wins.
    ['OL OB', 'online'],
    ['OB OL', 'online'],
    ['OL DISCHRG OB', 'online'],
    ['FSD OL', 'online'],
    ['FSD OB LB', 'battery'],
    ['DISCHRG', 'unknown'],
    ['WAIT', 'unknown'],
    ['OFF', 'unknown'],
    ['TRIM', 'unknown'],
    ['LB', 'unknown'],
    ['', 'unknown'],
  ])('%j → %s', (status, power) => {
    expect(interpretStatus(parseStatusWords(status)).power).toBe(power);
  });

  it('null (no data) is unknown, never battery', () => {
    expect(interpretStatus(null)).toMatchObject({ power: 'unknown', conflicting: false, fsd: false });
  });

  it('flags OL together with OB as conflicting, and nothing else', () => {
    expect(interpretStatus(['OL', 'DISCHRG', 'OB']).conflicting).toBe(true);
    expect(interpretStatus(['OB', 'OL']).conflicting).toBe(true);
    expect(interpretStatus(['OL', 'DISCHRG']).conflicting).toBe(false);
    expect(interpretStatus(['OB', 'LB']).conflicting).toBe(false);
  });
});

describe('interpretStatus: flags', () => {
  const none = {
    lowBattery: false,
    fsd: false,
    replaceBattery: false,
    calibrating: false,
    off: false,
    bypass: false,
    overload: false,
    trim: false,
    boost: false,
    alarm: false,
    conflicting: false,
    unknownWords: [],
  };

  it.each([
    ['OL', {}],
    ['OL CHRG LB', { lowBattery: true }],
    ['ALARM OL FSD', { alarm: true, fsd: true }],
    ['FSD OL', { fsd: true }],
    ['OL LB OVER RB BOOST', { lowBattery: true, overload: true, replaceBattery: true, boost: true }],
    ['OL CAL', { calibrating: true }],
    ['OL CHRG TRIM OFF', { trim: true, off: true }],
    ['BOOST BYPASS', { boost: true, bypass: true }],
    ['HB OL', {}],
    ['OL HE', {}],
    ['OL ECO', {}],
  ])('%j', (status, flags) => {
    expect(interpretStatus(parseStatusWords(status))).toMatchObject({ ...none, ...flags });
  });

  it('accepts lower case and stray whitespace inside words', () => {
    expect(interpretStatus(['fsd', ' ol ', 'lb'])).toMatchObject({
      power: 'online',
      fsd: true,
      lowBattery: true,
    });
  });

  it('ignores unknown words but lists each once, uppercased', () => {
    const reading = interpretStatus(['OL', 'NEWTHING', 'boh', 'NEWTHING', 'CHRG']);
    expect(reading.power).toBe('online');
    expect(reading.unknownWords).toEqual(['NEWTHING', 'BOH']);
    expect(interpretStatus(['OB', 'OTHER']).power).toBe('battery');
  });
});

describe('the known vocabulary', () => {
  it('has every token of new-drivers.txt plus the ignored ECO and HE', () => {
    expect([...STATUS_TOKENS].sort()).toEqual(
      [
        'OL',
        'OB',
        'LB',
        'HB',
        'RB',
        'CHRG',
        'DISCHRG',
        'BYPASS',
        'CAL',
        'OFF',
        'OVER',
        'TRIM',
        'BOOST',
        'FSD',
        'ALARM',
        'WAIT',
      ].sort(),
    );
    expect(IGNORED_STATUS_TOKENS).toEqual(['ECO', 'HE']);
    expect(isKnownStatusToken('dischrg')).toBe(true);
    expect(isKnownStatusToken('HE')).toBe(true);
    expect(isKnownStatusToken('OTHER')).toBe(false);
  });
});
