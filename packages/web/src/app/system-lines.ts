/**
 * @module System lines kept in this browser: what a chat says besides messages (someone added,
 * removed or gone, a new device, a changed safety number), and the member list each group's
 * lines were worked out against. Kept in the client store's cache under `web/` keys, so they go
 * when this browser logs out, like the messages they sit between.
 */
import type { IndexedDbClientStore } from '../storage/client-store.js';
import type { Roster } from './membership-lines.js';
import type { SystemLine } from './state.js';

/** Older lines are dropped past this many in one chat. */
const MAX_LINES = 500;

const linesKey = (groupId: string) => `web/lines/${groupId}`;
const rosterKey = (groupId: string) => `web/roster/${groupId}`;

function decode<T>(bytes: Uint8Array | undefined, valid: (value: unknown) => value is T): T | undefined {
  if (!bytes) return undefined;
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return valid(value) ? value : undefined;
  } catch {
    // Unreadable (an older layout, a damaged row): as good as none.
    return undefined;
  }
}

const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

const isStrings = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === 'string');

function isRoster(value: unknown): value is Roster {
  return typeof value === 'object' && value !== null && isStrings((value as Roster).members) && isStrings((value as Roster).departed);
}

function isLines(value: unknown): value is SystemLine[] {
  return (
    Array.isArray(value) &&
    value.every((line: Partial<SystemLine>) => typeof line.key === 'string' && typeof line.text === 'string' && typeof line.afterSeq === 'number' && typeof line.at === 'number')
  );
}

export async function loadLines(store: IndexedDbClientStore, groupId: string): Promise<SystemLine[]> {
  return decode(await store.getCached(linesKey(groupId)), isLines) ?? [];
}

/** Add lines to a chat (one with a key it already has is not added again); returns all of its lines. */
export async function addLines(store: IndexedDbClientStore, groupId: string, added: SystemLine[]): Promise<SystemLine[]> {
  const lines = await loadLines(store, groupId);
  const fresh = added.filter((line) => !lines.some((kept) => kept.key === line.key));
  if (fresh.length === 0) return lines;
  const all = [...lines, ...fresh].slice(-MAX_LINES);
  await store.putCached(linesKey(groupId), encode(all));
  return all;
}

export async function loadRoster(store: IndexedDbClientStore, groupId: string): Promise<Roster | undefined> {
  return decode(await store.getCached(rosterKey(groupId)), isRoster);
}

export async function saveRoster(store: IndexedDbClientStore, groupId: string, roster: Roster): Promise<void> {
  await store.putCached(rosterKey(groupId), encode(roster));
}
