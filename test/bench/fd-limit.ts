/**
 * Open-file limits: each connection is a descriptor, and 10,000 of them exceed the usual soft limit
 * of 1,024. A running process's soft limit is raised up to its hard limit with prlimit(1).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface FdLimit {
  readonly soft: number;
  readonly hard: number;
}

export async function fdLimitOf(pid: number): Promise<FdLimit> {
  const { stdout } = await run('prlimit', [
    '--pid',
    String(pid),
    '--nofile',
    '--output=SOFT,HARD',
    '--noheadings',
    '--raw',
  ]);
  const [soft, hard] = stdout.trim().split(/\s+/);
  const parse = (text: string | undefined) =>
    text === 'unlimited' ? Number.POSITIVE_INFINITY : Number(text);
  return { soft: parse(soft), hard: parse(hard) };
}

/**
 * Raises `pid`'s soft limit to at least `needed` when its hard limit allows; returns the soft limit
 * it has afterwards (which may still be below `needed`).
 */
export async function raiseFdLimit(pid: number, needed: number): Promise<number> {
  let limit: FdLimit;
  try {
    limit = await fdLimitOf(pid);
  } catch {
    return Number.NaN; // no prlimit: leave it as it is
  }
  if (limit.soft >= needed) return limit.soft;
  const target = Math.min(limit.hard, needed);
  const hard = Number.isFinite(limit.hard) ? String(limit.hard) : 'unlimited';
  await run('prlimit', ['--pid', String(pid), `--nofile=${target}:${hard}`]);
  return target;
}
