import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../../shared/src/errors.js';
import { LOCK_FILE, lockDataDir } from './data-dir-lock.js';

let root: string;
let counter = 0;
/** A fresh, not yet existing data directory per test. */
let dir: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'upsfleet-lock-'));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});
beforeEach(() => {
  counter++;
  dir = join(root, `data-${counter}`, 'nested');
});

const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill();
      await exited;
    }
  }
});

/** Starts a process that stays alive until killed; resolves once it runs. */
async function startLiveProcess(): Promise<ChildProcess & { pid: number }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60_000)'], { stdio: 'ignore' });
  children.push(child);
  await once(child, 'spawn');
  const { pid } = child;
  if (pid === undefined) throw new Error('child has no pid');
  return Object.assign(child, { pid });
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const { pid } = child;
  const [code] = await once(child, 'exit');
  expect(code).toBe(0);
  if (pid === undefined) throw new Error('child has no pid');
  return pid;
}

const lockPath = () => join(dir, LOCK_FILE);
const holder = () => readFileSync(lockPath(), 'utf8').trim();

function refusal(run: () => unknown): AppError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    if (error instanceof AppError) return error;
  }
  throw new Error('expected the lock to be refused, but it was granted');
}

describe('lockDataDir', () => {
  it('creates the data directory (private) and a lock file holding our pid', () => {
    const lock = lockDataDir(dir);
    expect(lock.path).toBe(lockPath());
    expect(holder()).toBe(String(process.pid));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    lock.release();
    expect(existsSync(lockPath())).toBe(false);
  });

  it('a second coordinator on the same directory is refused, naming the pid that holds it', () => {
    const first = lockDataDir(dir);
    const other = process.pid + 1;
    const error = refusal(() => lockDataDir(dir, other));
    expect(error.code).toBe('config');
    expect(error.message).toContain(`pid ${process.pid}`);
    expect(error.message).toContain(dir);
    // The refused attempt left the first lock alone.
    expect(holder()).toBe(String(process.pid));
    first.release();
  });

  it('a lock held by another live process is refused for as long as it lives, then taken over', async () => {
    const other = await startLiveProcess();
    mkdirSync(dir, { recursive: true });
    writeFileSync(lockPath(), `${other.pid}\n`);
    expect(refusal(() => lockDataDir(dir)).message).toContain(`pid ${other.pid}`);

    const exited = once(other, 'exit');
    other.kill();
    await exited;
    const lock = lockDataDir(dir);
    expect(holder()).toBe(String(process.pid));
    lock.release();
  });

  it('a stale lock left by a process that has exited is taken over', async () => {
    const stale = lockDataDir(dir, await deadPid());
    const lock = lockDataDir(dir);
    expect(holder()).toBe(String(process.pid));
    // The stale holder's release must not remove the new holder's lock.
    stale.release();
    expect(holder()).toBe(String(process.pid));
    lock.release();
    expect(existsSync(lockPath())).toBe(false);
  });

  it('an empty or garbled lock file (crash while writing it) is taken over', () => {
    for (const content of ['', 'not a pid\n', '-5\n']) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(lockPath(), content);
      const lock = lockDataDir(dir);
      expect(holder()).toBe(String(process.pid));
      lock.release();
    }
  });

  it('release lets the next process lock the directory', () => {
    const first = lockDataDir(dir);
    first.release();
    const second = lockDataDir(dir, process.pid + 1);
    expect(holder()).toBe(String(process.pid + 1));
    second.release();
    expect(existsSync(lockPath())).toBe(false);
  });
});
