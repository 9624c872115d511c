/** A FIFO async mutex: DuckDB catalog changes (views, attaches) run one at a time, so concurrent refreshes never hit a write-write conflict. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
