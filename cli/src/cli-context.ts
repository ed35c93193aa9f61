import type { z } from 'zod';
import type { RunEventSchema } from '../../shared/src/admin-api.js';
import type { AdminClient } from './admin-client.js';

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
export function timelineLine(event: z.output<typeof RunEventSchema>, at: (iso: string) => string): string {
  const what = [event.kind, event.stage, event.host, event.detail].filter(
    (p) => p !== null && p !== undefined,
  );
  return `${at(event.at)}  ${what.join('  ')}`;
}

/** How long ago an ISO time was: `12s ago`, `3m ago`, `2h ago`; `-` for none. */
export function ago(iso: string | null | undefined, now: number): string {
  if (iso === null || iso === undefined) return '-';
  const seconds = Math.round((now - Date.parse(iso)) / 1000);
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)}m ago`;
  return `${Math.round(seconds / 3600)}h ago`;
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
