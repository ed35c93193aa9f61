import type { AdminClient } from './admin-client.js';

export type Item = Record<string, unknown>;

/** What every admin command gets: the client, the parsed flags, and how to print. */
export interface CliContext {
  readonly client: AdminClient;
  readonly json: boolean;
  readonly now: number;
  /** Prints `data` as JSON with --json, else what `human` returns. */
  out(data: unknown, human: () => string): void;
  /** Writes text as is (live output). */
  write(text: string): void;
  /**
   * Resolves when the user interrupts (Ctrl-C): ends `--follow` loops cleanly. Only commands that
   * follow ask for it, so Ctrl-C keeps its default meaning everywhere else.
   */
  interrupted(): Promise<void>;
}

export const str = (value: unknown): string => (value === null || value === undefined ? '-' : String(value));

/** A run timeline entry on one line: its time as `at` renders it, then kind, stage, host, detail. */
export function timelineLine(event: Item, at: (iso: unknown) => string): string {
  const what = [event.kind, event.stage, event.host, event.detail].filter(
    (p) => p !== null && p !== undefined,
  );
  return `${at(event.at)}  ${what.join('  ')}`;
}

/** A comma-separated flag as a list (`--scopes read,write`). */
export const list = (value: string | undefined): string[] | undefined =>
  value === undefined
    ? undefined
    : value
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== '');

/** Waits `ms`, or less when interrupted; true when interrupted. */
export function pause(ctx: CliContext, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void ctx.interrupted().then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
