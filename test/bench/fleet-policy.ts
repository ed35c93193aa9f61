/**
 * The policy the fleet figures run: one UPS watched by `nas`, every host in one zero-delay stage.
 * A 1 s grace and a 1 s restore let each trial's run end quickly so that the next one starts fresh.
 */
export const WATCHER = 'nas';
export const UPS = 'nas-ups';

export function hostNames(count: number, prefix = 'sim'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(5, '0')}`);
}

export function zeroDelayPolicy(hosts: readonly string[]): unknown {
  return {
    ups: [{ name: UPS, watcher: WATCHER }],
    hosts: hosts.map((name) => ({ name, ups: [UPS] })),
    stages: [{ name: 'now', hosts, trigger: { onBattery: '0s', fsd: true }, grace: '1s' }],
    restore: { stableFor: '1s' },
  };
}

/** A watcher's reading, as UPS event claims. */
export function reading(status: 'OL' | 'OB', first = false) {
  return {
    ups: UPS,
    observedAt: Date.now(),
    status: status === 'OL' ? ['OL'] : ['OB', 'DISCHRG'],
    events: first ? [] : status === 'OL' ? ['ONLINE' as const] : ['ONBATT' as const],
    vars: { 'battery.charge': status === 'OL' ? '100' : '90', 'battery.runtime': '1800' },
  };
}
