/** What every figure gets from run.ts: the mode, a progress log, and the shared embedded-database template. */
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchOptions } from './options.js';
import type { Row } from './table.js';

export interface BenchContext {
  readonly options: BenchOptions;
  /** Progress for the person watching (stderr); the table goes to stdout at the end. */
  log(message: string): void;
  /**
   * A ready, migrated PGlite data directory under `dir`: a copy of one made once per run, so that
   * figures other than the start-up one do not each pay for initdb (several seconds).
   */
  embeddedDataDir(dir: string, name: string): Promise<string>;
}

/** A figure: its rows. It cleans up after itself (see scope.ts), also when it fails. */
export type FigureRunner = (context: BenchContext) => Promise<Row[]>;

/** Copies the template made by `makeTemplate` (once) to `dir/name`. */
export function createDataDirFactory(makeTemplate: () => Promise<string>) {
  let template: Promise<string> | undefined;
  return async (dir: string, name: string): Promise<string> => {
    template ??= makeTemplate();
    const target = join(dir, name);
    await cp(await template, target, { recursive: true });
    return target;
  };
}
