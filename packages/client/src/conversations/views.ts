/** @module Read-only views over the client store: conversation lists, unread and locked messages, group lookup. */
import { ErrorCode, ParleyError, type GroupKind } from '@parley/protocol';
import type { ClientStore, ConversationRecord, StoredMessage } from '../store/client-store.js';
import { brokenGroup } from './broken-groups.js';

/** A message as the user sees it. */
export interface Message extends StoredMessage {
  conversation: string;
  kind: GroupKind;
  /** How it arrived, when that is known: over a direct session (DESIGN §9) or through the server. */
  via?: 'direct' | 'server';
  /** In a message request not accepted yet: who it is from (DESIGN §6 consent). Shown with the request, not among chats. */
  request?: string;
}

/** What a group is called on a device that has not been told its title yet. */
export function untitled(createdBy: string): string {
  return `group by ${createdBy}`;
}

export function present(conversation: ConversationRecord, message: StoredMessage): Message {
  const request = conversation.requestFrom === undefined ? {} : { request: conversation.requestFrom };
  return { ...message, conversation: conversation.kind === 'direct' ? (conversation.peer ?? conversation.title) : conversation.title, kind: conversation.kind, ...request };
}

/** Chats: every conversation but message requests, pending or declined (those are listed apart). */
const isChat = (conversation: ConversationRecord): boolean => conversation.requestFrom === undefined;

/** A conversation with how many of its messages are unread, how many are time-locked still, and why it is broken, if it is. */
export type ConversationSummary = ConversationRecord & { unread: number; locked: number; broken?: string };

/** How many of a conversation's messages are unread, not counting those of users I block (`hidden`). */
export async function countUnread(store: ClientStore, groupId: string, hidden: ReadonlySet<string>): Promise<number> {
  if (hidden.size === 0) return store.countUnread(groupId);
  return (await store.listMessages(groupId, { unreadOnly: true })).filter((message) => !hidden.has(message.sender)).length;
}

/** Conversations with unread (less what users I block wrote) and locked counts, newest activity first. */
export async function conversations(store: ClientStore, hidden: ReadonlySet<string> = new Set()): Promise<ConversationSummary[]> {
  const list = (await store.listConversations()).filter(isChat);
  const locked = new Map<string, number>();
  for (const message of await store.listLockedMessages()) locked.set(message.groupId, (locked.get(message.groupId) ?? 0) + 1);
  const withCounts = await Promise.all(
    list.map(async (c) => {
      const broken = c.active ? undefined : await brokenGroup({ store }, c.groupId);
      return { ...c, unread: await countUnread(store, c.groupId, hidden), locked: locked.get(c.groupId) ?? 0, ...(broken ? { broken: broken.reason } : {}) };
    }),
  );
  return withCounts.sort((a, b) => b.lastActivityAt - a.lastActivityAt);
}

/**
 * Unread messages of chats, oldest first. Those from users I block (`hidden`: in a group, the
 * server cannot hold them back for me alone) are marked read instead, so they never count.
 */
export async function unread(store: ClientStore, hidden: ReadonlySet<string> = new Set()): Promise<Message[]> {
  const out: Message[] = [];
  for (const conversation of (await store.listConversations()).filter(isChat)) {
    for (const message of await store.listMessages(conversation.groupId, { unreadOnly: true })) {
      if (hidden.has(message.sender)) await store.markRead(conversation.groupId, message.seq);
      else out.push(present(conversation, message));
    }
  }
  return out.sort((a, b) => a.sentAt - b.sentAt || a.seq - b.seq);
}

/** Time-locked messages not opened yet, soonest unlock first. */
export async function lockedMessages(store: ClientStore): Promise<Message[]> {
  const conversations = new Map((await store.listConversations()).map((c) => [c.groupId, c]));
  return (await store.listLockedMessages()).flatMap((message) => {
    const conversation = conversations.get(message.groupId);
    return conversation ? [present(conversation, message)] : [];
  });
}

export async function markShown(store: ClientStore, messages: Message[]): Promise<void> {
  const highest = new Map<string, number>();
  for (const message of messages) highest.set(message.groupId, Math.max(highest.get(message.groupId) ?? 0, message.seq));
  for (const [groupId, seq] of highest) await store.markRead(groupId, seq);
}

/** A group by id, or by title when exactly one of my active groups has it. */
export async function findGroup(store: ClientStore, name: string): Promise<ConversationRecord> {
  const groups = (await store.listConversations()).filter((c) => c.kind === 'group' && c.active);
  const byId = groups.find((c) => c.groupId === name);
  if (byId) return byId;
  const byTitle = groups.filter((c) => c.title === name);
  if (byTitle.length === 1 && byTitle[0]) return byTitle[0];
  if (byTitle.length > 1) throw new ParleyError(ErrorCode.BAD_INPUT, `several groups are called ${name}; use the group id (${byTitle.map((c) => c.groupId).join(', ')})`);
  throw new ParleyError(ErrorCode.NOT_FOUND, `no group ${name} among your groups`);
}
