/**
 * @module The conversations side of the engine: the list (from the local store, so it works
 * offline), history of the open chat, the SDK's conversation events (pushed messages, losses,
 * failures), and sending through the outbox (outbox.ts). The connection side lends it the
 * messenger; group membership is in groups.ts.
 */
import { brokenReason, countUnread, equalBytes, ErrorCode, type ConversationEvent, type Message, type Messenger, type StoredMessage } from '@parley/client';
import type { IndexedDbClientStore } from '../storage/client-store.js';
import { describeError, isCode, isConnectionError, keyChangedMessage, USERNAME_RULE } from './errors.js';
import type { AppState, ChatMessage, ConversationView, Selection } from './state.js';
import type { IndexedDbOutbox, OutboxTarget } from '../storage/outbox-store.js';
import { conversationError } from './conversation-errors.js';
import { Direct } from './direct.js';
import { Outbox, withoutHeldCopies } from './outbox.js';

export interface ConversationsHost {
  state(): AppState;
  set(patch: Partial<AppState> | ((state: AppState) => Partial<AppState>)): void;
  /** This browser's store (a new handle per connection). */
  store(): IndexedDbClientStore;
  /** The current connection's messenger; undefined while offline. */
  messenger(): Messenger | undefined;
  /** This browser's outbox (in the messages database, one handle for the page's life). */
  outbox(): IndexedDbOutbox;
  /** A direct chat with `peer` was opened: look at their identity key. */
  openedDirect(peer: string): void;
  /** A send to `peer` was refused because their identity key changed. */
  identityKeyChanged(peer: string): void;
  /** A chat was opened: load what shows beside its messages. */
  openedChat(groupId: string): void;
  /** Whether `username` has an account: undefined when that cannot be told now (offline). */
  userExists(username: string): Promise<boolean | undefined>;
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
  /** Numbers the error lines of conversations, for their React keys. */
  private errorLines = 0;
  readonly outbox: Outbox;
  /** Direct sessions with 1:1 peers: the outbox sends their texts over an open one. */
  readonly direct: Direct;

  constructor(private readonly host: ConversationsHost) {
    this.direct = new Direct(host);
    this.outbox = new Outbox({
      state: () => this.host.state(),
      setMessages: (key, update) => this.setMessages(key, update),
      messenger: () => this.host.messenger(),
      sendDirect: (messenger, peer, text, options) => this.direct.send(messenger, peer, text, options),
      delivered: (shown, sent) => this.delivered(shown, sent),
      refusal: (error, target) => this.refusal(error, target),
      store: () => this.host.outbox(),
      failed: (error) => this.host.set({ notice: `Messages waiting to be sent could not be read or saved in this browser: ${describeError(error)}` }),
    });
  }

  private setMessages(key: string, update: (messages: ChatMessage[]) => ChatMessage[]): void {
    this.host.set((state) => ({ messages: { ...state.messages, [key]: withoutHeldCopies(update(state.messages[key] ?? [])) } }));
  }


