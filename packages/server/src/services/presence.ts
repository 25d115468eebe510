/**
 * @module Presence (DESIGN §7): who is online, in pages, as far as the caller may see: its group
 * mutual contacts (DESIGN §6 consent) and itself, or everyone on an open server. A user's first device coming online and its
 * last going offline are announced on the bus to the same audience.
 *
 * Who is online lives in a PresenceStore: this node's connections by default, shared by all
 * nodes through Redis when configured, where a node that stops heartbeating has its users
 * expire. The announcements go through the bus, so every node tells its own connections.
 */
import type { RequestOf, ResponseOf, DeviceRef } from '@parley/protocol';
import type { Bus, PresenceChange, PresenceStore } from '../bus/index.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/index.js';

export interface PresenceOptions {
  /** Everyone sees everyone online (`parley serve --open-directory`). */
  openDirectory: boolean;
}

export const DEFAULT_PRESENCE_PAGE = 50;
export const MAX_PRESENCE_PAGE = 200;

export class PresenceService {
  /** Announcements go out one at a time, in the order of the events, so a quick online/offline pair is never reordered. */
  private announcing: Promise<void> = Promise.resolve();
  /** Whether the last heartbeat failed, so an outage is logged once, not at every beat. */
  private heartbeatFailing = false;

  constructor(
    private readonly storage: Storage,
    private readonly bus: Bus,
    private readonly store: PresenceStore,
    private readonly log: Logger,
    private readonly options: PresenceOptions,
  ) {}

  /** A connection authenticated as this device. */
  connected(session: DeviceRef): void {
    // The store call starts now, so its writes keep the order of connects and disconnects.
    this.enqueue(this.logFailure(this.store.connected(session.username, session.deviceId)));
  }

  /** A connection of this device closed. */
  disconnected(session: DeviceRef): void {
    this.enqueue(this.logFailure(this.store.disconnected(session.username, session.deviceId)));
  }

  async list(session: DeviceRef, body: RequestOf<'presence.list'>): Promise<ResponseOf<'presence.list'>> {
    const limit = Math.min(MAX_PRESENCE_PAGE, Math.max(1, body.limit ?? DEFAULT_PRESENCE_PAGE));
    const after = body.after;
    // One more than asked for, to know whether there is a next page.
    let visible: string[];
    if (this.options.openDirectory) {
      visible = await this.store.listOnline(after, limit + 1);
    } else {
      const candidates = [...(await this.storage.listMutualContacts(session.username)), session.username]
        .filter((username) => after === undefined || username > after)
        .sort();
      visible = (await this.store.filterOnline(candidates)).slice(0, limit + 1);
    }
    const users = visible.slice(0, limit);
    const last = users.at(-1);
    return visible.length > limit && last !== undefined ? { users, next: last } : { users };
  }

  /**
   * Two users just became mutual contacts, or stopped being: each who is online is shown to the
   * other as online, or as gone. Unversioned, so it never hides a later versioned change.
   */
  async mutualChanged(a: string, b: string, mutual: boolean): Promise<void> {
    if (this.options.openDirectory) return;
    try {
      const online = await this.store.filterOnline([a, b]);
      for (const [user, other] of [[a, b], [b, a]] as const) {
        if (online.includes(user)) await this.bus.publish('presence', { username: user, online: mutual, audience: [other] });
      }
    } catch (error) {
      this.log.warn({ err: error, event: 'presence.failed' }, 'presence not announced');
    }
  }

  /**
   * Runs the store's heartbeat, if it needs one, and announces what it reports (the users of
   * expired nodes going offline). Returns a function that stops it.
   */
  startHeartbeat(): () => Promise<void> {
    const interval = this.store.heartbeatIntervalMs;
    if (interval === undefined) return async () => undefined;
    let running: Promise<void> | undefined;
    const beat = () => {
      running ??= this.beat().finally(() => (running = undefined));
    };
    beat();
    const timer = setInterval(beat, interval);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await running;
    };
  }

  /**
   * This node leaves the shared registry (graceful shutdown, after its connections closed):
   * anything still registered for it is removed and announced.
   */
  async leave(): Promise<void> {
    this.enqueue(this.logFailure(this.store.leave()));
    await this.announcing;
  }

  /** Resolves once every announcement so far has been published (for orderly shutdown and tests). */
  settled(): Promise<void> {
    return this.announcing;
  }

  private async beat(): Promise<void> {
    const changes = this.store.heartbeat().then(
      (changes) => {
        if (this.heartbeatFailing) this.log.info({ event: 'presence.heartbeat_restored' }, 'presence heartbeat restored');
        this.heartbeatFailing = false;
        return changes;
      },
      (error: unknown) => {
        // Logged once per outage, not at every beat.
        if (!this.heartbeatFailing) {
          this.log.warn({ err: error, event: 'presence.heartbeat_failed' }, "presence heartbeat failed; if it goes on, other nodes will show this node's users offline");
        }
        this.heartbeatFailing = true;
        return [];
      },
    );
    this.enqueue(changes);
    await changes;
  }

  /** A store call that failed is logged and changes nothing here; the store repairs itself at a later heartbeat. */
  private logFailure(pending: Promise<PresenceChange | PresenceChange[] | undefined>): Promise<PresenceChange[]> {
    return pending.then(
      (result) => (result === undefined ? [] : Array.isArray(result) ? result : [result]),
      (error: unknown) => {
        this.log.warn({ err: error, event: 'presence.store_failed' }, 'presence not updated');
        return [];
      },
    );
  }

  /** Announces the changes once all earlier ones are out. `changes` never rejects. */
  private enqueue(changes: Promise<PresenceChange[]>): void {
    this.announcing = this.announcing.then(async () => {
      for (const change of await changes) await this.announce(change);
    });
  }

  private async announce({ username, online, version }: PresenceChange): Promise<void> {
    try {
      const audience = this.options.openDirectory ? 'all' : await this.storage.listMutualContacts(username);
      if (audience !== 'all' && audience.length === 0) return;
      await this.bus.publish('presence', { username, online, audience, version });
    } catch (error) {
      this.log.warn({ err: error, event: 'presence.failed' }, 'presence not announced');
    }
  }
}
