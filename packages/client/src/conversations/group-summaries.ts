/**
 * @module The Delivery Service's view of this account's groups (routing list, admins, creator,
 * epoch), cached in the client store. A commit in a group makes its entry stale; a full sync
 * reads the whole list again. Decisions that a stale entry could get wrong ask again once.
 */
import { decodeCbor, encodeCbor, groupIdText, groupSummarySchema, parseGroupId, type GroupSummary } from '@parley/protocol';
import type { Requester } from '../connection/requester.js';
import type { ClientStore } from '../store/client-store.js';

const cacheKey = (groupId: string) => `group/${groupId}`;

export class GroupSummaries {
  constructor(
    private readonly request: Requester,
    private readonly store: ClientStore,
  ) {}

  /** The group's summary: the cached one unless `refresh` or none is cached. */
  async get(groupId: string, options: { refresh?: boolean } = {}): Promise<GroupSummary> {
    if (!options.refresh) {
      const cached = await this.cached(groupId);
      if (cached) return cached;
    }
    const summary = await this.request('group.get', { groupId: groupIdBytes(groupId) });
    await this.save(summary);
    return summary;
  }

  /** Every group of this account, from the server. */
  async list(): Promise<GroupSummary[]> {
    const { groups } = await this.request('group.list', {});
    for (const summary of groups) await this.save(summary);
    return groups;
  }

  /** The group changed (a commit): its routing or admins may differ now. */
  async stale(groupId: string): Promise<void> {
    await this.store.putCached(cacheKey(groupId), undefined);
  }

  private async cached(groupId: string): Promise<GroupSummary | undefined> {
    const bytes = await this.store.getCached(cacheKey(groupId));
    if (!bytes) return undefined;
    try {
      return groupSummarySchema.parse(decodeCbor(bytes));
    } catch {
      // A cache entry that no longer reads is as good as none: ask again.
      return undefined;
    }
  }

  private async save(summary: GroupSummary): Promise<void> {
    await this.store.putCached(cacheKey(groupIdText(summary.groupId)), encodeCbor(summary));
  }
}

/** The wire bytes of a group id the SDK holds as text (it made or received every one of them). */
export function groupIdBytes(groupId: string): Uint8Array {
  const bytes = parseGroupId(groupId);
  if (!bytes) throw new TypeError(`not a group id: ${groupId}`);
  return bytes;
}
