/**
 * @module The outbox side of the engine: every message written in this browser is kept in
 * IndexedDB until the server accepts it, shown as waiting meanwhile, and sent by itself, oldest
 * first, whenever the connection is up (at once, and after every reconnect). The ciphertext of
 * each attempt is kept before it leaves (the SDK's `onSealed`), and a resend sends those bytes
 * again (`sealed`): the server answers a copy it already stored with its first sequence number,
 * so a message whose reply was lost, or that was in flight at a reload, still arrives once.
 * A text that went over a direct session keeps its identity (`sealed.direct`): a resend is the
 * fallback through the server that the peer keeps once, even if the channel brought it already.
 * One that cannot be sent as it is waits, with the reason, for Retry or Delete.
 */
import type { Message, Messenger, SealedText, SendOptions } from '@parley/client';
import type { IndexedDbOutbox, OutboxEntry, OutboxTarget } from '../storage/outbox-store.js';
import { describeError, isConnectionError } from './errors.js';
import type { AppState, ChatMessage, Delivery } from './state.js';

export interface OutboxHost {
  state(): AppState;
  /** Change the messages shown for one conversation (or draft). */
  setMessages(key: string, update: (messages: ChatMessage[]) => ChatMessage[]): void;
  /** The current connection's messenger; undefined while offline. */
  messenger(): Messenger | undefined;
  /** A text to a 1:1 peer: over a direct session while one is open (DESIGN §9), else through the server. */
  sendDirect(messenger: Messenger, peer: string, text: string, options: SendOptions): Promise<Message>;
  /** The server accepted `shown`: show it as sent in its conversation (a draft becomes its chat). */
  delivered(shown: ChatMessage, sent: Message): Promise<void>;
  /** Why `error` keeps the message from being sent, in words (and what else it means, e.g. a changed key). */
  refusal(error: unknown, target: OutboxTarget): string;
  /** Where the outbox is kept (one handle for the page's life). */
  store(): IndexedDbOutbox;
  /** The outbox itself failed (IndexedDB): tell the user; what it holds stays for the next run. */
  failed(error: unknown): void;
}

/** After a timeout on a live connection, look again this much later (a reconnect also resends). */
const RETRY_AFTER_TIMEOUT_MS = 5_000;

