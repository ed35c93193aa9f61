import { describe, expect, it } from 'vitest';
import { parseScenario, simulatePlan } from './plan.js';
import { formatOffset, formatPlan, planTimeline } from './plan-format.js';
import { parsePolicy } from './policy.js';

const policy = parsePolicy({
  ups: [
    { name: 'nas-ups', watcher: 'nas', powerOff: 'shutdown.return' },
    { name: 'pi-ups', watcher: 'pi' },
  ],
  hosts: [
    { name: 'web1', ups: ['nas-ups'], wake: { mac: '00:11:22:33:44:01', via: 'nas', address: '10.0.0.255' } },
    { name: 'db1', ups: ['nas-ups'] },
    { name: 'nas', ups: ['nas-ups'] },
    { name: 'vault', ups: ['nas-ups', 'pi-ups'] },
  ],
  stages: [
    { name: 'apps', hosts: ['web1'], trigger: { onBattery: '30s' } },
    { name: 'db', hosts: ['db1'], trigger: { onBattery: '2m' }, after: ['apps'] },
    { name: 'final', hosts: ['nas'], trigger: { lowBattery: true }, after: ['db'] },
  ],
  restore: { wake: ['web1'] },
});

/** The output's lines, without the padding that aligns the time column. */
const linesOf = (text: string) => text.split('\n').map((line) => line.trim().replace(/ {2,}/g, '  '));

describe('formatOffset', () => {
  it('writes +m:ss, and +h:mm:ss from one hour on', () => {
    expect([0, 30_000, 61_999, 600_000, 3_599_000].map(formatOffset)).toEqual([
      '+0:00',
      '+0:30',
      '+1:01',
      '+10:00',
      '+59:59',
    ]);
    expect([3_600_000, 3_725_000, 36_000_000].map(formatOffset)).toEqual([
      '+1:00:00',
      '+1:02:05',
      '+10:00:00',
    ]);
  });
});

describe('formatPlan: battery now, runtime 10 min', () => {
  const result = simulatePlan(
    policy,
    parseScenario({ kind: 'battery-now', ups: ['nas-ups'], readings: { 'nas-ups': { runtime: '10m' } } }),
  );
  const text = formatPlan(result);
  const lines = linesOf(text);

  it('prints the timeline in time order, causes before answers', () => {
    const expected = [
      '+0:00  nas-ups on battery (runtime 10:00)',
      '+0:00  run 1 started (power lost: nas-ups)',
      '+0:30  stage apps fired (nas-ups: on battery 30s)',
      '+0:30  web1 ← shutdown order (stage apps, grace until +2:30)',
      '+1:00  web1 down (confirmed)',
      '+1:00  stage apps complete',
      '+2:00  stage db fired (nas-ups: on battery 120s)',
      '+2:00  db1 ← shutdown order (stage db, grace until +4:00)',
      '+2:30  db1 down (confirmed)',
      '+8:00  nas-ups low battery (runtime 2:00)',
      '+8:00  stage final fired (nas-ups: low battery)',
      '+8:00  nas ← shutdown order (stage final, grace until +10:00)',
      '+8:30  nas down (confirmed)',
      '+10:00  nas-ups dead: its load loses power',
    ];
    for (const line of expected) expect(lines).toContain(line);
    const indexes = expected.map((line) => lines.indexOf(line));
    expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
    const times = planTimeline(result).map((line) => line.at);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it("lists each host's offline rule: what it does on its own, with no valid lease", () => {
    const at = lines.indexOf('On its own (no valid lease), each host follows:');
    expect(at).toBeGreaterThan(0);
    expect(lines.slice(at + 1, at + 5)).toEqual([
      '- web1: stage apps: on battery 30s; fallback 5m after losing the coordinator while in trouble',
      '- db1: stage db: on battery 2m, then up to 2m for the stages before it (at the latest 2m30s on battery); fallback 5m after losing the coordinator while in trouble',
      '- nas: stage final: low battery, then up to 4m for the stages before it (at the latest 4m30s on battery); fallback 5m after losing the coordinator while in trouble',
      '- vault: no stage rule; fallback 5m after losing the coordinator while in trouble',
    ]);
  });

  it('aligns the time column', () => {
    const raw = text.split('\n');
    expect(raw).toContain(' +0:30  stage apps fired (nas-ups: on battery 30s)');
    expect(raw).toContain('+10:00  nas-ups dead: its load loses power');
  });

  it('prints a per-host table, the stages, the warnings and the assumptions', () => {
    expect(lines[0]).toBe('Plan (battery-now): still running at the horizon (2h)');
    expect(lines).toContain('HOST  STAGE  ORDERED  DOWN  HOW  POWER LOST  WOKEN  BACK');
    expect(lines).toContain('web1  apps  +0:30  +1:00  confirmed  -  -  -');
    expect(lines).toContain('vault  -  -  -  -  -  -  -');
    expect(lines).toContain('final  +8:00  +8:30  -  nas-ups: low battery');
    expect(lines).toContain('Warnings:');
    expect(lines).toContain('- vault is never ordered to shut down in this scenario (it is in no stage)');
    expect(lines).toContain('- nas-ups: low battery assumed at runtime ≤ 120s or charge ≤ 10%');
  });
});

describe('formatPlan: power back, restore, an unresponsive host', () => {
  const text = formatPlan(
    simulatePlan(
      policy,
      parseScenario({
        kind: 'timeline',
        events: [
          { at: 0, ups: 'nas-ups', status: 'OB DISCHRG' },
          { at: '2m10s', ups: 'nas-ups', status: 'OL' },
        ],
      }),
      { unresponsive: ['db1'] },
    ),
  );
  const lines = linesOf(text);

  it('shows grace expiry, cancelled stages, wake-ups and the end of the run', () => {
    for (const line of [
      'Plan (timeline): run ended +5:10 (restored)',
      '+2:10  nas-ups on mains',
      '+2:10  stage final cancelled (power restored)',
      '+2:10  run 1 restoring (power restored)',
      '+4:00  db1 down (grace expired)',
      '+4:10  web1 ← wake-on-LAN',
      '+5:10  web1 back (agent reconnected)',
      '+5:10  run 1 ended (restored)',
      'db1  db  +2:00  +4:00  grace-expired  -  -  -',
      'web1  apps  +0:30  +1:00  confirmed  -  +4:10  +5:10',
      'final  -  -  +2:10  never fired',
    ])
      expect(lines).toContain(line);
  });
});
