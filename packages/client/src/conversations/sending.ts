/**
 * @module Sending into a group (DESIGN §6): encrypt in the group's current epoch, which the
 * server requires (everyone in the group can read those); on STALE_EPOCH, process the group's
 * newer entries and encrypt again. A text may be time-locked (DESIGN §8).
 *
 * Exactly once across a lost reply: an app with an outbox keeps the ciphertext (`onSealed`)
 * before it leaves, and after a lost reply resends those same bytes (`sealed`). The server
 * answers a resend of what it already stored with the first sequence number, even after the
 * epoch moved on; only a resend it never stored can be refused as stale, and then the text is
 * encrypted afresh.
 */
import { encrypt, groupMetadata } from '@parley/crypto';
import { encodeContent, ErrorCode, ParleyError, toBase64Url } from '@parley/protocol';
import type { ConversationRecord, StoredMessage } from '../store/client-store.js';
import { refuseIfBroken } from './broken-groups.js';
import { heldCopy } from './direct-identity.js';
import type { MessengerContext } from './context.js';
import { groupIdBytes } from './group-summaries.js';
import type { GroupLog } from './inbox.js';
import { requireAccepted } from './requests.js';
import { recoverLostEpoch } from './rejoin.js';
import { lockedContent } from './timelocks.js';
import { present, type Message } from './views.js';

export const MAX_SEND_ATTEMPTS = 5;

export interface SendOptions {
  /** Lock the message until this time (Unix ms): recipients open it at the server's release, or by solving its puzzle (DESIGN §8). */
  unlockAt?: number;
  /** The ciphertext an earlier attempt made (from `onSealed`), sent again as it is. */
  sealed?: SealedText;
  /** Hears each ciphertext before it leaves, to keep for a resend; the send waits for it. */
  onSealed?(sealed: SealedText): Promise<void>;
}

/** A text as encrypted for one group and epoch: what a resend sends again, byte for byte. */
export interface SealedText {
  groupId: string;
  epoch: number;
  message: Uint8Array;
  sentAt: number;
  lock?: { lockId: string; unlockAt: number };
  /**
   * It went over a direct channel (DESIGN §9), where the peer may have used up its key: a resend
   * encrypts the text afresh as a `fallback` with the same `sentAt` (sendFallback).
   */
  direct?: boolean;
}

export async function sendText(ctx: MessengerContext, log: GroupLog, conversation: ConversationRecord, text: string, options: SendOptions = {}): Promise<Message> {
  if (text.length === 0) throw new ParleyError(ErrorCode.BAD_INPUT, 'cannot send an empty message');
  requireAccepted(conversation);
  if (options.sealed?.direct === true && options.sealed.groupId === conversation.groupId) return sendFallback(ctx, log, conversation, text, options.sealed.sentAt);
  const resent = options.sealed?.groupId === conversation.groupId ? await resend(ctx, log, conversation, options.sealed) : undefined;
  if (resent) return keepOwn(ctx, resent.conversation, resent.seq, text, options.sealed as SealedText);
  const sentAt = Date.now();
  const content = options.unlockAt === undefined ? ({ t: 'text', text, sentAt } as const) : await lockedContent(ctx, conversation, text, options.unlockAt, sentAt);
  // The sender keeps its own text; the lock says when the others can read it.
  const lock = content.t === 'locked' ? { lock: { lockId: toBase64Url(content.lockId), unlockAt: content.unlockAt } } : {};
  const onSealed = options.onSealed;
  const sealing = onSealed && ((epoch: number, message: Uint8Array) => onSealed({ groupId: conversation.groupId, epoch, message, sentAt, ...lock }));
  const { seq, conversation: updated } = await sendContent(ctx, log, conversation, content, sealing);
  return keepOwn(ctx, updated, seq, text, { sentAt, ...lock });
}

/** Send an earlier attempt's ciphertext again; undefined when the server never stored it and the epoch moved on. */
async function resend(ctx: MessengerContext, log: GroupLog, conversation: ConversationRecord, sealed: SealedText): Promise<{ seq: number; conversation: ConversationRecord } | undefined> {
  try {
    const { seq } = await ctx.request('group.send', { groupId: groupIdBytes(sealed.groupId), epoch: sealed.epoch, message: sealed.message, resend: true });
    log.accepted(sealed.groupId, seq);
    return { seq, conversation: (await ctx.store.getConversation(conversation.groupId)) ?? conversation };
  } catch (error) {
    if (error instanceof ParleyError && error.code === ErrorCode.STALE_EPOCH) return undefined;
    throw error;
  }
}

