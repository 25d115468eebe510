/** @module Tasks run one after another, in the order asked: a group's state changes must never interleave. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Run `task` after every earlier one, whether those succeeded or failed. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves once every task asked for so far, and any they queued meanwhile, is done. */
  async settled(): Promise<void> {
    let current;
    do {
      current = this.tail;
      await current;
    } while (current !== this.tail);
  }
}
