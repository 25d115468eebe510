/** @module What the consent service keeps (DESIGN §6): each account's contacts and the users it blocks. */

export interface ConsentStorage {
  /** Adds `contact` to `owner`'s contacts (kept once); false if it was there already. */
  addContact(owner: string, contact: string, at: number): Promise<boolean>;
  /** False if it was not a contact. */
  removeContact(owner: string, contact: string): Promise<boolean>;
  /** `owner`'s contacts, sorted. */
  listContacts(owner: string): Promise<string[]>;
  countContacts(owner: string): Promise<number>;
  /** Users `username` has as a contact who have `username` as a contact too, sorted (never `username` itself). */
  listMutualContacts(username: string): Promise<string[]>;
  areMutualContacts(a: string, b: string): Promise<boolean>;
  /** Blocks `blocked` and drops it from `owner`'s contacts, together; false if it was blocked already. */
  addBlock(owner: string, blocked: string, at: number): Promise<boolean>;
  /** False if it was not blocked. */
  removeBlock(owner: string, blocked: string): Promise<boolean>;
  /** The users `owner` blocks, sorted. */
  listBlocked(owner: string): Promise<string[]>;
  countBlocked(owner: string): Promise<number>;
  /** Of `owners` (all when not given), those who block `username`, sorted. */
  listBlockers(username: string, owners?: readonly string[]): Promise<string[]>;
}
