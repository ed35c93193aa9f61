import { describe, expect, it } from 'vitest';
import {
  MAX_VARIABLES_PER_UPS,
  parseNumericValue,
  toUpsSeries,
  type UpsStateReading,
  upsVariableMetricName,
} from './ups-series.js';

const reading = (vars: Record<string, string>, status: string[] | null = ['OL']): UpsStateReading => ({
  ups: 'nas-ups',
  power: 'online',
  status,
  vars,
  observedAt: new Date(0),
  dead: false,
});

describe('parseNumericValue', () => {
  it.each([
    ['87', 87],
    ['230.0', 230],
    ['-5', -5],
    [' 12.5 ', 12.5],
    ['1e3', 1000],
    ['.5', 0.5],
  ])('reads %j as %d', (text, value) => {
    expect(parseNumericValue(text)).toBe(value);
  });

  it.each(['', ' ', 'OL', 'enabled', '0x10', 'Infinity', 'NaN', '12 V', '3B1234X', '2024-01-01'])(
    'leaves %j out',
    (text) => {
      expect(parseNumericValue(text)).toBeUndefined();
    },
  );
});

describe('upsVariableMetricName', () => {
  it('turns NUT names into Prometheus names', () => {
    expect(upsVariableMetricName('battery.charge')).toBe('upsfleet_ups_battery_charge');
    expect(upsVariableMetricName('ups.realpower.nominal')).toBe('upsfleet_ups_ups_realpower_nominal');
    expect(upsVariableMetricName('driver.parameter.pollfreq')).toBe('upsfleet_ups_driver_parameter_pollfreq');
    expect(upsVariableMetricName('x-y:z ü')).toBe('upsfleet_ups_x_y_z__');
  });
});

describe('toUpsSeries', () => {
  const known = new Set(['nas-ups']);

  it('leaves out variables that would take the name of one of its own families, and spelling twins', () => {
    const series = toUpsSeries(
      [reading({ status: '1', power: '2', dead: '1', 'last.update.seconds': '5', 'a.b': '1', a_b: '2' })],
      known,
    );
    expect([...series.variables.keys()]).toEqual(['upsfleet_ups_a_b']);
    // Name order: 'a.b' sorts before 'a_b', so it is the one kept.
    expect(series.variables.get('upsfleet_ups_a_b')).toEqual({
      variable: 'a.b',
      samples: [{ labels: { ups: 'nas-ups' }, value: 1 }],
    });
  });

  it(`caps a UPS at ${MAX_VARIABLES_PER_UPS} variables`, () => {
    const vars = Object.fromEntries(
      Array.from({ length: MAX_VARIABLES_PER_UPS + 50 }, (_, i) => [`v.${String(i).padStart(4, '0')}`, '1']),
    );
    const series = toUpsSeries([reading(vars)], known);
    expect(series.variables.size).toBe(MAX_VARIABLES_PER_UPS);
    expect(series.variables.has('upsfleet_ups_v_0000')).toBe(true);
    expect(series.variables.has(`upsfleet_ups_v_${String(MAX_VARIABLES_PER_UPS).padStart(4, '0')}`)).toBe(
      false,
    );
  });

  it('exports only status words that look like status words', () => {
    const series = toUpsSeries([reading({}, ['ol', 'OB', 'bad word"}', 'ALARM'])], known);
    const flags = series.status.filter((sample) => sample.value === 1).map((sample) => sample.labels.flag);
    expect(flags).toEqual(['OL', 'OB', 'ALARM']);
  });
});
