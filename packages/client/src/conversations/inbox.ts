/**
 * @module Receiving (DESIGN §6). Entries reach this device pushed one by one as the server stores
 * them, or fetched: everything new (a full sync), or one group's range (a hole before a pushed
 * entry, or a conversation caught up before sending into it). Pushed entries are applied
 * directly, in sequence order; a hole before one is filled by fetching only the missing range.
 * The server never sends a device its own entries, so the sequence numbers it gave this
 * device's sends and commits count as seen. Exactly once: an entry at or below a conversation's
 * processed sequence number is a duplicate.
 */
import { groupIdText, type FetchRange, type Gap, type LogEntry, type MailboxEntry, type ResponseOf } from '@parley/protocol';
import type { ConversationRecord } from '../store/client-store.js';
import { brokenGroup } from './broken-groups.js';
import type { MessengerContext } from './context.js';
import { groupIdBytes } from './group-summaries.js';
import type { LogOutcome } from './pipeline.js';
import { recoverFromGap } from './rejoin.js';

const FULL_SYNC_LIMIT = 500;

/** What sending and committing need from the receiving side. */
export interface GroupLog {
  /** Process what the group's log holds that this device has not, and acknowledge it. */
  catchUp(groupId: string): Promise<void>;
  /** The server stored an entry of this device at `seq`. */
  accepted(groupId: string, seq: number): void;
}

/** Who processes each entry, one at a time: the pipeline. */
export interface EntryProcessor {
  logEntry(entry: LogEntry, via?: 'direct'): Promise<LogOutcome>;
  mailboxEntry(entry: MailboxEntry): Promise<void>;
}

export class Inbox implements GroupLog {
  /** Sequence numbers of this device's own entries not yet passed by the cursor, per group. */
  private readonly own = new Map<string, Set<number>>();
  /** Mailbox entries processed on this connection: a push may repeat what a fetch brought. */
  private readonly mailboxSeen = new Set<number>();

  constructor(
    private readonly ctx: MessengerContext,
    private readonly pipeline: EntryProcessor,
  ) {}

  accepted(groupId: string, seq: number): void {
    const own = this.own.get(groupId) ?? new Set<number>();
    own.add(seq);
    this.own.set(groupId, own);
  }

  /**
   * A log entry the server pushed. Returns false when this device cannot place it (a group it
   * has not joined, or one whose state a gap made unusable): then only a full sync helps.
   */
  async pushed(entry: LogEntry, via?: 'direct'): Promise<boolean> {
    const groupId = groupIdText(entry.groupId);
    const conversation = await this.ctx.store.getConversation(groupId);
    if (!conversation) return this.passOverBroken(entry);
    if (!conversation.active || entry.seq <= conversation.processedSeq) return true;
    const expected = this.nextExpected(conversation);
    if (entry.seq > expected && !(await this.fill({ groupId: entry.groupId, fromSeq: expected, toSeq: entry.seq - 1 }))) return false;
    const outcome = await this.pipeline.logEntry(entry, via);
    if (outcome !== 'processed') return outcome !== 'unknown';
    await this.acknowledge([], [{ groupId: entry.groupId, seq: entry.seq }]);
    this.forgetOwn(groupId, entry.seq);
    return true;
  }

  /**
   * A message of a group this device never could join (marked broken) in the epoch it broke in:
   * acknowledged as it is, so a stranger's chatter there costs no full sync each. A commit
   * moves the group on: then a full sync tries to join again.
   */
  private async passOverBroken(entry: LogEntry): Promise<boolean> {
    const mark = await brokenGroup(this.ctx, groupIdText(entry.groupId));
    if (!mark || entry.kind !== 'message' || entry.epoch > mark.epoch) return false;
    await this.acknowledge([], [{ groupId: entry.groupId, seq: entry.seq }]);
    return true;
  }

  async pushedMailbox(entry: MailboxEntry): Promise<void> {
    if (this.mailboxSeen.has(entry.id)) return;
    await this.pipeline.mailboxEntry(entry);
    this.mailboxSeen.add(entry.id);
    await this.acknowledge([entry.id], []);
  }

  async catchUp(groupId: string): Promise<void> {
    const conversation = await this.ctx.store.getConversation(groupId);
    if (!conversation?.active) return;
    const last = await this.fetchRange({ groupId: groupIdBytes(groupId), fromSeq: this.nextExpected(conversation) });
    if (last === undefined) return;
    await this.acknowledge([], [{ groupId: groupIdBytes(groupId), seq: last }]);
    this.forgetOwn(groupId, last);
  }

