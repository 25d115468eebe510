/**
 * @module Message requests (DESIGN §6 consent): a conversation whose Welcome came from someone who
 * was not my contact waits as a request. Until I accept it this device sends nothing into it (no
 * message, no commit), and the requester sees no presence of mine (the server shows presence only
 * between mutual contacts). Accepting makes the inviter and the members my contacts; declining
 * leaves the group; blocking also stops the server from letting them reach me again.
 */
import { ErrorCode, ParleyError } from '@parley/protocol';
import type { ClientStore, ConversationRecord } from '../store/client-store.js';
import type { MessengerContext } from './context.js';
import { groupIdBytes } from './group-summaries.js';
import { present, type Message } from './views.js';

export interface MessageRequest {
  conversation: ConversationRecord;
  /** Who added me. */
  from: string;
  /** The first message that arrived in it, if any yet. */
  firstMessage?: Message;
  /** How many messages wait in it. */
  messages: number;
}

/** REQUEST_PENDING for a conversation not accepted yet: nothing of mine goes into it. */
export function requireAccepted(conversation: ConversationRecord): void {
  if (conversation.requestFrom !== undefined) {
    const name = conversation.kind === 'direct' ? `the conversation with ${conversation.peer ?? conversation.requestFrom}` : `${conversation.title}`;
    throw new ParleyError(ErrorCode.REQUEST_PENDING, `${name} is a message request from ${conversation.requestFrom}; accept it first (parley accept ${conversation.requestFrom})`);
  }
}

/** A pending request: not accepted, not declined. */
export const isPendingRequest = (conversation: ConversationRecord): boolean => conversation.requestFrom !== undefined && conversation.active;

export async function pendingRequests(store: ClientStore): Promise<MessageRequest[]> {
  const requests: MessageRequest[] = [];
  for (const conversation of (await store.listConversations()).filter(isPendingRequest)) {
    const messages = (await store.listMessages(conversation.groupId)).filter((message) => message.text !== undefined || message.lock !== undefined);
    const first = messages[0];
    requests.push({ conversation, from: conversation.requestFrom ?? '', messages: messages.length, ...(first ? { firstMessage: present(conversation, first) } : {}) });
  }
  return requests.sort((a, b) => a.conversation.createdAt - b.conversation.createdAt);
}

/**
 * The pending request `name` stands for: the requester's username (when only one request is
 * theirs), or the conversation's group id or title, as other commands name conversations.
 */
export async function findRequest(store: ClientStore, name: string): Promise<ConversationRecord> {
  const pending = (await store.listConversations()).filter(isPendingRequest);
  const byId = pending.find((c) => c.groupId === name);
  if (byId) return byId;
  const matches = pending.filter((c) => c.requestFrom === name || (c.kind === 'group' && c.title === name));
  const only = matches[0];
  if (matches.length === 1 && only) return only;
  if (matches.length > 1) throw new ParleyError(ErrorCode.BAD_INPUT, `several requests match ${name}; use the group id (${matches.map((c) => c.groupId).join(', ')})`);
  throw new ParleyError(ErrorCode.NOT_FOUND, `no pending request ${name} (parley requests lists them)`);
}

/** Accept: the inviter and the group's members become my contacts, and the conversation a normal one. */
export async function acceptRequest(ctx: MessengerContext, name: string): Promise<ConversationRecord> {
  const request = await findRequest(ctx.store, name);
  const summary = await ctx.groups.get(request.groupId, { refresh: true });
  await ctx.contacts.add([request.requestFrom ?? '', ...summary.members.map((member) => member.username)].filter(Boolean), ctx.self.username);
  const { requestFrom: _accepted, ...accepted } = (await ctx.store.getConversation(request.groupId)) ?? request;
  await ctx.store.apply({ conversation: accepted });
  ctx.emit({ kind: 'changed', conversation: accepted.groupId });
  return accepted;
}

/**
 * Decline: the server stops routing the group to my devices (the remaining members commit the
 * removal of my leaves); nothing is sent into it, not even a goodbye. It stays here, inactive.
 */
export async function declineRequest(ctx: MessengerContext, request: ConversationRecord): Promise<ConversationRecord> {
  await ctx.request('group.leave', { groupId: groupIdBytes(request.groupId) });
  const declined = { ...((await ctx.store.getConversation(request.groupId)) ?? request), active: false };
  await ctx.store.apply({ conversation: declined });
  ctx.emit({ kind: 'changed', conversation: declined.groupId });
  return declined;
}

/** Block `username` at the server, and decline every pending request of theirs. Returns those declined. */
export async function blockUser(ctx: MessengerContext, username: string): Promise<ConversationRecord[]> {
  await ctx.contacts.block(username);
  const theirs = (await ctx.store.listConversations()).filter((c) => isPendingRequest(c) && c.requestFrom === username);
  const declined: ConversationRecord[] = [];
  for (const request of theirs) declined.push(await declineRequest(ctx, request));
  return declined;
}

/**
 * Another device of mine may have accepted a request (the requester is my contact now, at the
 * server): accepted here too. One from a user I block (its Welcome was queued before the block)
 * is declined. One contacts.list per sync, and only while requests are pending.
 */
export async function settleRequests(ctx: MessengerContext): Promise<void> {
  const pending = (await ctx.store.listConversations()).filter(isPendingRequest);
  if (pending.length === 0) return;
  const { contacts, blocked } = await ctx.contacts.refresh();
  for (const request of pending) {
    if (request.requestFrom === undefined) continue;
    if (blocked.includes(request.requestFrom)) {
      await declineRequest(ctx, request);
      continue;
    }
    if (!contacts.includes(request.requestFrom)) continue;
    const { requestFrom: _accepted, ...accepted } = request;
    await ctx.store.apply({ conversation: accepted });
    ctx.emit({ kind: 'changed', conversation: accepted.groupId });
  }
}
