/**
 * @module Cross-node events. In-process by default; a Redis adapter shares them between nodes.
 * Payloads are plain JSON (strings, numbers, arrays, maps) and bytes (Uint8Array), which the
 * in-process bus hands over as they are and the Redis bus carries base64-encoded.
 */
import type { DeviceRef } from '@parley/protocol';

export interface BusEvents {
  /** Devices whose sessions must end now, wherever they are connected. */
  'devices.revoked': { username: string; deviceIds: string[] };
  /**
   * A protocol event for some devices: every node pushes it to those of them connected to it.
   * `envelope` is the event already encoded for the wire (protocol `encodeEvent`), once for all of
   * them; `kind` repeats its event kind for logs and metrics.
   */
  deliver: { devices: DeviceRef[]; kind: string; envelope: Uint8Array };
  /**
   * A user's first device came online, or its last went offline. Every node tells its connected
   * users in `audience` (the user's mutual contacts), or all of them on an open server.
   * `version` orders the changes of one user (PresenceChange): a node that hears of an older
   * change after a newer one, as can happen when two nodes publish them, drops it.
   */
  presence: { username: string; online: boolean; audience: string[] | 'all'; version?: number };
  /**
   * A direct session being set up (DESIGN §9), its acceptance, or its end: every node keeps the
   * same table, so the answer and the signals may come through any node. `id` is base64url.
   */
  'direct.session': { id: string; from: DeviceRef; to: string; peer?: DeviceRef; expiresAt: number } | { id: string; ended: true };
}
export type BusTopic = keyof BusEvents;

export interface Bus {
  publish<T extends BusTopic>(topic: T, message: BusEvents[T]): Promise<void>;
  /** Returns an unsubscribe function. */
  subscribe<T extends BusTopic>(topic: T, handler: (message: BusEvents[T]) => void): () => void;
  close(): Promise<void>;
}