/**
 * Sends through the server a text that went over a direct channel unconfirmed (DESIGN §9):
 * encrypted afresh, since the peer may have used up the first copy's key, and marked `fallback`
 * with its first `sentAt`, so a peer that got it keeps one. This device keeps its own copy once.
 */
export async function sendFallback(ctx: MessengerContext, log: GroupLog, conversation: ConversationRecord, text: string, sentAt: number): Promise<Message> {
  const { seq, conversation: updated } = await sendContent(ctx, log, conversation, { t: 'text', text, sentAt, fallback: true });
  const own = await heldCopy(ctx, conversation.groupId, { sender: ctx.self.username, senderDevice: ctx.self.deviceId, sentAt, text });
  return { ...(own ? present(updated, own) : await keepOwn(ctx, updated, seq, text, { sentAt })), via: 'server' };
}

async function keepOwn(ctx: MessengerContext, conversation: ConversationRecord, seq: number, text: string, sent: Pick<SealedText, 'sentAt' | 'lock'>): Promise<Message> {
  const message: StoredMessage = { groupId: conversation.groupId, seq, sender: ctx.self.username, senderDevice: ctx.self.deviceId, sentAt: sent.sentAt, text, read: true, ...(sent.lock ? { lock: sent.lock } : {}) };
  await ctx.store.apply({ conversation: { ...conversation, lastActivityAt: Math.max(conversation.lastActivityAt, sent.sentAt) }, message });
  return present(conversation, message);
}

export async function sendContent(
  ctx: MessengerContext,
  log: GroupLog,
  conversation: ConversationRecord,
  content: Parameters<typeof encodeContent>[0],
  onSealed?: (epoch: number, message: Uint8Array) => Promise<void>,
): Promise<{ seq: number; conversation: ConversationRecord }> {
  let stuck = false;
  for (let attempt = 1; ; attempt++) {
    const current = (await ctx.store.getConversation(conversation.groupId)) ?? conversation;
    await refuseIfBroken(ctx, current);
    if (!current.active) throw new ParleyError(ErrorCode.NOT_A_MEMBER, `you are no longer a member of ${current.title}`);
    requireAccepted(current);
    const { message, state } = await encrypt(current.state, ctx.member, encodeContent(content));
    // Save the advanced ratchet before the ciphertext leaves, so a crash never reuses a key.
    const advanced = { ...current, state };
    await ctx.store.apply({ conversation: advanced });
    await onSealed?.(Number(groupMetadata(current.state).epoch), message);
    try {
      const { seq } = await ctx.request('group.send', { groupId: groupIdBytes(current.groupId), epoch: Number(groupMetadata(current.state).epoch), message });
      log.accepted(current.groupId, seq);
      return { seq, conversation: advanced };
    } catch (error) {
      if (!(error instanceof ParleyError) || error.code !== ErrorCode.STALE_EPOCH || attempt >= MAX_SEND_ATTEMPTS) throw error;
      stuck = await catchUpOrRejoin(ctx, log, current, error, stuck);
    }
  }
}

/**
 * After STALE_EPOCH: process the group's newer entries. If twice in a row they leave this device
 * in the epoch it was in while the server is further on, no entry will bring it there (a lost
 * epoch; once could be a race): rejoin by external commit, or the group is marked broken and the
 * next attempt says GROUP_BROKEN. Returns whether this attempt was stuck, for the next call.
 */
export async function catchUpOrRejoin(ctx: MessengerContext, log: GroupLog, stale: ConversationRecord, error: ParleyError, stuckBefore: boolean): Promise<boolean> {
  const before = groupMetadata(stale.state).epoch;
  await log.catchUp(stale.groupId);
  const after = await ctx.store.getConversation(stale.groupId);
  const stuck = after?.active === true && groupMetadata(after.state).epoch === before && error.details.epoch !== undefined && BigInt(error.details.epoch) > before;
  if (!stuck || !stuckBefore) return stuck;
  await recoverLostEpoch(ctx, stale.groupId);
  return false;
}
