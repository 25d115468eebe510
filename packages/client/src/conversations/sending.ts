/**
 * @module Sending into a group (DESIGN §6): encrypt in the group's current epoch, which the
 * server requires (everyone in the group can read those); on STALE_EPOCH, process the group's
 * newer entries and encrypt again. A text may be time-locked (DESIGN §8).
 */
import { encrypt, groupMetadata } from '@parley/crypto';
import { encodeContent, ErrorCode, ParleyError, toBase64Url } from '@parley/protocol';
import type { ConversationRecord, StoredMessage } from '../store/client-store.js';
import type { MessengerContext } from './context.js';
import { groupIdBytes } from './group-summaries.js';
import type { GroupLog } from './inbox.js';
import { requireAccepted } from './requests.js';
import { lockedContent } from './timelocks.js';
import { present, type Message } from './views.js';

export const MAX_SEND_ATTEMPTS = 5;

export interface SendOptions {
  /** Lock the message until this time (Unix ms): recipients open it at the server's release, or by solving its puzzle (DESIGN §8). */
  unlockAt?: number;
}

export async function sendText(ctx: MessengerContext, log: GroupLog, conversation: ConversationRecord, text: string, options: SendOptions = {}): Promise<Message> {
  if (text.length === 0) throw new ParleyError(ErrorCode.BAD_INPUT, 'cannot send an empty message');
  requireAccepted(conversation);
  const sentAt = Date.now();
  const content = options.unlockAt === undefined ? ({ t: 'text', text, sentAt } as const) : await lockedContent(ctx, conversation, text, options.unlockAt, sentAt);
  const { seq, conversation: updated } = await sendContent(ctx, log, conversation, content);
  // The sender keeps its own text; the lock says when the others can read it.
  const lock = content.t === 'locked' ? { lock: { lockId: toBase64Url(content.lockId), unlockAt: content.unlockAt } } : {};
  const message: StoredMessage = { groupId: conversation.groupId, seq, sender: ctx.self.username, senderDevice: ctx.self.deviceId, sentAt, text, read: true, ...lock };
  await ctx.store.apply({ conversation: { ...updated, lastActivityAt: sentAt }, message });
  return present(updated, message);
}

export async function sendContent(
  ctx: MessengerContext,
  log: GroupLog,
  conversation: ConversationRecord,
  content: Parameters<typeof encodeContent>[0],
): Promise<{ seq: number; conversation: ConversationRecord }> {
  for (let attempt = 1; ; attempt++) {
    const current = (await ctx.store.getConversation(conversation.groupId)) ?? conversation;
    if (!current.active) throw new ParleyError(ErrorCode.NOT_A_MEMBER, `you are no longer a member of ${current.title}`);
    requireAccepted(current);
    const { message, state } = await encrypt(current.state, ctx.member, encodeContent(content));
    // Save the advanced ratchet before the ciphertext leaves, so a crash never reuses a key.
    const advanced = { ...current, state };
    await ctx.store.apply({ conversation: advanced });
    try {
      const { seq } = await ctx.request('group.send', { groupId: groupIdBytes(current.groupId), epoch: Number(groupMetadata(current.state).epoch), message });
      log.accepted(current.groupId, seq);
      return { seq, conversation: advanced };
    } catch (error) {
      if (!(error instanceof ParleyError) || error.code !== ErrorCode.STALE_EPOCH || attempt >= MAX_SEND_ATTEMPTS) throw error;
      await log.catchUp(current.groupId);
    }
  }
}