  /** The conversation list from the local store (works offline too), newest first. */
  async refreshConversations(): Promise<void> {
    const store = this.host.store();
    const records = await store.listConversations();
    // Users I block: nothing of theirs counts as unread or shows as the preview (DESIGN §6 consent).
    const hidden = this.host.messenger()?.hiddenSenders ?? new Set<string>();
    const lastShown = async (groupId: string): Promise<StoredMessage | undefined> =>
      hidden.size === 0 ? store.lastMessage(groupId) : (await store.listMessages(groupId)).filter((m) => !hidden.has(m.sender)).at(-1);
    const views = await Promise.all(
      records.map(async (record): Promise<ConversationView> => {
        const peer = record.kind === 'direct' ? record.peer : undefined;
        const [unread, last, verified, broken] = await Promise.all([countUnread(store, record.groupId, hidden), lastShown(record.groupId), peer ? isVerified(store, peer) : false, record.active ? undefined : brokenReason(store, record.groupId)]);
        return {
          groupId: record.groupId,
          kind: record.kind,
          name: record.kind === 'direct' ? (record.peer ?? record.title) : record.title,
          unread,
          lastActivityAt: Math.max(record.lastActivityAt, last?.sentAt ?? 0),
          active: record.active,
          ...(broken ? { broken } : {}),
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
    else if (event.kind === 'history') void this.reloadSelection();
    else if (event.kind === 'unlocked') this.opened(event.message);
    else if (event.kind === 'gap') this.host.set({ notice: `${event.gap.toSeq - event.gap.fromSeq + 1} older messages were dropped by the server before this device fetched them.` });
    else if (event.kind === 'error') this.host.set((state) => conversationError(state, event, ++this.errorLines));
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
    // Where "New messages" goes is worked out afresh each time a chat is opened.
    this.host.set({ selection, firstUnread: undefined });
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
    const groupId = selection.groupId;
    this.host.openedChat(groupId);
    // Messages of users I block stay in the store but are not shown (a group's log is shared; DESIGN §6 consent).
    const hidden = this.host.messenger()?.hiddenSenders;
    const stored = (await this.host.store().listMessages(groupId)).filter((m) => !hidden?.has(m.sender));
    const me = this.host.state().me?.username;
    const firstUnread = stored.find((m) => !m.read && m.sender !== me)?.seq;
    this.host.set((state) => {
      const pending = (state.messages[groupId] ?? []).filter((m) => m.seq === undefined);
      const messages = { ...state.messages, [groupId]: withoutHeldCopies([...stored.map((m) => toChatMessage(m, me)), ...pending].sort(byTime)) };
      // Kept while the chat stays open (a reconnect reloads it, with everything read by then).
      const keep = state.firstUnread?.groupId === groupId;
      return keep ? { messages } : { messages, firstUnread: { groupId, ...(firstUnread === undefined ? {} : { seq: firstUnread }) } };
    });
    await this.markSelectionRead();
  }

  /** `returning`: the page is back in view, and what came meanwhile gets "New messages" above it. */
  async markSelectionRead(options: { returning?: boolean } = {}): Promise<void> {
    const selection = this.host.state().selection;
    if (selection.kind !== 'chat' || document.visibilityState !== 'visible') return;
    if (options.returning) {
      const me = this.host.state().me?.username;
      const first = (await this.host.store().listMessages(selection.groupId, { unreadOnly: true })).find((m) => m.sender !== me)?.seq;
      if (first !== undefined) this.host.set({ firstUnread: { groupId: selection.groupId, seq: first } });
    }
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
    // Offline it cannot be told; the first message then says so if there is no such user.
    if (!existing && (await this.host.userExists(peer)) === false) throw new Error(`There is no user called ${peer}.`);
    this.select(existing ? { kind: 'chat', groupId: existing.groupId } : { kind: 'draft', peer });
  }

  async send(text: string, options: { unlockAt?: number } = {}): Promise<void> {
    const selection = this.host.state().selection;
    if (selection.kind === 'none' || !this.host.state().me) throw new Error('Choose a conversation first.');
    if (selection.kind === 'draft') return this.outbox.add({ kind: 'direct', peer: selection.peer }, draftKey(selection.peer), text, options.unlockAt);
    const record = await this.host.store().getConversation(selection.groupId);
    if (!record) throw new Error('This conversation is gone from this browser.');
    const target = record.kind === 'direct' && record.peer ? ({ kind: 'direct', peer: record.peer } as const) : ({ kind: 'group', groupId: record.groupId } as const);
    await this.outbox.add(target, selection.groupId, text, options.unlockAt);
  }

  /** The server accepted a message of the outbox: show it as sent, in the chat its first message created if it was a draft. */
  private async delivered(local: ChatMessage, sent: Message): Promise<void> {
    const delivered: ChatMessage = { key: `${sent.groupId}:${sent.seq}`, groupId: sent.groupId, seq: sent.seq, sender: local.sender, sentAt: sent.sentAt, text: local.text, mine: true, delivery: 'sent', ...(local.lock ? { lock: local.lock } : {}) };
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
      if (current.kind === 'draft' && draftKey(current.peer) === local.groupId) this.host.set({ selection: { kind: 'chat', groupId: sent.groupId }, firstUnread: { groupId: sent.groupId } });
    } else {
      this.setMessages(sent.groupId, (list) => list.filter((m) => m.seq !== sent.seq).map((m) => (m.key === local.key ? delivered : m)).sort(byTime));
    }
    await this.refreshConversations();
  }

  /** Why a send was refused, in words; a changed identity key is also reported to the trust side. */
  private refusal(error: unknown, target: OutboxTarget): string {
    const peer = target.kind === 'direct' ? target.peer : undefined;
    if (isCode(error, ErrorCode.UNKNOWN_USER) && peer) return `There is no user called ${peer}.`;
    if (isCode(error, ErrorCode.IDENTITY_KEY_CHANGED) && peer) {
      // The SDK refused before anything left this browser (DESIGN §11).
      this.host.identityKeyChanged(peer);
      return keyChangedMessage(peer);
    }
    // The SDK may have created the conversation before failing; show it if so.
    this.refreshSoon();
    return describeError(error);
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
