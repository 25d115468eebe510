/**
 * @module Applying one entry of this device's mailbox (DESIGN §6): a Welcome into a group, notice
 * of removal from one, a chunk of history from another device of the account, or a time-lock
 * release (DESIGN §8).
 */
import { groupMetadata, inspectMessage, joinFromWelcome } from '@parley/crypto';
import { ErrorCode, groupIdText, ParleyError, toBase64Url, type GroupSummary, type MailboxEntry } from '@parley/protocol';
import type { MessengerContext } from './context.js';
import type { HistoryChunkReceived } from './events.js';
import type { KeyPackageKind } from './key-packages.js';
import { applyHistory } from './history.js';
import { channelFailure, reason, RejectedEntry } from './rejected-entry.js';
import { applyRelease, type OpenedLocks } from './timelocks.js';
import { untitled } from './views.js';

export interface AppliedMailboxEntry {
  /** The conversation that was joined or left. */
  changed?: string;
  /** A Welcome used one of this device's KeyPackages: a one-time one, or the last-resort one. */
  keyPackageUsed?: KeyPackageKind;
  history?: HistoryChunkReceived;
  /** What a time-lock release opened, and what it did not. */
  released?: OpenedLocks;
}

export async function applyMailboxEntry(ctx: MessengerContext, entry: MailboxEntry): Promise<AppliedMailboxEntry> {
  if (entry.kind === 'transfer') return { history: await applyHistory(ctx, entry) };
  if (entry.kind === 'release') return { released: await applyRelease(ctx, entry) };
  const groupId = groupIdText(entry.groupId);
  const existing = await ctx.store.getConversation(groupId);
  if (entry.kind === 'removed') {
    if (!existing) return {};
    await ctx.store.apply({ conversation: { ...existing, active: false, processedSeq: Math.max(existing.processedSeq, entry.seq) } });
    return { changed: groupId };
  }
  // Already in (a sibling's Welcome raced this device's own external join): nothing to do.
  if (existing?.active) return {};
  try {
    return await joinByWelcome(ctx, entry, groupId);
  } catch (error) {
    if (error instanceof RejectedEntry && error.code !== ErrorCode.NOT_A_MEMBER) await leaveStrangersGroup(ctx, entry);
    throw error;
  }
}

/**
 * A stranger's Welcome this device cannot open leaves no request to decline (DESIGN §6 consent), so
 * the client declines by itself: it leaves the group, and the stranger keeps no routing to this
 * account. Every device of the account got the same Welcome bytes, so none of them could have
 * opened it either. A contact's group stays, to be rejoined as any broken group is.
 */
async function leaveStrangersGroup(ctx: MessengerContext, entry: MailboxEntry): Promise<void> {
  const from = entry.sender.username;
  if (from === ctx.self.username || (await ctx.contacts.isContact(from))) return;
  try {
    await ctx.request('group.leave', { groupId: entry.groupId });
  } catch (error) {
    // Already gone (removed since, or the group with it): nothing left to leave.
    if (!(error instanceof ParleyError) || (error.code !== ErrorCode.NOT_A_MEMBER && error.code !== ErrorCode.NOT_FOUND)) throw error;
  }
}

async function joinByWelcome(ctx: MessengerContext, entry: MailboxEntry, groupId: string): Promise<AppliedMailboxEntry> {
  const refused = (problem: string, cause?: unknown) => new RejectedEntry(ErrorCode.UNREADABLE_ENTRY, `a Welcome from ${entry.sender.username} ${problem}`, {}, { cause });
  if (!entry.payload) throw refused('came without its message');
  let framing;
  try {
    framing = inspectMessage(entry.payload);
  } catch (error) {
    throw refused(`is not an MLS message: ${reason(error)}`, error);
  }
  if (framing.kind !== 'welcome') throw refused(`holds a ${framing.kind}, not a Welcome`);
  for (const ref of framing.keyPackageRefs) {
    const secret = await ctx.store.getKeyPackage(toBase64Url(ref));
    if (!secret) continue;
    let joined;
    try {
      joined = await joinFromWelcome(entry.payload, secret.privateState, ctx.authentication.validateAt(entry.sentAt));
    } catch (error) {
      throw channelFailure(error) ?? refused(`did not open or verify: ${reason(error)}`, error);
    }
    // A Welcome into another group than the one it was queued for would file that group's state under this one's id.
    if (groupIdText(groupMetadata(joined.state).groupId) !== groupId) throw refused('is for another group than the one it came for');
    const summary = await groupNow(ctx, groupId, entry);
    const peer = summary.kind === 'direct' ? summary.members.map((m) => m.username).find((name) => name !== ctx.self.username) : undefined;
    const now = Date.now();
    // A Welcome from someone who is not my contact is a message request (DESIGN §6 consent).
    const from = entry.sender.username;
    const request = from !== ctx.self.username && !(await ctx.contacts.isContact(from)) ? { requestFrom: from } : {};
    await ctx.store.apply({
      conversation: {
        ...request,
        groupId,
        kind: summary.kind,
        title: peer ?? untitled(summary.createdBy),
        ...(peer ? { peer } : {}),
        state: joined.state,
        processedSeq: entry.seq,
        active: true,
        createdAt: now,
        lastActivityAt: now,
      },
      // The last-resort KeyPackage stays on the server until its replacement is uploaded: its secret must outlive this Welcome.
      ...(secret.lastResort ? {} : { consumedKeyPackage: secret.ref }),
    });
    return { changed: groupId, keyPackageUsed: secret.lastResort ? 'last-resort' : 'one-time' };
  }
  throw refused('is for none of the KeyPackages this device holds');
}

/** The group as the server has it now; one that removed this account since the Welcome was sent refuses the Welcome. */
async function groupNow(ctx: MessengerContext, groupId: string, entry: MailboxEntry): Promise<GroupSummary> {
  try {
    return await ctx.groups.get(groupId, { refresh: true });
  } catch (error) {
    if (!(error instanceof ParleyError) || (error.code !== ErrorCode.NOT_A_MEMBER && error.code !== ErrorCode.NOT_FOUND)) throw error;
    throw new RejectedEntry(ErrorCode.NOT_A_MEMBER, `a Welcome from ${entry.sender.username} is for a group that no longer has you`, {}, { cause: error });
  }
}
