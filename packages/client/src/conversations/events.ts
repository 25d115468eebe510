/**
 * @module What happens in conversations, as events: a message arrived or a locked one opened, an
 * entry failed, entries were lost, history came in, a conversation changed. The processing
 * pipeline emits them one entry at a time, whether the entry was pushed or fetched; apps
 * subscribe to show them live.
 */
import type { DeviceRef, ErrorCode, Gap } from '@parley/protocol';
import type { Message } from './views.js';

export interface HistoryChunkReceived {
  received: number;
  total: number;
  messages: number;
}

/** Who a commit added and removed, by MLS leaf (DESIGN §6): what the group's keys now reach. */
export interface MembershipChange {
  /** Who committed. */
  by: string;
  /** A new member's device, or a new device of a member. */
  added: DeviceRef[];
  removed: DeviceRef[];
}

export type ConversationEvent =
  | { kind: 'message'; message: Message }
  /** A time-locked message opened (DESIGN §8): its text is in, and how it opened (`message.lock.unlockedBy`). */
  | { kind: 'unlocked'; message: Message }
  /**
   * An entry was acknowledged without effect because it failed: it did not decrypt, a commit
   * broke the group's rules, a Welcome matched no KeyPackage. `conversation` is the group id
   * (base64url), absent for a history chunk.
   */
  | { kind: 'error'; conversation?: string; code: ErrorCode; message: string }
  /** The server no longer had these entries (retention or quota): reported, never silently lost. */
  | { kind: 'gap'; conversation: string; gap: Gap }
  | { kind: 'history'; chunk: HistoryChunkReceived }
  /**
   * The conversation's record changed: joined, titled, membership changed, left or removed. From
   * a log entry: its `seq`, what a commit changed in `membership`, and who announced leaving in `departed`.
   */
  | { kind: 'changed'; conversation: string; seq?: number; membership?: MembershipChange; departed?: string };

export type ConversationError = Extract<ConversationEvent, { kind: 'error' }>;

/** What one sync processed. */
export interface SyncResult {
  messages: Message[];
  /** Time-locked messages that opened. */
  unlocked: Message[];
  gaps: Gap[];
  /** History chunks received from another device of the account. */
  history: HistoryChunkReceived[];
  /** Entries that failed and were skipped (each also emitted as an event). */
  errors: ConversationError[];
}

/** Fans events out to listeners, and to collectors gathering what one operation produced. */
export class ConversationEvents {
  private readonly listeners = new Set<(event: ConversationEvent) => void>();
  private readonly collectors = new Set<ConversationEvent[]>();

  on(listener: (event: ConversationEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get listened(): boolean {
    return this.listeners.size > 0;
  }

  readonly emit = (event: ConversationEvent): void => {
    for (const collected of this.collectors) collected.push(event);
    for (const listener of this.listeners) listener(event);
  };

  /** Run `task` and return, beside its result, the events emitted meanwhile (tasks run one at a time). */
  async collect<T>(task: () => Promise<T>): Promise<{ result: T; events: ConversationEvent[] }> {
    const events: ConversationEvent[] = [];
    this.collectors.add(events);
    try {
      return { result: await task(), events };
    } finally {
      this.collectors.delete(events);
    }
  }
}

export function syncResult(events: ConversationEvent[]): SyncResult {
  const result: SyncResult = { messages: [], unlocked: [], gaps: [], history: [], errors: [] };
  for (const event of events) {
    if (event.kind === 'message') result.messages.push(event.message);
    else if (event.kind === 'unlocked') result.unlocked.push(event.message);
    else if (event.kind === 'gap') result.gaps.push(event.gap);
    else if (event.kind === 'history') result.history.push(event.chunk);
    else if (event.kind === 'error') result.errors.push(event);
  }
  return result;
}
