/** @module The in-process bus: one node, delivery by direct call. */
import type { Bus, BusEvents, BusTopic } from './types.js';

export class MemoryBus implements Bus {
  private readonly handlers = new Map<BusTopic, Set<(message: never) => void>>();

  async publish<T extends BusTopic>(topic: T, message: BusEvents[T]): Promise<void> {
    for (const handler of this.handlers.get(topic) ?? []) (handler as (message: BusEvents[T]) => void)(message);
  }

  subscribe<T extends BusTopic>(topic: T, handler: (message: BusEvents[T]) => void): () => void {
    const set = this.handlers.get(topic) ?? new Set();
    set.add(handler);
    this.handlers.set(topic, set);
    return () => set.delete(handler);
  }

  async close(): Promise<void> {
    this.handlers.clear();
  }
}
