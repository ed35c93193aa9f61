/**
 * Clean-up that happens whatever goes wrong: every process, temp dir and database a figure creates
 * is registered on its scope as soon as it exists, and undone in reverse order when the figure ends,
 * fails, or the bench is interrupted (run.ts closes every open scope on SIGINT/SIGTERM).
 */
import { errorMessage } from '../../shared/src/errors.js';

export interface Scope {
  /** Registers an undo step; steps run last-in first-out. */
  defer(what: string, undo: () => Promise<unknown> | unknown): void;
  close(): Promise<void>;
}

const open = new Set<Scope>();

export function createScope(): Scope {
  const steps: { what: string; undo: () => Promise<unknown> | unknown }[] = [];
  const scope: Scope = {
    defer(what, undo) {
      steps.push({ what, undo });
    },
    async close() {
      open.delete(scope);
      for (let step = steps.pop(); step !== undefined; step = steps.pop()) {
        try {
          await step.undo();
        } catch (error) {
          process.stderr.write(`bench: cleaning up ${step.what} failed: ${errorMessage(error)}\n`);
        }
      }
    },
  };
  open.add(scope);
  return scope;
}

/** Runs `body` with a fresh scope and always closes it. */
export async function withScope<T>(body: (scope: Scope) => Promise<T>): Promise<T> {
  const scope = createScope();
  try {
    return await body(scope);
  } finally {
    await scope.close();
  }
}

/** Closes every scope still open (an interrupted run). */
export async function closeAllScopes(): Promise<void> {
  for (const scope of [...open].reverse()) await scope.close();
}
