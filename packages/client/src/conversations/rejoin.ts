/**
 * @module Getting a device back into its groups when its state is missing or behind: a new device
 * of the account, lost local state, or a gap that swallowed a commit. All by external commit from
 * the GroupInfo the Delivery Service keeps (RFC 9420 §12.4.3.2).
 */
import { groupMetadata, joinExternal } from '@parley/crypto';
import { ErrorCode, groupIdText, ParleyError, type GroupSummary } from '@parley/protocol';
import type { MessengerContext } from './context.js';
import { untitled } from './views.js';

const MAX_ATTEMPTS = 5;

/**
 * Entries the server dropped (retention, quota) may have held commits; if the group has moved to
 * an epoch we never reached, our state is unusable: let rejoinLostGroups join it afresh.
 */
export async function recoverFromGap(ctx: MessengerContext, groupId: string): Promise<void> {
  const conversation = await ctx.store.getConversation(groupId);
  if (!conversation?.active) return;
  const summary = await ctx.groups.get(groupId, { refresh: true });
  if (BigInt(summary.epoch) !== groupMetadata(conversation.state).epoch) await ctx.store.apply({ conversation: { ...conversation, active: false } });
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
 * Groups of this account that this device has no usable state for (a new device, or lost
 * state): join by external commit from the stored GroupInfo (RFC 9420 §12.4.3.2). Returns the
 * groups joined.
 */
export async function rejoinLostGroups(ctx: MessengerContext, groups: GroupSummary[]): Promise<string[]> {
  const joined: string[] = [];
  for (const group of groups) {
    const groupId = groupIdText(group.groupId);
    const local = await ctx.store.getConversation(groupId);
    if (local?.active || !(await mayRejoin(ctx, group, local?.requestFrom))) continue;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const info = await ctx.request('group.info', { groupId: group.groupId });
      const external = await joinExternal(info.groupInfo, ctx.member, ctx.authentication.validate);
      try {
        const { seq } = await ctx.request('group.rejoin', { groupId: group.groupId, epoch: info.epoch, commit: external.commit, groupInfo: external.groupInfo });
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
        await ctx.groups.stale(groupId);
        joined.push(groupId);
        ctx.emit({ kind: 'changed', conversation: groupId });
        break;
      } catch (error) {
        if (!(error instanceof ParleyError) || error.code !== ErrorCode.STALE_EPOCH) throw error;
      }
    }
  }
  return joined;
}
