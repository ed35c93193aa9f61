/**
 * Resident memory and CPU time of a process, read from /proc (Linux): what `ps` and `top` show,
 * without their rounding.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;
/** Clock ticks per second (CLK_TCK), the unit of CPU times in /proc. */
export function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** VmRSS in MiB. */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (match?.[1] === undefined) throw new Error(`no VmRSS for pid ${pid} (exited?)`);
  return Number(match[1]) / 1024;
}

/**
 * Memory only this process holds (USS: private pages, clean and dirty), in MiB. RSS also counts the
 * pages of shared files (the `node` executable alone is ~32 MiB of them), which other processes
 * share and the kernel can drop; USS is what the process costs on top of them.
 */
export function ussMiB(pid: number): number {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? Number.NaN);
  return (kb('Private_Clean') + kb('Private_Dirty')) / 1024;
}

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces and parentheses: count from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / clockTicks();
}

/** CPU used over `ms` of wall time, in % of one core. */
export async function cpuPercentOver(pid: number, ms: number): Promise<number> {
  const before = cpuSeconds(pid);
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const elapsed = (performance.now() - start) / 1000;
  return ((cpuSeconds(pid) - before) / elapsed) * 100;
}

/** Wall-clock time in ms since the epoch, with sub-millisecond resolution (comparable across processes). */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}
