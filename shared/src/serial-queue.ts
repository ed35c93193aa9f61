/** Runs async tasks one at a time, in submission order. A failing task does not stop the queue. */
export function createSerialQueue() {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run<T>(task: () => Promise<T>): Promise<T> {
      const result = tail.then(task, task);
      tail = result.catch(() => undefined);
      return result;
    },
    /** Resolves once everything queued so far has finished. */
    idle(): Promise<void> {
      return tail.then(() => undefined);
    },
  };
}
