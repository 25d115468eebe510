/**
 * @module My contacts and the users I block (DESIGN §6 consent), as the server keeps them, with a
 * copy in the client store: the message path reads the copy (no request to hide a blocked
 * sender's message), and a Welcome from someone the copy does not list asks the server once more
 * (another device of mine may have accepted them since).
 */
import { contactListsSchema, decodeCbor, encodeCbor, type ContactLists as Lists } from '@parley/protocol';
import type { Requester } from '../connection/requester.js';
import type { ClientStore } from '../store/client-store.js';

const CACHE_KEY = 'consent/lists';

export class Contacts {
  /** Users I block, as of the local copy: read once at start, kept current by this class. */
  private blocked = new Set<string>();
  /** Syncs under way, and the lists fetched during them: fetched once, however many strangers' groups ask. */
  private syncing = 0;
  private fetchedThisSync: Lists | undefined;

  constructor(
    private readonly request: Requester,
    private readonly store: ClientStore,
  ) {}

  /** Both lists from the server, saved as the local copy. */
  async refresh(): Promise<Lists> {
    const lists = await this.request('contacts.list', {});
    await this.save(lists);
    if (this.syncing > 0) this.fetchedThisSync = lists;
    return lists;
  }

  /**
   * Runs a sync, during which the server is asked for the lists at most once by `isContact`: a
   * stranger who puts me in many groups must not multiply my requests (one per group).
   */
  async duringSync<T>(sync: () => Promise<T>): Promise<T> {
    this.syncing++;
    try {
      return await sync();
    } finally {
      if (--this.syncing === 0) this.fetchedThisSync = undefined;
    }
  }

  /** Whether `username` is my contact: from the copy, asking the server when the copy says no (once per sync). */
  async isContact(username: string): Promise<boolean> {
    if ((await this.cached())?.contacts.includes(username)) return true;
    return (this.fetchedThisSync ?? (await this.refresh())).contacts.includes(username);
  }

  /** Make each of `usernames` a contact (starting a conversation, accepting a request). */
  async add(usernames: readonly string[], self: string): Promise<void> {
    const lists = (await this.cached()) ?? (await this.refresh());
    const fresh = [...new Set(usernames)].filter((username) => username !== self && !lists.contacts.includes(username));
    for (const username of fresh) await this.request('contacts.add', { username });
    if (fresh.length > 0) await this.save({ ...lists, contacts: [...lists.contacts, ...fresh].sort() });
  }

  /** Block `username`; the server drops them from my contacts too. */
  async block(username: string): Promise<void> {
    await this.request('contacts.block', { username });
    await this.refresh();
  }

  async unblock(username: string): Promise<void> {
    await this.request('contacts.unblock', { username });
    await this.refresh();
  }

  /** Read the local copy (no request; none if it was never fetched), so `hidden` answers at once. */
  async load(): Promise<void> {
    this.blocked = new Set((await this.cached())?.blocked ?? []);
  }

  /** Users whose messages this device hides: those I block. */
  get hidden(): ReadonlySet<string> {
    return this.blocked;
  }

  private async cached(): Promise<Lists | undefined> {
    const bytes = await this.store.getCached(CACHE_KEY);
    if (!bytes) return undefined;
    try {
      return contactListsSchema.parse(decodeCbor(bytes));
    } catch {
      // Unreadable: ask the server again.
      return undefined;
    }
  }

  private async save(lists: Lists): Promise<void> {
    this.blocked = new Set(lists.blocked);
    await this.store.putCached(CACHE_KEY, encodeCbor(lists));
  }
}
