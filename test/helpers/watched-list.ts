/**
 * The one way tests await something that arrives on its own: a WebSocket frame, a log line, a
 * connection, a state. Items are appended by event handlers; a test awaits the first item matching a
 * predicate (past or future) instead of sleeping, and learns at once when the source ended first.
 */

export interface WatchedList<T> {
  /** Every item so far, in arrival order. */
  readonly items: readonly T[];
  /** Appends `item` and wakes the waiters it satisfies. */
  push(item: T): void;
  /**
   * Resolves with the first item at or after index `from` (default 0: any item, past or future) that
   * matches; rejects if the source ends first, with `what` in the message.
   */
  waitFor(predicate: (item: T, index: number) => boolean, what: string, from?: number): Promise<T>;
  /** The number of items so far: a `from` for waitFor that ignores the past. */
  mark(): number;
}

export interface WatchedListOptions {
  /** Settles when the source can push no more (a socket closed, a process exited). */
  readonly ended?: Promise<unknown>;
  /** The rejection's message when `ended` settles before a match. */
  readonly endedMessage?: (what: string, ended: unknown) => string;
}

export function createWatchedList<T>(options: WatchedListOptions = {}): WatchedList<T> {
  const items: T[] = [];
  const waiters = new Set<() => void>();
  let ended: { value: unknown } | undefined;
  void options.ended?.then(
    (value) => end(value),
    (error: unknown) => end(error),
  );
  function end(value: unknown): void {
    ended = { value };
    for (const waiter of [...waiters]) waiter();
  }
  const describe = options.endedMessage ?? ((what: string) => `the source ended before ${what}`);

  return {
    items,
    push(item) {
      items.push(item);
      for (const waiter of [...waiters]) waiter();
    },
    mark: () => items.length,
    waitFor(predicate, what, from = 0) {
      return new Promise((resolve, reject) => {
        let next = from;
        const check = (): void => {
          for (; next < items.length; next++) {
            const item = items[next] as T;
            if (!predicate(item, next)) continue;
            waiters.delete(check);
            resolve(item);
            return;
          }
          if (ended !== undefined) {
            waiters.delete(check);
            reject(new Error(describe(what, ended.value)));
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}
