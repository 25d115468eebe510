/**
 * @module Membership commits (DESIGN §6): creating a conversation, adding every device of some
 * users, removing them, leaving. The Delivery Service accepts only the first commit for an epoch
 * (RFC 9420 §14): on STALE_EPOCH, catch up with the group's log and build the commit again.
 */
import { addMembers, createGroup, groupMetadata, removeMembers, type MlsCommitOutput } from '@parley/crypto';
import { deviceKey, ErrorCode, groupIdText, ParleyError, type DeviceRef, type GroupKind } from '@parley/protocol';
import type { ConversationRecord } from '../store/client-store.js';
import { credentialOwner } from '../trust/mls-credentials.js';
import { refuseIfBroken } from './broken-groups.js';
import type { MessengerContext } from './context.js';
import { groupIdBytes } from './group-summaries.js';
import type { GroupLog } from './inbox.js';
import { declineRequest, requireAccepted } from './requests.js';
import { catchUpOrRejoin, MAX_SEND_ATTEMPTS, sendContent } from './sending.js';

/** A commit ready to upload, with the routing change it declares (the server checks they agree). */
export type CommitBundle = MlsCommitOutput & { welcome?: Uint8Array; add: DeviceRef[]; remove: DeviceRef[] };

export async function createConversation(ctx: MessengerContext, log: GroupLog, kind: GroupKind, title: string, members: string[]): Promise<ConversationRecord> {
  const groupId = crypto.getRandomValues(new Uint8Array(16));
  const created = await createGroup(ctx.member, groupId);
  await ctx.request('group.create', { groupId, kind, groupInfo: created.groupInfo });
  const now = Date.now();
  const conversation: ConversationRecord = {
    groupId: groupIdText(groupId),
    kind,
    title,
    ...(kind === 'direct' ? { peer: title } : {}),
    state: created.state,
    processedSeq: 0,
    active: true,
    createdAt: now,
    lastActivityAt: now,
  };
  await ctx.store.apply({ conversation });
  return addUsers(ctx, log, conversation, [...new Set([...members, ctx.self.username])]);
}

/** Add every active device of `usernames` (and this account's other devices) in one commit. */
export async function addUsers(ctx: MessengerContext, log: GroupLog, conversation: ConversationRecord, usernames: string[]): Promise<ConversationRecord> {
  await commitWithRetry(ctx, log, conversation, async (current) => {
    const present = new Set(groupMetadata(current.state).members.flatMap((leaf) => credentialOwner(leaf.identity) ?? []).map(deviceKey));
    const keyPackages: Uint8Array[] = [];
    const add: DeviceRef[] = [];
    for (const username of usernames) {
      // Fresh: the devices to add are the ones the directory lists now, under the pinned identity key.
      await ctx.directory.entry(username, { refresh: true });
      const { devices } = await ctx.request('keys.claim', { username });
      for (const device of devices) {
        if (present.has(deviceKey({ username, deviceId: device.deviceId }))) continue;
        keyPackages.push(device.keyPackage);
        add.push({ username, deviceId: device.deviceId });
      }
    }
    if (keyPackages.length === 0) return undefined;
    const output = await addMembers(current.state, ctx.member, keyPackages, ctx.authentication.validate);
    return { ...output, add, remove: [] };
  });
  return (await ctx.store.getConversation(conversation.groupId)) ?? conversation;
}

export async function removeUsers(ctx: MessengerContext, log: GroupLog, conversation: ConversationRecord, usernames: string[]): Promise<void> {
  await commitWithRetry(ctx, log, conversation, async (current) => {
    const leaves = groupMetadata(current.state).members.filter((leaf) => usernames.includes(credentialOwner(leaf.identity)?.username ?? ''));
    const missing = usernames.filter((user) => !leaves.some((leaf) => credentialOwner(leaf.identity)?.username === user));
    if (missing.length > 0) throw new ParleyError(ErrorCode.NOT_A_MEMBER, `not in ${current.title}: ${missing.join(', ')}`);
    const output = await removeMembers(current.state, ctx.member, leaves.map((leaf) => leaf.signaturePublicKey));
    return { ...output, add: [], remove: leaves.flatMap((leaf) => credentialOwner(leaf.identity) ?? []) };
  });
}

/**
 * Tell the members (encrypted), then stop the server routing to me; a remaining member commits my
 * removal. Leaving a request I never accepted is declining it: nothing goes into it, not even a goodbye.
 */
export async function leaveConversation(ctx: MessengerContext, log: GroupLog, conversation: ConversationRecord): Promise<void> {
  if (conversation.requestFrom !== undefined) return void (await declineRequest(ctx, conversation));
  await sendContent(ctx, log, conversation, { t: 'leave' });
  await ctx.request('group.leave', { groupId: groupIdBytes(conversation.groupId) });
  const current = (await ctx.store.getConversation(conversation.groupId)) ?? conversation;
  await ctx.store.apply({ conversation: { ...current, active: false } });
}

/**
 * Build a commit from the current state and upload it. The server accepts only the first commit
 * for an epoch; on STALE_EPOCH catch up with the group's log and build it again.
 */
export async function commitWithRetry(
  ctx: MessengerContext,
  log: GroupLog,
  conversation: ConversationRecord,
  build: (current: ConversationRecord) => Promise<CommitBundle | undefined>,
): Promise<void> {
  let stuck = false;
  for (let attempt = 1; ; attempt++) {
    const current = (await ctx.store.getConversation(conversation.groupId)) ?? conversation;
    await refuseIfBroken(ctx, current);
    requireAccepted(current);
    const bundle = await build(current);
    if (!bundle) return;
    const epoch = Number(groupMetadata(current.state).epoch);
    try {
      const { seq } = await ctx.request('group.commit', {
        groupId: groupIdBytes(current.groupId),
        epoch,
        commit: bundle.commit,
        groupInfo: bundle.groupInfo,
        ...(bundle.welcome ? { welcome: bundle.welcome } : {}),
        add: bundle.add,
        remove: bundle.remove,
      });
      // Only now, with the server's acceptance, does our own commit take effect (RFC 9420 §14).
      await ctx.store.apply({ conversation: { ...current, state: bundle.pendingState, lastActivityAt: Date.now() } });
      log.accepted(current.groupId, seq);
      await ctx.groups.stale(current.groupId);
      ctx.emit({ kind: 'changed', conversation: current.groupId });
      return;
    } catch (error) {
      if (!(error instanceof ParleyError) || error.code !== ErrorCode.STALE_EPOCH || attempt >= MAX_SEND_ATTEMPTS) throw error;
      stuck = await catchUpOrRejoin(ctx, log, current, error, stuck);
    }
  }
}
