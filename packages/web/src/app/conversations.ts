/**
 * @module The conversations side of the engine: the list (from the local store, so it works
 * offline), history of the open chat, the SDK's conversation events (pushed messages, losses,
 * failures), sending with delivery state, and group membership. The connection side lends it
 * the messenger.
 */
import { equalBytes, ErrorCode, type ConversationEvent, type Message, type Messenger, type StoredMessage } from '@parley/client';
import type { IndexedDbClientStore } from '../storage/client-store.js';
import { describeError, isCode, isConnectionError, keyChangedMessage, USERNAME_RULE } from './errors.js';
import type { AppState, ChatMessage, ConversationView, GroupMembers, Selection } from './state.js';
import { lockFailureNotice } from './timelocks.js';

export interface ConversationsHost {
  state(): AppState;
  set(patch: Partial<AppState> | ((state: AppState) => Partial<AppState>)): void;
  /** This browser's store (a new handle per connection). */
  store(): IndexedDbClientStore;
  /** The current connection's messenger; undefined while offline. */
  messenger(): Messenger | undefined;
  /** A direct chat with `peer` was opened: look at their identity key. */
  openedDirect(peer: string): void;
  /** A send to `peer` was refused because their identity key changed. */
  identityKeyChanged(peer: string): void;
  /** A text to a 1:1 peer: over a direct session while one is open (DESIGN §9), else through the server. */
  sendDirect(messenger: Messenger, peer: string, text: string, options: { unlockAt?: number }): Promise<Message>;
}

const USERNAME = /^[a-z0-9_.-]{3,32}$/;

const draftKey = (peer: string): string => `draft:${peer}`;


export function toChatMessage(message: StoredMessage, me: string | undefined): ChatMessage {
  const mine = message.sender === me;
  const lock = message.lock;
  return {
    key: `${message.groupId}:${message.seq}`,
    groupId: message.groupId,
    seq: message.seq,
    sender: message.sender,
    sentAt: message.sentAt,
    text: message.text ?? '',
    mine,
    delivery: mine ? 'sent' : 'received',
    ...(lock ? { lock: { unlockAt: lock.unlockAt, locked: message.text === undefined, ...(lock.unlockedBy ? { unlockedBy: lock.unlockedBy } : {}) } } : {}),
  };
}

export class Conversations {
  private refreshing = false;
  private refreshAgain = false;
  private localIds = 0;

  constructor(private readonly host: ConversationsHost) {}

  private requireMessenger(): Messenger {
    const messenger = this.host.messenger();
    if (!messenger) throw new Error('Not connected to the server. Parley keeps trying; try again in a moment.');
    return messenger;
  }

  private setMessages(key: string, update: (messages: ChatMessage[]) => ChatMessage[]): void {
    this.host.set((state) => ({ messages: { ...state.messages, [key]: update(state.messages[key] ?? []) } }));
  }


  /** The conversation list from the local store (works offline too), newest first. */
  async refreshConversations(): Promise<void> {
    const store = this.host.store();
    const records = await store.listConversations();
    const views = await Promise.all(
      records.map(async (record): Promise<ConversationView> => {
        const peer = record.kind === 'direct' ? record.peer : undefined;
        const [unread, last, verified] = await Promise.all([store.countUnread(record.groupId), store.lastMessage(record.groupId), peer ? isVerified(store, peer) : false]);
        return {
          groupId: record.groupId,
          kind: record.kind,
          name: record.kind === 'direct' ? (record.peer ?? record.title) : record.title,
          unread,
          lastActivityAt: Math.max(record.lastActivityAt, last?.sentAt ?? 0),
          active: record.active,
          ...(last ? { preview: `${last.sender === this.host.state().me?.username ? 'You' : last.sender}: ${last.text ?? 'a time-locked message'}` } : {}),
          ...(peer ? { peer, verified } : {}),
          ...(record.requestFrom === undefined ? {} : { request: record.requestFrom }),
        };
      }),
    );
    views.sort((a, b) => b.lastActivityAt - a.lastActivityAt);
    this.host.set({ conversations: views });
  }

  /** Catch up once after connecting; from then on the SDK applies pushes and reports them as events. */
  async catchUp(): Promise<void> {
    const messenger = this.host.messenger();
    if (!messenger) return;
    try {
      // What it processes reaches handle() as events, like what is pushed later.
      await messenger.sync();
    } catch (error) {
      if (!isConnectionError(error)) this.host.set({ notice: describeError(error) });
    }
  }

  /** One thing that happened in a conversation: show it, and bring the list up to date. */
  handle(event: ConversationEvent): void {
    if (event.kind === 'message') void this.received([event.message]);
    else if (event.kind === 'unlocked') this.opened(event.message);
    else if (event.kind === 'gap') this.host.set({ notice: `${event.gap.toSeq - event.gap.fromSeq + 1} older messages were dropped by the server before this device fetched them.` });
    else if (event.kind === 'error') this.host.set({ notice: lockFailureNotice(event.code) ?? `Something sent to a conversation could not be read, so it was skipped (${event.code}).` });
    this.refreshSoon();
  }

