/**
 * @module Users' directory entries (identity key, device certificates), cached in the client
 * store so they are asked for once, not on every command, and kept under the identity pinning
 * rules (DESIGN §11): the first identity key seen for a user is pinned, and an entry whose key
 * differs from the pin is refused, whether it just came from the server or from the cache.
 */
import { decodeCbor, directoryEntrySchema, encodeCbor, equalBytes, ErrorCode, ParleyError, type DirectoryEntry } from '@parley/protocol';
import type { ClientStore } from '../store/client-store.js';

const cacheKey = (username: string) => `directory/${username}`;

export class Directory {
  private readonly inFlight = new Map<string, Promise<DirectoryEntry>>();

  constructor(
    private readonly lookup: (username: string) => Promise<DirectoryEntry>,
    private readonly store: ClientStore,
  ) {}

  /** The entry last fetched, if any. */
  async cached(username: string): Promise<DirectoryEntry | undefined> {
    const bytes = await this.store.getCached(cacheKey(username));
    if (!bytes) return undefined;
    try {
      return directoryEntrySchema.parse(decodeCbor(bytes));
    } catch {
      // A cache entry that no longer reads (an older format, a damaged file) is as good as none.
      await this.store.putCached(cacheKey(username), undefined);
      return undefined;
    }
  }

  /** Ask the server, cache the answer, and pin its identity key if none is pinned yet. Not checked against the pin. */
  fetch(username: string): Promise<DirectoryEntry> {
    // Callers racing for the same user (e.g. one commit's several leaves) share one lookup.
    let pending = this.inFlight.get(username);
    if (!pending) {
      pending = this.fetchNow(username).finally(() => this.inFlight.delete(username));
      this.inFlight.set(username, pending);
    }
    return pending;
  }

  /** The entry, cached unless `refresh` or none is cached; IDENTITY_KEY_CHANGED if its key is not the pinned one. */
  async entry(username: string, options: { refresh?: boolean } = {}): Promise<DirectoryEntry> {
    const entry = (!options.refresh && (await this.cached(username))) || (await this.fetch(username));
    const pinned = await this.store.getPinnedIdentity(username);
    if (pinned && !equalBytes(pinned, entry.identityKey)) {
      throw new ParleyError(
        ErrorCode.IDENTITY_KEY_CHANGED,
        `the identity key of ${username} changed: nothing will be sent to them until you compare safety numbers (parley verify ${username}) and trust the new key`,
      );
    }
    return entry;
  }

  private async fetchNow(username: string): Promise<DirectoryEntry> {
    const entry = await this.lookup(username);
    await this.store.putCached(cacheKey(username), encodeCbor(entry));
    if (!(await this.store.getPinnedIdentity(username))) await this.store.pinIdentity(username, entry.identityKey);
    return entry;
  }
}
