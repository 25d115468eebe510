/**
 * @module This node's authenticated connections, by device and by user, and the bus topics that
 * reach them: revocations, event deliveries and presence. Every node subscribes, so a service on
 * any node reaches a device wherever it is connected.
 */
import { deviceKey, encodeEvent, type DeviceRef } from '@parley/protocol';
import type { Bus } from '../bus/index.js';
import type { Connection } from './connection.js';

const MAX_REMEMBERED_PRESENCE = 10_000;

export class LocalConnections {
  private readonly byDevice = new Map<string, Set<Connection>>();
  /** username → device keys with at least one connection here. */
  private readonly byUser = new Map<string, Set<string>>();
  /** username → version of the latest presence change passed on, to drop older ones arriving late. */
  private readonly presenceVersions = new Map<string, number>();

  add(connection: Connection, session: DeviceRef): void {
    const key = deviceKey(session);
    const set = this.byDevice.get(key) ?? new Set();
    set.add(connection);
    this.byDevice.set(key, set);
    const devices = this.byUser.get(session.username) ?? new Set();
    devices.add(key);
    this.byUser.set(session.username, devices);
  }

  remove(connection: Connection, session: DeviceRef): void {
    const key = deviceKey(session);
    const set = this.byDevice.get(key);
    if (!set?.delete(connection)) return;
    if (set.size > 0) return;
    this.byDevice.delete(key);
    const devices = this.byUser.get(session.username);
    devices?.delete(key);
    if (devices?.size === 0) this.byUser.delete(session.username);
  }

  ofDevice(username: string, deviceId: string): Iterable<Connection> {
    return this.byDevice.get(deviceKey({ username, deviceId })) ?? [];
  }

  *ofUser(username: string): Iterable<Connection> {
    for (const key of this.byUser.get(username) ?? []) yield* this.byDevice.get(key) ?? [];
  }

  *all(): Iterable<Connection> {
    for (const set of this.byDevice.values()) yield* set;
  }

  /** Subscribes to the bus topics aimed at devices and users; returns the unsubscribe function. */
  listen(bus: Bus): () => void {
    const subscriptions = [
      bus.subscribe('devices.revoked', ({ username, deviceIds }) => {
        for (const deviceId of deviceIds) for (const connection of [...this.ofDevice(username, deviceId)]) connection.revoke();
      }),
      bus.subscribe('deliver', ({ devices, envelope }) => {
        for (const { username, deviceId } of devices) {
          for (const connection of this.ofDevice(username, deviceId)) connection.sendEncodedEvent(envelope);
        }
      }),
      bus.subscribe('presence', ({ username, online, audience, version }) => {
        if (version !== undefined && !this.isNewestPresence(username, version)) return;
        const targets = audience === 'all' ? this.all() : audience.flatMap((peer) => [...this.ofUser(peer)]);
        // Encoded once for the whole audience (a big group's members each hear of every other).
        let envelope: Uint8Array | undefined;
        for (const connection of targets) {
          if (connection.session?.username !== username) connection.sendEncodedEvent((envelope ??= encodeEvent('presence', { username, online })));
        }
      }),
    ];
    return () => {
      for (const unsubscribe of subscriptions) unsubscribe();
    };
  }

  /**
   * Two nodes may publish two changes of one user (offline on one node, online on another) in
   * either order; the later change has the larger version. Remembers the newest version of the
   * most recently changed users, a bounded number: an older change that arrives later than
   * that is long past any race.
   */
  private isNewestPresence(username: string, version: number): boolean {
    const newest = this.presenceVersions.get(username);
    if (newest !== undefined && newest >= version) return false;
    this.presenceVersions.delete(username);
    this.presenceVersions.set(username, version);
    if (this.presenceVersions.size > MAX_REMEMBERED_PRESENCE) {
      const oldest = this.presenceVersions.keys().next().value;
      if (oldest !== undefined) this.presenceVersions.delete(oldest);
    }
    return true;
  }
}
