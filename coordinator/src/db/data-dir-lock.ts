import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../../../shared/src/errors.js';

export const LOCK_FILE = 'upsfleet.lock';

export interface DataDirLock {
  readonly path: string;
  release(): void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return typeof error === 'object' && error !== null && 'code' in error && error.code === 'EPERM';
  }
}

/**
 * PGlite has no cross-process lock: two processes on one data directory silently lose writes.
 * An exclusive lock file holding our pid keeps a second coordinator out; a lock left by a dead
 * process (crash, SIGKILL) is taken over.
 */
export function lockDataDir(dir: string, pid = process.pid): DataDirLock {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${pid}\n`);
      closeSync(fd);
      return {
        path,
        release: () => {
          if (readPid(path) === pid) rmSync(path, { force: true });
        },
      };
    } catch (error) {
      if (!(typeof error === 'object' && error !== null && 'code' in error && error.code === 'EEXIST'))
        throw error;
      const holder = readPid(path);
      if (holder !== undefined && holder !== pid && isAlive(holder)) {
        throw new AppError(
          'config',
          `data directory ${dir} is in use by another upsfleet process (pid ${holder}); stop it first or use another --data-dir`,
        );
      }
      rmSync(path, { force: true });
    }
  }
  throw new AppError('config', `could not lock data directory ${dir}`);
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
