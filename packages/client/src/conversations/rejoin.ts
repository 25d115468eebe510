/**
 * @module Getting a device back into its groups when its state is missing or behind: a new device
 * of the account, lost local state, a gap that swallowed a commit, or a commit this device refused
 * while the server accepted it. All by external commit from the GroupInfo the Delivery Service
 * keeps (RFC 9420 §12.4.3.2). When that fails too, the group is marked broken (broken-groups.ts).
 */
import { CryptoError, groupMetadata, joinExternal } from '@parley/crypto';
import { ErrorCode, groupIdText, ParleyError, type GroupSummary } from '@parley/protocol';
import type { ConversationRecord } from '../store/client-store.js';
import { brokenGroup, clearBroken, markBroken } from './broken-groups.js';
import type { MessengerContext } from './context.js';
import { channelFailure, reason } from './rejected-entry.js';
import { untitled } from './views.js';

const MAX_ATTEMPTS = 5;

/** Refusals that are the group's, not the channel's: another attempt in the same epoch fails the same way. */
const GROUP_REFUSALS = new Set<string>([ErrorCode.INVALID_COMMIT, ErrorCode.BAD_REQUEST]);

/**
 * Entries the server dropped (retention, quota) may have held commits; if the group has moved to
 * an epoch we never reached, our state is unusable: join it afresh.
 */
export async function recoverFromGap(ctx: MessengerContext, groupId: string): Promise<void> {
  const conversation = await ctx.store.getConversation(groupId);
  if (!conversation?.active) return;
  const summary = await ctx.groups.get(groupId, { refresh: true });
  if (BigInt(summary.epoch) !== groupMetadata(conversation.state).epoch) await rejoinNow(ctx, conversation, summary);
}

/**
 * An external commit is a commit of mine: none into a message request (DESIGN §6 consent). One
 * this device never saw is a request unless it holds a contact of mine (or only my own devices).
 */
async function mayRejoin(ctx: MessengerContext, group: GroupSummary, requestFrom: string | undefined): Promise<boolean> {
  if (requestFrom !== undefined) return false;
  const others = [...new Set(group.members.map((member) => member.username))].filter((username) => username !== ctx.self.username);
  if (others.length === 0) return true;
  for (const username of others) if (await ctx.contacts.isContact(username)) return true;
  return false;
}

/**
 * The group moved to an epoch this state will never reach: the server accepted a commit this
 * device refused, or the log holds nothing that brings it to the server's epoch. Rejoin now
 * rather than wedge in STALE_EPOCH; if the group no longer has this account, there is nothing to
 * rejoin.
 */
export async function recoverLostEpoch(ctx: MessengerContext, groupId: string): Promise<void> {
  const conversation = await ctx.store.getConversation(groupId);
  if (!conversation?.active) return;
  let summary;
  try {
    summary = await ctx.groups.get(groupId, { refresh: true });
  } catch (error) {
    if (!(error instanceof ParleyError) || (error.code !== ErrorCode.NOT_A_MEMBER && error.code !== ErrorCode.NOT_FOUND)) throw error;
    await ctx.store.apply({ conversation: { ...conversation, active: false } });
    return;
  }
  await rejoinNow(ctx, conversation, summary);
}

/** Leave the unusable state behind (a later sync retries if this is cut short), then rejoin. */
async function rejoinNow(ctx: MessengerContext, conversation: ConversationRecord, summary: GroupSummary): Promise<void> {
  // No external commit into a message request: it waits, as everything of mine does, for acceptance.
  if (conversation.requestFrom !== undefined) return;
  const inactive = { ...conversation, active: false };
  await ctx.store.apply({ conversation: inactive });
  await rejoinGroup(ctx, summary, inactive);
}

/**
 * Groups of this account that this device has no usable state for (a new device, lost state, a
 * Welcome it could not open): join by external commit from the stored GroupInfo. A group marked
 * broken is tried again only once its epoch moved. Returns the groups joined.
 */
export async function rejoinLostGroups(ctx: MessengerContext, groups: GroupSummary[]): Promise<string[]> {
  const joined: string[] = [];
  for (const group of groups) {
    const groupId = groupIdText(group.groupId);
    const local = await ctx.store.getConversation(groupId);
    if (local?.active || !(await mayRejoin(ctx, group, local?.requestFrom))) continue;
    if ((await brokenGroup(ctx, groupId))?.epoch === group.epoch) continue;
    if (await rejoinGroup(ctx, group, local)) joined.push(groupId);
  }
  return joined;
}

/**
 * Join `group` by external commit (RFC 9420 §12.4.3.2), retrying when another commit wins the
 * epoch. A failure that is the group's (its GroupInfo does not verify, a credential in its tree is
 * refused, the server refuses the commit) marks it broken and is reported as an error event of
 * the conversation; a failure of the channel propagates. Returns whether it joined.
 */
export async function rejoinGroup(ctx: MessengerContext, group: GroupSummary, local: ConversationRecord | undefined): Promise<boolean> {
  const groupId = groupIdText(group.groupId);
  try {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const info = await ctx.request('group.info', { groupId: group.groupId });
      const external = await joinExternal(info.groupInfo, ctx.member, ctx.authentication.validate);
      let seq: number;
      try {
        ({ seq } = await ctx.request('group.rejoin', { groupId: group.groupId, epoch: info.epoch, commit: external.commit, groupInfo: external.groupInfo }));
      } catch (error) {
        if (error instanceof ParleyError && error.code === ErrorCode.STALE_EPOCH) continue;
        throw error;
      }
      const peer = group.kind === 'direct' ? group.members.map((m) => m.username).find((name) => name !== ctx.self.username) : undefined;
      const now = Date.now();
      await ctx.store.apply({
        conversation: {
          groupId,
          kind: group.kind,
          title: local?.title ?? peer ?? untitled(group.createdBy),
          ...(peer ? { peer } : {}),
          state: external.pendingState,
          processedSeq: seq,
          active: true,
          createdAt: local?.createdAt ?? now,
          lastActivityAt: now,
        },
      });
      await clearBroken(ctx, groupId);
      await ctx.groups.stale(groupId);
      ctx.emit({ kind: 'changed', conversation: groupId });
      // What the log holds between where this device stopped and its rejoin was sent in epochs it was not in.
      if (local && seq > local.processedSeq + 1) {
        ctx.emit({ kind: 'error', conversation: groupId, code: ErrorCode.UNREADABLE_ENTRY, message: `entries ${local.processedSeq + 1}..${seq - 1} were sent while this device was out of step with the group; they were passed over when it rejoined` });
      }
      return true;
    }
    return false;
  } catch (error) {
    const isGroups = error instanceof CryptoError ? !channelFailure(error) : error instanceof ParleyError && GROUP_REFUSALS.has(error.code);
    if (!isGroups) throw channelFailure(error) ?? error;
    const why = reason(error).replace(/^mls: /, '');
    await markBroken(ctx, groupId, { reason: why, epoch: group.epoch, at: Date.now() });
    const name = local?.title ?? `the group by ${group.createdBy}`;
    ctx.emit({ kind: 'error', conversation: groupId, code: ErrorCode.GROUP_BROKEN, message: `cannot follow or rejoin ${name}: ${why}` });
    return false;
  }
}
