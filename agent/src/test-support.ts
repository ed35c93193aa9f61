/**
 * Helpers for the agent's tests (imported by *.test.ts only; nothing here runs at import).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Schedule } from './fallback/lease-watch.js';
import type { OwnReading } from './fallback/own-reading.js';

/** A temp folder and its removal. */
export async function createTempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `upsfleet-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/**
 * A harmless "shutdown" argv: Node appends one line to `recordFile`. Never a real power verb.
 * With `storeFile` and `orderId`, the line says whether that id was already on disk when it ran.
 */
export function recorderArgv(recordFile: string, check?: { storeFile: string; orderId: string }): string[] {
  if (check === undefined) {
    return [
      process.execPath,
      '-e',
      "require('node:fs').appendFileSync(process.argv[1], 'ran\\n')",
      recordFile,
    ];
  }
  const script =
    "const fs = require('node:fs'); const [file, store, id] = process.argv.slice(1);" +
    "const seen = fs.existsSync(store) && id in JSON.parse(fs.readFileSync(store, 'utf8')).orders;" +
    "fs.appendFileSync(file, seen ? 'ran, id on disk\\n' : 'ran, id NOT on disk\\n')";
  return [process.execPath, '-e', script, recordFile, check.storeFile, check.orderId];
}

/** The lines the recorder wrote; [] when it never ran. */
export async function recordedLines(recordFile: string): Promise<string[]> {
  try {
    return (await readFile(recordFile, 'utf8')).split('\n').filter((line) => line !== '');
  } catch {
    return [];
  }
}

/** Items pushed by event handlers, awaited one at a time by a test (no sleeps). */
export function createAsyncQueue<T>() {
  const items: T[] = [];
  const waiters: ((item: T) => void)[] = [];
  return {
    push(item: T): void {
      const waiter = waiters.shift();
      if (waiter) waiter(item);
      else items.push(item);
    },
    next(): Promise<T> {
      const item = items.shift();
      if (item !== undefined) return Promise.resolve(item);
      return new Promise((resolve) => waiters.push(resolve));
    },
    get pending(): number {
      return items.length;
    },
  };
}

/** Timers a test fires by hand. */
export function manualTimers() {
  const timers: { ms: number; fn: () => void; done: boolean }[] = [];
  const schedule: Schedule = (ms, fn) => {
    const timer = { ms, fn, done: false };
    timers.push(timer);
    return () => {
      timer.done = true;
    };
  };
  return {
    schedule,
    pending: () => timers.filter((timer) => !timer.done).map((timer) => timer.ms),
    fireAll() {
      for (const timer of timers.filter((each) => !each.done)) {
        timer.done = true;
        timer.fn();
      }
    },
  };
}

/** A fresh own reading of nas-ups at `now`: `OB` since `since`, or `OL`. */
export function nasUpsReading(
  status: 'OB' | 'OL',
  since: number | undefined,
  now: number,
): Record<string, OwnReading> {
  return {
    'nas-ups': {
      ups: 'nas-ups',
      status: [status],
      reason: undefined,
      detail: undefined,
      fresh: true,
      dead: false,
      batterySince: since,
      charge: 90,
      runtime: 600_000,
      at: now,
      lastGoodAt: now,
    },
  };
}
