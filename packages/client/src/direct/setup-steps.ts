/**
 * @module The events a direct session's setup waits for, one step at a time (an answer, a
 * signal, the channel opening), each within a timeout; one that comes before it is waited for
 * is kept until it is.
 */
export class SetupSteps {
  private readonly waiting = new Map<string, { resolve(value: unknown): void; reject(error: Error): void }>();
  private readonly arrived = new Map<string, unknown>();

  constructor(private readonly timeoutMs: number) {}

  /** The `key` event, now if it came already; `timedOut` makes the error when it does not come in time. */
  next<T>(key: string, timedOut: () => Error): Promise<T> {
    if (this.arrived.has(key)) {
      const value = this.arrived.get(key);
      this.arrived.delete(key);
      return Promise.resolve(value as T);
    }
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(key);
        reject(timedOut());
      }, this.timeoutMs);
      this.waiting.set(key, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  arrive(key: string, value: unknown): void {
    const waiter = this.waiting.get(key);
    this.waiting.delete(key);
    if (waiter) waiter.resolve(value);
    else this.arrived.set(key, value);
  }

  /** Fails the steps being waited for; false when none was (the setup is busy elsewhere). */
  fail(error: Error): boolean {
    const waiters = [...this.waiting.values()];
    this.waiting.clear();
    for (const waiter of waiters) waiter.reject(error);
    return waiters.length > 0;
  }
}