  /** Refresh the list once per burst of events, not once per event. */
  private refreshSoon(): void {
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = true;
    void (async () => {
      try {
        do {
          this.refreshAgain = false;
          await this.refreshConversations();
        } while (this.refreshAgain);
      } finally {
        this.refreshing = false;
      }
    })();
  }

  private async received(messages: Message[]): Promise<void> {
    const me = this.host.state().me?.username;
    for (const message of messages) {
      if (!this.host.state().messages[message.groupId]) continue; // loaded from the store when opened
      this.setMessages(message.groupId, (list) => (list.some((m) => m.seq === message.seq) ? list : [...list, toChatMessage(message, me)].sort(byTime)));
    }
    await this.markSelectionRead();
  }

  /** A time-locked message opened: show its text in place. */
  opened(message: StoredMessage): void {
    const opened = toChatMessage(message, this.host.state().me?.username);
    if (this.host.state().messages[message.groupId]) this.setMessages(message.groupId, (list) => list.map((m) => (m.key === opened.key ? opened : m)));
    void this.markSelectionRead();
  }

  select(selection: Selection): void {
    this.host.set({ selection });
    void this.reloadSelection();
    const peer = selection.kind === 'chat' ? this.peerOf(selection) : undefined;
    if (peer) this.host.openedDirect(peer);
  }

  /** The other user of a direct chat or draft; undefined for a group. */
  peerOf(selection: Selection): string | undefined {
    if (selection.kind === 'draft') return selection.peer;
    if (selection.kind === 'chat') return this.host.state().conversations.find((c) => c.groupId === selection.groupId)?.peer;
    return undefined;
  }

  async reloadSelection(): Promise<void> {
    const selection = this.host.state().selection;
    if (selection.kind !== 'chat') return;
    // Messages of users I block stay in the store but are not shown (a group's log is shared; DESIGN §6 consent).
    const hidden = this.host.messenger()?.hiddenSenders;
    const stored = (await this.host.store().listMessages(selection.groupId)).filter((m) => !hidden?.has(m.sender));
    const me = this.host.state().me?.username;
    this.setMessages(selection.groupId, (list) => {
      const pending = list.filter((m) => m.seq === undefined);
      return [...stored.map((m) => toChatMessage(m, me)), ...pending].sort(byTime);
    });
    await this.markSelectionRead();
  }

  async markSelectionRead(): Promise<void> {
    const selection = this.host.state().selection;
    if (selection.kind !== 'chat' || document.visibilityState !== 'visible') return;
    const unread = this.host.state().conversations.find((c) => c.groupId === selection.groupId)?.unread ?? 0;
    const loaded = this.host.state().messages[selection.groupId] ?? [];
    const newest = loaded.reduce((max, m) => Math.max(max, m.seq ?? 0), 0);
    if (newest === 0) return;
    const hasUnread = unread > 0 || (await this.host.store().countUnread(selection.groupId)) > 0;
    if (!hasUnread) return;
    await this.host.store().markRead(selection.groupId, newest);
    await this.refreshConversations();
  }

  async startChat(input: string): Promise<void> {
    const peer = input.trim().toLowerCase();
    if (!USERNAME.test(peer)) throw new Error(USERNAME_RULE);
    if (peer === this.host.state().me?.username) throw new Error('That is you. To keep notes, create a group with only yourself.');
    const existing = (await this.host.store().listConversations()).find((c) => c.kind === 'direct' && c.peer === peer && c.active);
    this.select(existing ? { kind: 'chat', groupId: existing.groupId } : { kind: 'draft', peer });
  }

  async send(text: string, options: { unlockAt?: number } = {}): Promise<void> {
    const selection = this.host.state().selection;
    const me = this.host.state().me?.username;
    if (selection.kind === 'none' || !me) throw new Error('Choose a conversation first.');
    const key = selection.kind === 'chat' ? selection.groupId : draftKey(selection.peer);
    const lock = options.unlockAt === undefined ? {} : { lock: { unlockAt: options.unlockAt, locked: false } };
    const local: ChatMessage = { key: `local:${++this.localIds}`, groupId: key, sender: me, sentAt: Date.now(), text, mine: true, delivery: 'sending', ...lock };
    this.setMessages(key, (list) => [...list, local]);
    await this.deliver(local, selection);
  }

  async retry(message: ChatMessage): Promise<void> {
    const selection = this.host.state().selection;
    if (selection.kind === 'none') return;
    const retried: ChatMessage = { ...message, delivery: 'sending', sentAt: Date.now() };
    delete retried.error;
    this.setMessages(message.groupId, (list) => list.map((m) => (m.key === message.key ? retried : m)));
    await this.deliver(retried, selection);
  }

