/**
 * @module Who is online, as every node sees it (DESIGN §7, §12): the presence registry behind
 * PresenceService. In-process by default; the Redis adapter (redis-presence.ts) shares it
 * between nodes and expires the users of a node that stopped without saying goodbye.
 *
 * A store counts connections per device on its own node and reports the transitions that
 * matter to other users: a user's first device coming online anywhere, and their last going
 * offline everywhere (including by expiry). Each transition carries a `version` that grows
 * with every transition of the deployment, so nodes that hear of two changes of one user out
 * of order keep the later one.
 */

export interface PresenceChange {
  username: string;
  online: boolean;
  /** Orders the changes of one user across nodes: a later change has a larger version. */
  version: number;
}

export interface PresenceStore {
  /**
   * How often PresenceService must call `heartbeat()`, or undefined when the store needs no
   * upkeep (a single in-process node never expires).
   */
  readonly heartbeatIntervalMs: number | undefined;
  /** A connection authenticated as this device on this node. The change, if the user was offline everywhere. */
  connected(username: string, deviceId: string): Promise<PresenceChange | undefined>;
  /** One connection of this device on this node closed. The change, if no device of the user is online anywhere now. */
  disconnected(username: string, deviceId: string): Promise<PresenceChange | undefined>;
  /** Those of `usernames` online on some node, in the given order, without duplicates. */
  filterOnline(usernames: readonly string[]): Promise<string[]>;
  /** Online users named after `after` (byte order), at most `limit` of them, in name order. */
  listOnline(after: string | undefined, limit: number): Promise<string[]>;
  /**
   * Upkeep, every `heartbeatIntervalMs`: proves this node alive, expires the users of nodes that
   * stopped proving it, and repairs this node's entries if they were lost (a failed write while
   * the store was unreachable, a wiped store). Returns the changes that caused, each reported by
   * exactly one node.
   */
  heartbeat(): Promise<PresenceChange[]>;
  /**
   * This node leaves (graceful shutdown): its remaining entries are removed and the changes that
   * causes returned. Does not close the connection the store was given.
   */
  leave(): Promise<PresenceChange[]>;
}

/** Open connections per device of each user on this node. */
export class ConnectionCounts {
  /** username → deviceId → open connections. */
  private readonly users = new Map<string, Map<string, number>>();

  /** Counts one more connection; says whether it is the device's first here, and the user's. */
  add(username: string, deviceId: string): { firstOfDevice: boolean; firstOfUser: boolean } {
    const devices = this.users.get(username) ?? new Map<string, number>();
    const firstOfUser = devices.size === 0;
    const count = devices.get(deviceId) ?? 0;
    devices.set(deviceId, count + 1);
    this.users.set(username, devices);
    return { firstOfDevice: count === 0, firstOfUser };
  }

  /** Counts one connection less; undefined if the device had none here. */
  remove(username: string, deviceId: string): { lastOfDevice: boolean; lastOfUser: boolean } | undefined {
    const devices = this.users.get(username);
    const count = devices?.get(deviceId);
    if (!devices || count === undefined) return undefined;
    if (count > 1) {
      devices.set(deviceId, count - 1);
      return { lastOfDevice: false, lastOfUser: false };
    }
    devices.delete(deviceId);
    if (devices.size > 0) return { lastOfDevice: true, lastOfUser: false };
    this.users.delete(username);
    return { lastOfDevice: true, lastOfUser: true };
  }

  has(username: string): boolean {
    return this.users.has(username);
  }

  usernames(): IterableIterator<string> {
    return this.users.keys();
  }

  /** Every device with a connection here, as [username, deviceId]. */
  *devices(): IterableIterator<[string, string]> {
    for (const [username, devices] of this.users) for (const deviceId of devices.keys()) yield [username, deviceId];
  }

  clear(): void {
    this.users.clear();
  }
}

/** One node, one process: the registry is this node's connections. */
export class MemoryPresenceStore implements PresenceStore {
  readonly heartbeatIntervalMs = undefined;
  private readonly counts = new ConnectionCounts();
  private version = 0;

  async connected(username: string, deviceId: string): Promise<PresenceChange | undefined> {
    return this.counts.add(username, deviceId).firstOfUser ? { username, online: true, version: ++this.version } : undefined;
  }

  async disconnected(username: string, deviceId: string): Promise<PresenceChange | undefined> {
    return this.counts.remove(username, deviceId)?.lastOfUser ? { username, online: false, version: ++this.version } : undefined;
  }

  async filterOnline(usernames: readonly string[]): Promise<string[]> {
    return [...new Set(usernames)].filter((username) => this.counts.has(username));
  }

  async listOnline(after: string | undefined, limit: number): Promise<string[]> {
    return [...this.counts.usernames()]
      .filter((username) => after === undefined || byteOrder(username, after) > 0)
      .sort(byteOrder)
      .slice(0, Math.max(0, limit));
  }

  async heartbeat(): Promise<PresenceChange[]> {
    return [];
  }

  async leave(): Promise<PresenceChange[]> {
    const changes = [...this.counts.usernames()].map((username) => ({ username, online: false, version: ++this.version }));
    this.counts.clear();
    return changes;
  }
}

/** Compares as Redis orders members lexicographically: by UTF-8 bytes. */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
