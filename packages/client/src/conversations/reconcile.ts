/**
 * @module Keeping each group's tree in line with the account's devices and the routing list
 * (DESIGN §5, §6): leaves of devices that left or were revoked are removed (MLS forbids removing
 * yourself, so the others do it; anyone may, once the device is unrouted or revoked), and this
 * account's devices missing from a group are added. Racing members resolve by first-wins.
 */
import { CryptoError, groupMetadata, removeMembers } from '@parley/crypto';
import { decodeCbor, deviceKey, encodeCbor, ErrorCode, groupIdText, ParleyError, s, sameDevice, usernameSchema, type DirectoryEntry, type GroupSummary } from '@parley/protocol';
import { credentialOwner } from '../trust/mls-credentials.js';
import type { MessengerContext } from './context.js';
import type { GroupLog } from './inbox.js';
import { addUsers, commitWithRetry } from './membership.js';
import { channelFailure, reason } from './rejected-entry.js';
import { sendContent } from './sending.js';
import { untitled } from './views.js';

const departuresKey = (groupId: string) => `departures/${groupId}`;
const departuresSchema = s.array(usernameSchema, { max: 10_000 });

export async function reconcileGroup(ctx: MessengerContext, log: GroupLog, group: GroupSummary, mine: DirectoryEntry): Promise<void> {
  const groupId = groupIdText(group.groupId);
  const conversation = await ctx.store.getConversation(groupId);
  // A message request gets no commit of mine until I accept it (DESIGN §6 consent); the others keep the tree.
  if (!conversation?.active || conversation.requestFrom !== undefined) return;
  const routed = new Set(group.members.map(deviceKey));
  const myActive = new Set(mine.devices.map((device) => device.deviceId));
  const revoked = await revokedInTree(ctx, conversation.state);
  const stale = (state: Uint8Array) =>
    groupMetadata(state).members.filter((leaf) => {
      const owner = credentialOwner(leaf.identity);
      if (!owner || sameDevice(owner, ctx.self)) return false;
      return !routed.has(deviceKey(owner)) || revoked.has(deviceKey(owner)) || (owner.username === ctx.self.username && !myActive.has(owner.deviceId));
    });
  if (stale(conversation.state).length > 0) {
    await commitWithRetry(ctx, log, conversation, async (current) => {
      const gone = stale(current.state);
      if (gone.length === 0) return undefined;
      const output = await removeMembers(current.state, ctx.member, gone.map((leaf) => leaf.signaturePublicKey));
      // Only routed devices are unrouted by the commit; the others the server already dropped.
      const remove = gone.flatMap((leaf) => credentialOwner(leaf.identity) ?? []).filter((owner) => routed.has(deviceKey(owner)));
      return { ...output, add: [], remove };
    });
  }
  const refreshed = (await ctx.store.getConversation(groupId)) ?? conversation;
  const inTree = new Set(groupMetadata(refreshed.state).members.map((leaf) => credentialOwner(leaf.identity)?.deviceId));
  const newSiblings = mine.devices.filter((device) => !inTree.has(device.deviceId) && !routed.has(deviceKey({ username: ctx.self.username, deviceId: device.deviceId })));
  if (newSiblings.length > 0) await addUsers(ctx, log, refreshed, [ctx.self.username]);
  await ctx.store.putCached(departuresKey(groupId), undefined);
}

/**
 * Devices in the group's tree that the directory, as last fetched, lists as revoked: the server
 * may still route them, but their credentials are no longer vouched for (issue #11 §6).
 */
async function revokedInTree(ctx: MessengerContext, state: Uint8Array): Promise<Set<string>> {
  const revoked = new Set<string>();
  const users = new Set(groupMetadata(state).members.flatMap((leaf) => credentialOwner(leaf.identity)?.username ?? []));
  for (const username of users) {
    for (const device of (await ctx.directory.cached(username))?.revokedDevices ?? []) revoked.add(deviceKey({ username, deviceId: device.deviceId }));
  }
  return revoked;
}

/**
 * Every active group, against a fresh list of the account's devices (a sibling may have come or
 * gone). A group whose reconciling fails for a reason of its own (the server refuses the commit,
 * a KeyPackage is missing) is reported once as an error of that group and left alone until its
 * epoch moves; the other groups go on, and so does the sync.
 */