  private async deliver(local: ChatMessage, selection: Exclude<Selection, { kind: 'none' }>): Promise<void> {
    try {
      const messenger = this.requireMessenger();
      const options = local.lock ? { unlockAt: local.lock.unlockAt } : {};
      let sent: Message;
      if (selection.kind === 'draft') {
        sent = await messenger.sendDirect(selection.peer, local.text, options);
      } else {
        const record = await this.host.store().getConversation(selection.groupId);
        if (!record) throw new Error('This conversation is gone from this browser.');
        sent = record.kind === 'direct' && record.peer ? await this.host.sendDirect(messenger, record.peer, local.text, options) : await messenger.sendToGroup(record.groupId, local.text, options);
      }
      const delivered: ChatMessage = { ...local, key: `${sent.groupId}:${sent.seq}`, groupId: sent.groupId, seq: sent.seq, sentAt: sent.sentAt, delivery: 'sent' };
      if (local.groupId !== sent.groupId) {
        // A draft became a conversation: move its messages there and open it.
        const drafts = this.host.state().messages[local.groupId] ?? [];
        const stored = await this.host.store().listMessages(sent.groupId);
        this.host.set((state) => {
          const { [local.groupId]: _draft, ...rest } = state.messages;
          const moved = drafts.filter((m) => m.key !== local.key).map((m) => ({ ...m, groupId: sent.groupId }));
          return { messages: { ...rest, [sent.groupId]: [...stored.map((m) => toChatMessage(m, state.me?.username)), ...moved].sort(byTime) } };
        });
        const current = this.host.state().selection;
        if (current.kind === 'draft' && draftKey(current.peer) === local.groupId) this.host.set({ selection: { kind: 'chat', groupId: sent.groupId } });
      } else {
        this.setMessages(sent.groupId, (list) => list.filter((m) => m.seq !== sent.seq).map((m) => (m.key === local.key ? delivered : m)).sort(byTime));
      }
      await this.refreshConversations();
    } catch (error) {
      const peer = this.peerOf(selection);
      let reason: string;
      if (isCode(error, ErrorCode.UNKNOWN_USER) && selection.kind === 'draft') reason = `There is no user called ${selection.peer}.`;
      else if (isCode(error, ErrorCode.IDENTITY_KEY_CHANGED) && peer) {
        // The SDK refused before anything left this browser (DESIGN §11).
        reason = keyChangedMessage(peer);
        this.host.identityKeyChanged(peer);
      } else reason = error instanceof Error && !('code' in error) ? error.message : describeError(error);
      this.setMessages(local.groupId, (list) => list.map((m) => (m.key === local.key ? { ...m, delivery: 'failed', error: reason } : m)));
      // The SDK may have created the conversation before failing; show it if so.
      await this.refreshConversations();
    }
  }

  async createGroup(title: string, members: string[]): Promise<void> {
    try {
      const conversation = await this.requireMessenger().createGroup(title.trim(), members);
      await this.refreshConversations();
      this.select({ kind: 'chat', groupId: conversation.groupId });
    } catch (error) {
      await this.refreshConversations();
      throw new Error(describeError(error), { cause: error });
    }
  }

  async groupMembers(groupId: string): Promise<GroupMembers> {
    try {
      const { summary } = await this.requireMessenger().groupSummary(groupId);
      const members = [...new Set(summary.members.map((m) => m.username))].sort();
      return { members, admins: summary.admins, createdBy: summary.createdBy };
    } catch (error) {
      throw new Error(describeError(error), { cause: error });
    }
  }

  async addMembers(groupId: string, usernames: string[]): Promise<void> {
    try {
      await this.requireMessenger().addToGroup(groupId, usernames);
      await this.refreshConversations();
    } catch (error) {
      throw new Error(describeError(error), { cause: error });
    }
  }

  async removeMember(groupId: string, username: string): Promise<void> {
    try {
      await this.requireMessenger().removeFromGroup(groupId, [username]);
      await this.refreshConversations();
    } catch (error) {
      throw new Error(describeError(error), { cause: error });
    }
  }

  async leaveGroup(groupId: string): Promise<void> {
    try {
      await this.requireMessenger().leaveGroup(groupId);
      await this.refreshConversations();
    } catch (error) {
      throw new Error(describeError(error), { cause: error });
    }
  }
}

/** Marked verified, and the key compared is still the one this browser knows (the pinned key). */
async function isVerified(store: IndexedDbClientStore, peer: string): Promise<boolean> {
  const [verified, pinned] = await Promise.all([store.getVerifiedIdentity(peer), store.getPinnedIdentity(peer)]);
  return verified !== undefined && pinned !== undefined && equalBytes(verified, pinned);
}

function byTime(a: ChatMessage, b: ChatMessage): number {
  // Numbered messages in the server's order; unnumbered (still sending) ones after them.
  if (a.seq !== undefined && b.seq !== undefined) return a.seq - b.seq;
  if (a.seq !== undefined) return -1;
  if (b.seq !== undefined) return 1;
  return a.sentAt - b.sentAt;
}
