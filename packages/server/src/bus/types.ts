/** @module Cross-node events. In-process by default; a Redis adapter shares them between nodes. */

export interface BusEvents {
  /** Devices whose sessions must end now, wherever they are connected. */
  'devices.revoked': { username: string; deviceIds: string[] };
}
export type BusTopic = keyof BusEvents;

export interface Bus {
  publish<T extends BusTopic>(topic: T, message: BusEvents[T]): Promise<void>;
  /** Returns an unsubscribe function. */
  subscribe<T extends BusTopic>(topic: T, handler: (message: BusEvents[T]) => void): () => void;
  close(): Promise<void>;
}