export async function reconcileAll(ctx: MessengerContext, log: GroupLog, groups: GroupSummary[]): Promise<void> {
  const mine = await ctx.directory.entry(ctx.self.username, { refresh: true });
  for (const group of groups) {
    const groupId = groupIdText(group.groupId);
    if ((await heldEpoch(ctx, groupId)) === group.epoch) continue;
    try {
      await reconcileGroup(ctx, log, group, mine);
    } catch (error) {
      if (!isGroupFailure(error)) throw channelFailure(error) ?? error;
      await ctx.store.putCached(heldKey(groupId), encodeCbor(group.epoch));
      const code = error instanceof ParleyError ? error.code : ErrorCode.UNREADABLE_ENTRY;
      ctx.emit({ kind: 'error', conversation: groupId, code, message: `could not bring the group's members up to date: ${reason(error)}` });
    }
  }
}

/** A group whose reconciling failed in this epoch: not tried again until the epoch moves. */
const heldKey = (groupId: string) => `reconcile-held/${groupId}`;

async function heldEpoch(ctx: MessengerContext, groupId: string): Promise<unknown> {
  const bytes = await ctx.store.getCached(heldKey(groupId));
  try {
    return bytes && decodeCbor(bytes);
  } catch {
    // Unreadable: as if not held; a failing group is held again after one more try.
    return undefined;
  }
}

/** Refusals that are the group's own: trying again in the same epoch ends the same way. */
const GROUP_REFUSALS = new Set<string>([
  ErrorCode.INVALID_COMMIT,
  ErrorCode.BAD_REQUEST,
  ErrorCode.FORBIDDEN,
  ErrorCode.NOT_A_MEMBER,
  ErrorCode.NO_KEY_PACKAGES,
  ErrorCode.STALE_EPOCH,
  ErrorCode.UNKNOWN_USER,
  ErrorCode.IDENTITY_KEY_CHANGED,
]);

function isGroupFailure(error: unknown): boolean {
  if (error instanceof CryptoError) return channelFailure(error) === undefined;
  return error instanceof ParleyError && GROUP_REFUSALS.has(error.code);
}

/** A member announced leaving: before anything more is sent into the group, its leaves must go. */
export async function noteDeparture(ctx: MessengerContext, groupId: string, username: string): Promise<void> {
  const pending = await departures(ctx, groupId);
  if (!pending.includes(username)) await ctx.store.putCached(departuresKey(groupId), encodeCbor([...pending, username]));
}

/** Users added back to the group (by anyone's commit) are no longer leaving. */
export async function forgetDepartures(ctx: MessengerContext, groupId: string, usernames: string[]): Promise<void> {
  const pending = await departures(ctx, groupId);
  const left = pending.filter((username) => !usernames.includes(username));
  if (left.length < pending.length) await ctx.store.putCached(departuresKey(groupId), left.length > 0 ? encodeCbor(left) : undefined);
}

/**
 * Remove the leaves of members who announced leaving, once the server no longer routes them.
 * Until then (their leave request may still be on its way) the departure stays pending.
 */
export async function settleDepartures(ctx: MessengerContext, log: GroupLog, groupId: string): Promise<void> {
  const pending = await departures(ctx, groupId);
  if (pending.length === 0) return;
  const group = await ctx.groups.get(groupId, { refresh: true });
  if (group.members.some((member) => pending.includes(member.username))) return;
  await reconcileGroup(ctx, log, group, await ctx.directory.entry(ctx.self.username));
}

async function departures(ctx: MessengerContext, groupId: string): Promise<string[]> {
  const bytes = await ctx.store.getCached(departuresKey(groupId));
  if (!bytes) return [];
  try {
    return departuresSchema.parse(decodeCbor(bytes));
  } catch {
    // Unreadable: the next full sync reconciles the group all the same.
    return [];
  }
}

/**
 * Devices that joined by themselves learn what the group is called from its creator, and from
 * the other devices of their own account, so that a user's new device shows the title at once
 * whenever one of their devices is online, whether or not the creator is.
 */
export async function shareTitles(ctx: MessengerContext, log: GroupLog, titleNeeded: Map<string, string>): Promise<void> {
  for (const [groupId, joiner] of [...titleNeeded]) {
    titleNeeded.delete(groupId);
    const conversation = await ctx.store.getConversation(groupId);
    if (!conversation?.active) continue;
    const group = await ctx.groups.get(groupId);
    // A device that was never told the title itself must not hand out the stand-in as the title.
    if (conversation.title === untitled(group.createdBy)) continue;
    if (group.createdBy === ctx.self.username || joiner === ctx.self.username) await sendContent(ctx, log, conversation, { t: 'meta', title: conversation.title });
  }
}
