/** @module Client-side checks of membership changes: the client does not take the server's word alone. */
import { deviceKey, groupIdText, type GroupSummary, type LogEntry } from '@parley/protocol';
import { credentialOwner } from '../trust/mls-credentials.js';
import type { MessengerContext } from './context.js';

type Leaf = { identity: Uint8Array };

/**
 * Clients check admin rules too (DESIGN §6): only admins change other users' membership, except
 * that anyone may finish removing devices that left or were revoked (the server no longer routes
 * them). Decided on the cached group summary first; a refusal asks the server once more, since
 * the cache may predate a promotion or a departure.
 */
export async function commitAllowed(ctx: MessengerContext, entry: LogEntry, commit: { added: Leaf[]; removed: Leaf[]; external: boolean }): Promise<boolean> {
  const committer = entry.sender.username;
  const owners = (leaves: Leaf[]) => leaves.map((leaf) => credentialOwner(leaf.identity));
  if (commit.external) return owners(commit.removed).every((owner) => owner?.username === committer);
  const addsOthers = owners(commit.added).some((owner) => owner?.username !== committer);
  const removedOthers = owners(commit.removed).filter((owner) => owner?.username !== committer);
  if (!addsOthers && removedOthers.length === 0) return true;
  const allows = (summary: GroupSummary) => {
    if (summary.admins.includes(committer)) return true;
    const routed = new Set(summary.members.map(deviceKey));
    return !addsOthers && removedOthers.every((owner) => owner !== undefined && !routed.has(deviceKey(owner)));
  };
  const groupId = groupIdText(entry.groupId);
  return allows(await ctx.groups.get(groupId)) || allows(await ctx.groups.get(groupId, { refresh: true }));
}
