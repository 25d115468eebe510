/**
 * @module Presence (DESIGN §7): who is online, in pages, as far as the caller may see: its group
 * peers and itself, or everyone on an open server. A user's first device coming online and its
 * last going offline are announced on the bus to the same audience.
 *
 * The online registry is this node's connections only; across nodes it would live in Redis. The
 * announcements already go through the bus, so every node tells its own connections.
 */
import type { RequestOf, ResponseOf, Session } from '@parley/protocol';
import type { Bus } from '../bus/index.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/index.js';

export interface PresenceOptions {
  /** Everyone sees everyone online (`parley serve --open-directory`). */
  openDirectory: boolean;
}

export const DEFAULT_PRESENCE_PAGE = 50;
export const MAX_PRESENCE_PAGE = 200;

export class PresenceService {
  /** username → deviceId → open connections. */
  private readonly online = new Map<string, Map<string, number>>();
  /** Announcements go out one at a time, so a quick online/offline pair is never reordered. */
  private announcing: Promise<void> = Promise.resolve();

  constructor(
    private readonly storage: Storage,
    private readonly bus: Bus,
    private readonly log: Logger,
    private readonly options: PresenceOptions,
  ) {}

  isOnline(username: string): boolean {
    return this.online.has(username);
  }

  /** A connection authenticated as this device. */
  connected(session: Session): void {
    const devices = this.online.get(session.username) ?? new Map<string, number>();
    const first = devices.size === 0;
    devices.set(session.deviceId, (devices.get(session.deviceId) ?? 0) + 1);
    this.online.set(session.username, devices);
    if (first) this.announce(session.username, true);
  }

  /** A connection of this device closed. */
  disconnected(session: Session): void {
    const devices = this.online.get(session.username);
    const count = devices?.get(session.deviceId);
    if (!devices || count === undefined) return;
    if (count > 1) devices.set(session.deviceId, count - 1);
    else devices.delete(session.deviceId);
    if (devices.size > 0) return;
    this.online.delete(session.username);
    this.announce(session.username, false);
  }

  async list(session: Session, body: RequestOf<'presence.list'>): Promise<ResponseOf<'presence.list'>> {
    const limit = Math.min(MAX_PRESENCE_PAGE, Math.max(1, body.limit ?? DEFAULT_PRESENCE_PAGE));
    const candidates = this.options.openDirectory ? [...this.online.keys()] : [...(await this.storage.listGroupPeers(session.username)), session.username];
    const after = body.after;
    const visible = [...new Set(candidates)]
      .filter((username) => this.isOnline(username) && (after === undefined || username > after))
      .sort();
    const users = visible.slice(0, limit);
    const last = users.at(-1);
    return visible.length > limit && last !== undefined ? { users, next: last } : { users };
  }

  /** Resolves once every announcement so far has been published (for orderly shutdown and tests). */
  settled(): Promise<void> {
    return this.announcing;
  }

  private announce(username: string, online: boolean): void {
    this.announcing = this.announcing
      .then(async () => {
        const audience = this.options.openDirectory ? 'all' : (await this.storage.listGroupPeers(username)).filter((peer) => peer !== username);
        if (audience !== 'all' && audience.length === 0) return;
        await this.bus.publish('presence', { username, online, audience });
      })
      .catch((error: unknown) => this.log.warn({ err: error, event: 'presence.failed' }, 'presence not announced'));
  }
}
