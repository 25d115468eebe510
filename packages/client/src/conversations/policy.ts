/** @module Client-side checks of membership changes: the client does not take the server's word alone. */
import { type LogEntry } from '@parley/protocol';
import type { MessengerContext } from './context.js';
import { credentialOwner } from './credentials.js';

/** Clients check admin rules too: only admins change other users' membership (DESIGN §6). */
export async function commitAllowed(ctx: MessengerContext, entry: LogEntry, added: { identity: Uint8Array }[], removed: { identity: Uint8Array }[], external: boolean): Promise<boolean> {
  const committer = entry.sender.username;
  const owners = (leaves: { identity: Uint8Array }[]) => leaves.map((leaf) => credentialOwner(leaf.identity));
  if (external) return owners(removed).every((owner) => owner?.username === committer);
  const addsOthers = owners(added).some((owner) => owner?.username !== committer);
  const removedOthers = owners(removed).filter((owner) => owner?.username !== committer);
  if (!addsOthers && removedOthers.length === 0) return true;
  const summary = await ctx.request('group.get', { groupId: entry.groupId });
  if (summary.admins.includes(committer)) return true;
  // Anyone may finish removing devices that left or were revoked: the server no longer routes them.
  const routed = new Set(summary.members.map((member) => `${member.username}/${member.deviceId}`));
  return !addsOthers && removedOthers.every((owner) => owner !== undefined && !routed.has(`${owner.username}/${owner.deviceId}`));
}