  /** Fetch, process and acknowledge everything new, in batches. Returns the groups with gaps. */
  async fetchAll(): Promise<string[]> {
    const gapped = new Set<string>();
    for (;;) {
      const batch = await this.ctx.request('sync.fetch', { limit: FULL_SYNC_LIMIT });
      const cursors = new Map<string, number>();
      // Acknowledging the end of a gap tells the server we know what was lost.
      for (const gap of batch.gaps) {
        const groupId = this.reportGap(gap);
        gapped.add(groupId);
        cursors.set(groupId, Math.max(cursors.get(groupId) ?? 0, gap.toSeq));
      }
      for (const entry of batch.mailbox) {
        if (!this.mailboxSeen.has(entry.id)) await this.pipeline.mailboxEntry(entry);
        this.mailboxSeen.add(entry.id);
      }
      // Entries of a group no conversation holds are passed over: this device lost that state, and rejoins.
      for (const entry of batch.entries) {
        await this.pipeline.logEntry(entry);
        cursors.set(groupIdText(entry.groupId), Math.max(cursors.get(groupIdText(entry.groupId)) ?? 0, entry.seq));
      }
      await this.acknowledge(
        batch.mailbox.map((entry) => entry.id),
        [...cursors].map(([groupId, seq]) => ({ groupId: groupIdBytes(groupId), seq })),
      );
      for (const [groupId, seq] of cursors) this.forgetOwn(groupId, seq);
      if (!batch.more) break;
    }
    for (const groupId of gapped) await recoverFromGap(this.ctx, groupId);
    return [...gapped];
  }

  /**
   * Fill a hole before a pushed entry. Whatever the range held that the server did not send was
   * this device's own or is reported lost, so afterwards the conversation is at `toSeq`.
   * Returns false when a gap left the group in an epoch this device never reached.
   */
  private async fill(range: FetchRange & { toSeq: number }): Promise<boolean> {
    const groupId = groupIdText(range.groupId);
    await this.fetchRange(range);
    const conversation = await this.ctx.store.getConversation(groupId);
    if (!conversation?.active) return false;
    if (conversation.processedSeq < range.toSeq) await this.ctx.store.apply({ conversation: { ...conversation, processedSeq: range.toSeq } });
    return true;
  }

  /** Fetch and process one group's range; returns the last sequence number it covered, if any. */
  private async fetchRange(range: FetchRange): Promise<number | undefined> {
    let last: number | undefined;
    let fromSeq = range.fromSeq;
    let batch: ResponseOf<'sync.fetch'>;
    // Nothing is acknowledged between batches, so each reply repeats the group's gaps.
    const reported = new Set<string>();
    do {
      batch = await this.ctx.request('sync.fetch', { range: { ...range, fromSeq } });
      for (const gap of batch.gaps) {
        if (reported.has(`${gap.fromSeq}-${gap.toSeq}`)) continue;
        reported.add(`${gap.fromSeq}-${gap.toSeq}`);
        this.reportGap(gap);
        last = Math.max(last ?? 0, gap.toSeq);
      }
      for (const entry of batch.entries) {
        await this.pipeline.logEntry(entry);
        last = Math.max(last ?? 0, entry.seq);
        fromSeq = entry.seq + 1;
      }
    } while (batch.more && batch.entries.length > 0);
    if (reported.size > 0) await recoverFromGap(this.ctx, groupIdText(range.groupId));
    return last;
  }

  private reportGap(gap: Gap): string {
    const groupId = groupIdText(gap.groupId);
    this.ctx.emit({ kind: 'gap', conversation: groupId, gap });
    return groupId;
  }

  private nextExpected(conversation: ConversationRecord): number {
    const own = this.own.get(conversation.groupId);
    let next = conversation.processedSeq + 1;
    while (own?.has(next)) next++;
    return next;
  }

  private forgetOwn(groupId: string, upTo: number): void {
    const own = this.own.get(groupId);
    if (!own) return;
    for (const seq of own) if (seq <= upTo) own.delete(seq);
    if (own.size === 0) this.own.delete(groupId);
  }

  private async acknowledge(mailbox: number[], cursors: { groupId: Uint8Array; seq: number }[]): Promise<void> {
    if (mailbox.length > 0 || cursors.length > 0) await this.ctx.request('sync.ack', { mailbox, cursors });
  }
}
