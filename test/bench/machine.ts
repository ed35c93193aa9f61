/** The machine the figures came from: they mean little without it. */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg, totalmem } from 'node:os';

export function describeMachine(now = new Date()): string {
  let cpu = 'unknown CPU';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((entry) => entry.startsWith('model name'));
    if (line !== undefined) cpu = line.slice(line.indexOf(':') + 1).trim();
  } catch {
    // not Linux: keep "unknown CPU"
  }
  const ram = `${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM`;
  // Other work on the machine skews every figure: the load at the start is part of the record.
  const load = loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
  return `${availableParallelism()} cores (nproc), ${cpu}, ${ram}, node ${process.version}, load ${load}, ${now.toISOString()}`;
}
