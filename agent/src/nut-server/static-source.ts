import { timingSafeEqual } from 'node:crypto';
import type { NutServedUps, NutServerAuth, NutServerSource, NutUnavailable } from './types.js';

/**
 * A source whose UPSes are plain values set by the owner: a simulated UPS (`upsfleet demo`), tests.
 * Every client sees the same thing.
 */

export interface StaticUps {
  readonly name: string;
  readonly description?: string;
  readonly vars: Readonly<Record<string, string>>;
  readonly commands?: readonly string[];
}

export interface StaticSource extends NutServerSource {
  /** Changes variables (merged into the current ones); `ups.status: 'OB DISCHRG'` simulates a power cut. */
  set(ups: string, vars: Readonly<Record<string, string>>): void;
  /** Makes the UPS answer like a stalled or dead driver, or serve data again (`ok`). */
  setAvailability(ups: string, availability: 'ok' | NutUnavailable): void;
}

interface Entry {
  readonly name: string;
  readonly description: string | undefined;
  vars: Map<string, string>;
  commands: readonly string[];
  availability: 'ok' | NutUnavailable;
}

export function createStaticSource(upses: readonly StaticUps[]): StaticSource {
  const entries: Entry[] = upses.map((ups) => ({
    name: ups.name,
    description: ups.description,
    vars: new Map(Object.entries(ups.vars)),
    commands: ups.commands ?? [],
    availability: 'ok',
  }));
  const entry = (name: string): Entry => {
    const found = entries.find((e) => e.name === name);
    if (!found) throw new Error(`no UPS named ${JSON.stringify(name)} in this source`);
    return found;
  };
  return {
    upses: (): NutServedUps[] =>
      entries.map((e) => ({
        name: e.name,
        description: e.description,
        data: e.availability === 'ok' ? { vars: new Map(e.vars), commands: e.commands } : e.availability,
      })),
    set(ups, vars) {
      const e = entry(ups);
      e.vars = new Map([...e.vars, ...Object.entries(vars)]);
    },
    setAvailability(ups, availability) {
      entry(ups).availability = availability;
    },
  };
}

export interface StaticAccount {
  readonly username: string;
  readonly password: string;
  /** The UPSes it may log in to (default: all). */
  readonly upses?: readonly string[];
}

const equal = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** Fixed accounts with plain-text passwords: for a demo or a test, never for a real deployment. */
export function createStaticAuth(accounts: readonly StaticAccount[]): NutServerAuth {
  return {
    login: async ({ username, password, ups }) =>
      accounts.some(
        (account) =>
          account.username === username &&
          equal(account.password, password) &&
          (account.upses === undefined || account.upses.some((u) => u.toLowerCase() === ups.toLowerCase())),
      ),
  };
}