export class Outbox {
  private running = false;
  private again = false;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly host: OutboxHost) {}

  private get store(): IndexedDbOutbox {
    return this.host.store();
  }

  /** Show what the outbox holds (after a reload it is all that is left of those messages), then send it. */
  async load(): Promise<void> {
    const entries = await this.store.list();
    for (const entry of entries) this.show(entry, entry.failure ? 'failed' : 'queued');
    this.flush();
  }

  async add(target: OutboxTarget, shownIn: string, text: string, unlockAt: number | undefined): Promise<void> {
    const entry: OutboxEntry = { id: crypto.randomUUID(), createdAt: Date.now(), target, shownIn, text, ...(unlockAt === undefined ? {} : { unlockAt }) };
    this.show(entry, 'queued');
    try {
      await this.store.put(entry);
    } catch (error) {
      // Not kept, so not shown as if it were: the caller gives the text back.
      this.host.setMessages(shownIn, (list) => list.filter((m) => m.outboxId !== entry.id));
      throw new Error(`This browser could not keep the message to send it: ${describeError(error)}`, { cause: error });
    }
    this.flush();
  }

  async retry(message: ChatMessage): Promise<void> {
    const entry = (await this.store.list()).find((e) => e.id === message.outboxId);
    if (!entry) return;
    const { failure: _failure, ...waiting } = entry;
    await this.store.put(waiting);
    this.show(waiting, 'queued');
    this.flush();
  }

  async discard(message: ChatMessage): Promise<void> {
    if (!message.outboxId) return;
    await this.store.delete(message.outboxId);
    this.host.setMessages(message.groupId, (list) => list.filter((m) => m.key !== message.key));
  }

  /** Send what waits, oldest first, unless a run is on already (then it looks once more when done). */
  flush(): void {
    clearTimeout(this.retryTimer);
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void (async () => {
      try {
        do {
          this.again = false;
          await this.sendWaiting();
        } while (this.again);
      } catch (error) {
        this.host.failed(error);
      } finally {
        this.running = false;
      }
    })();
  }

  /** Logging out: no more timed retries (the store is cleared with the rest of this browser's messages). */
  cancel(): void {
    clearTimeout(this.retryTimer);
  }

  private async sendWaiting(): Promise<void> {
    for (;;) {
      const messenger = this.host.messenger();
      if (!messenger) return;
      const next = (await this.store.list()).find((entry) => !entry.failure);
      if (!next || !(await this.attempt(messenger, next))) return;
    }
  }

  /** One attempt; false when the connection failed, so the rest waits for it. */
  private async attempt(messenger: Messenger, entry: OutboxEntry): Promise<boolean> {
    let current = entry;
    this.show(current, 'sending');
    const options: SendOptions = {
      ...(entry.unlockAt === undefined ? {} : { unlockAt: entry.unlockAt }),
      ...(entry.sealed ? { sealed: entry.sealed } : {}),
      onSealed: async (sealed: SealedText) => {
        current = { ...current, sealed };
        await this.store.put(current);
      },
    };
    let sent: Message;
    try {
      sent = entry.target.kind === 'direct' ? await this.host.sendDirect(messenger, entry.target.peer, entry.text, options) : await messenger.sendToGroup(entry.target.groupId, entry.text, options);
    } catch (error) {
      if (isConnectionError(error)) {
        this.show(current, 'queued');
        // A reconnect sends it again; a timeout on a connection that stays up is looked at later.
        if (this.host.messenger()) this.retryTimer = setTimeout(() => this.flush(), RETRY_AFTER_TIMEOUT_MS);
        return false;
      }
      const failed = { ...current, failure: this.host.refusal(error, entry.target) };
      await this.store.put(failed);
      this.show(failed, 'failed');
      return true;
    }
    await this.store.delete(entry.id);
    if (entry.shownIn !== sent.groupId) await this.moveDrafts(entry.shownIn, sent.groupId);
    await this.host.delivered(toChatMessage(current, 'sending', this.host.state().me?.username ?? ''), sent);
    return true;
  }

  /** The first message of a chat created it: the others written before are shown there from now on. */
  private async moveDrafts(from: string, to: string): Promise<void> {
    for (const entry of await this.store.list()) if (entry.shownIn === from) await this.store.put({ ...entry, shownIn: to });
  }

  private show(entry: OutboxEntry, delivery: Delivery): void {
    const shown = toChatMessage(entry, delivery, this.host.state().me?.username ?? '');
    this.host.setMessages(entry.shownIn, (list) => (list.some((m) => m.key === shown.key) ? list.map((m) => (m.key === shown.key ? shown : m)) : [...list, shown]));
  }
}

/**
 * A direct send still in the outbox may be stored here already (it went over the channel, and
 * the page reloaded before the ack): its outbox line stands for it, once.
 */
export function withoutHeldCopies(list: ChatMessage[]): ChatMessage[] {
  const waiting = list.filter((m) => m.outboxId !== undefined);
  if (waiting.length === 0) return list;
  return list.filter((m) => m.seq === undefined || !m.mine || !waiting.some((w) => w.sentAt === m.sentAt && w.text === m.text));
}

function toChatMessage(entry: OutboxEntry, delivery: Delivery, me: string): ChatMessage {
  return {
    key: `outbox:${entry.id}`,
    groupId: entry.shownIn,
    sender: me,
    // A direct send's own copy has the sentAt it went with; other entries show when they were written.
    sentAt: entry.sealed?.direct === true ? entry.sealed.sentAt : entry.createdAt,
    text: entry.text,
    mine: true,
    delivery,
    outboxId: entry.id,
    ...(entry.failure ? { error: entry.failure } : {}),
    ...(entry.unlockAt === undefined ? {} : { lock: { unlockAt: entry.unlockAt, locked: false } }),
  };
}
