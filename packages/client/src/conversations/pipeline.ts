/**
 * @module The processing pipeline: every log entry and mailbox entry is processed on its own,
 * one at a time, however it arrived (pushed or fetched). This is the one place where an entry's
 * failure is handled: a RejectedEntry is acknowledged (the cursor moves past it) and reported
 * as an error event of its conversation, never blocking the entries after it. A failure of the
 * channel or the store is not the entry's: it propagates, nothing is acknowledged, and the
 * entry is processed again on the next sync. A refused commit the server accepted leaves the
 * group in an epoch this device cannot reach: it rejoins at once (rejoin.ts).
 */
import { groupIdText, type LogEntry, type MailboxEntry } from '@parley/protocol';
import type { MessengerContext } from './context.js';
import type { KeyPackageKind } from './key-packages.js';
import { applyLogEntry } from './log-entries.js';
import { applyMailboxEntry } from './mailbox-entries.js';
import { RejectedEntry } from './rejected-entry.js';
import { recoverLostEpoch } from './rejoin.js';
import type { OpenedLocks } from './timelocks.js';

/** What became of a log entry: `unknown` means no conversation holds its group (not joined yet, or state lost). */
export type LogOutcome = 'processed' | 'duplicate' | 'inactive' | 'unknown';

/** What processing asks of the rest of the messenger. */
export interface PipelineHooks {
  /** A member announced leaving a group. */
  departed(groupId: string, username: string): Promise<void>;
  /** A commit added devices of these users to a group. */
  added(groupId: string, usernames: string[]): Promise<void>;
  /** A Welcome used one of this device's KeyPackages. */
  keyPackageUsed(kind: KeyPackageKind): Promise<void>;
}

export class Pipeline {
  /**
   * Groups someone joined by external commit, with who joined: they cannot know the title until
   * a member tells them (its creator, or another device of theirs).
   */
  readonly titleNeeded = new Map<string, string>();

  constructor(
    private readonly ctx: MessengerContext,
    private readonly hooks: PipelineHooks,
  ) {}

  /** `via: 'direct'` for an entry a direct session's channel brought before the server did (DESIGN §9). */
  async logEntry(entry: LogEntry, via?: 'direct'): Promise<LogOutcome> {
    const groupId = groupIdText(entry.groupId);
    const conversation = await this.ctx.store.getConversation(groupId);
    if (!conversation) return 'unknown';
    if (!conversation.active) return 'inactive';
    if (entry.seq <= conversation.processedSeq) return 'duplicate';
    try {
      const applied = await applyLogEntry(this.ctx, conversation, entry);
      if (applied.added && applied.added.length > 0) await this.hooks.added(groupId, applied.added);
      if (applied.departed) await this.hooks.departed(groupId, applied.departed);
      if (applied.joinedExternally && conversation.kind === 'group') this.titleNeeded.set(groupId, entry.sender.username);
      if (applied.message) this.ctx.emit({ kind: 'message', message: via ? { ...applied.message, via } : applied.message });
      else if (applied.changed) {
        const detail = { ...(applied.membership ? { membership: applied.membership } : {}), ...(applied.departed ? { departed: applied.departed } : {}) };
        this.ctx.emit({ kind: 'changed', conversation: groupId, seq: entry.seq, ...detail });
      }
      if (applied.refused) this.ctx.emit({ kind: 'error', conversation: groupId, code: applied.refused.code, message: applied.refused.message });
    } catch (error) {
      if (!(error instanceof RejectedEntry)) throw error;
      await this.ctx.store.apply({ conversation: { ...conversation, ...error.keep, processedSeq: entry.seq } });
      const refusedCommit = entry.kind === 'commit';
      this.ctx.emit({ kind: 'error', conversation: groupId, code: error.code, message: refusedCommit ? `${error.message}; rejoining the group` : error.message });
      // The server took the commit, so the group moved on without this device: rejoin, or mark it broken.
      if (refusedCommit) await recoverLostEpoch(this.ctx, groupId);
    }
    return 'processed';
  }

  async mailboxEntry(entry: MailboxEntry): Promise<void> {
    try {
      const applied = await applyMailboxEntry(this.ctx, entry);
      if (applied.keyPackageUsed) await this.hooks.keyPackageUsed(applied.keyPackageUsed);
      if (applied.history) this.ctx.emit({ kind: 'history', chunk: applied.history });
      if (applied.changed) this.ctx.emit({ kind: 'changed', conversation: applied.changed });
      if (applied.released) this.opened(applied.released);
    } catch (error) {
      if (!(error instanceof RejectedEntry)) throw error;
      // A history chunk's group id is its transfer id: it belongs to no conversation.
      this.ctx.emit({ kind: 'error', ...(entry.kind === 'transfer' ? {} : { conversation: groupIdText(entry.groupId) }), code: error.code, message: error.message });
    }
  }

  /** What released time locks opened, and the messages they did not open (each an error of its conversation). */
  opened(locks: OpenedLocks): void {
    for (const message of locks.unlocked) this.ctx.emit({ kind: 'unlocked', message });
    for (const { conversation, error } of locks.refused) this.ctx.emit({ kind: 'error', conversation, code: error.code, message: error.message });
  }
}
