/**
 * @module Time-locked messages (DESIGN §8) in conversations. Sending: the server makes a lock for
 * the group and the text goes out sealed under its key. Receiving: a locked content is checked
 * and kept without its text; a release (a mailbox entry, or fetched) opens the messages of its
 * lock once its key matches their sender's commitment, and one that comes before its message
 * waits for it. A key that does not match is refused (BAD_RELEASE) and the message stays locked.
 */
import { CryptoError, checkTimelockPuzzle, lockText, unlockText } from '@parley/crypto';
import {
  decodeMessageContent,
  decodeTimelockRelease,
  encodeContent,
  equalBytes,
  ErrorCode,
  groupIdText,
  ParleyError,
  fromBase64Url,
  toBase64Url,
  ValidationError,
  type LockedContent,
  type MailboxEntry,
  type TimelockRelease,
} from '@parley/protocol';
import type { ClientStore, ConversationRecord, MessageLock, StoredMessage, UnlockedBy } from '../store/client-store.js';
import type { MessengerContext } from './context.js';
import { groupIdBytes } from './group-summaries.js';
import { reason, RejectedEntry } from './rejected-entry.js';
import { present, type Message } from './views.js';

/** timelock.fetch answers at most this many locks at a time. */
const FETCH_BATCH = 100;

/** The content to send for `text` locked until `unlockAt`: the server makes the lock, the text is sealed under its key. */
export async function lockedContent(ctx: MessengerContext, conversation: ConversationRecord, text: string, unlockAt: number, sentAt: number): Promise<LockedContent> {
  if (!Number.isSafeInteger(unlockAt) || unlockAt <= sentAt) throw new ParleyError(ErrorCode.BAD_INPUT, `the unlock time ${describeTime(unlockAt)} is not in the future`);
  const groupId = groupIdBytes(conversation.groupId);
  const grant = await ctx.request('timelock.lock', { groupId, unlockAt });
  return lockText(grant, { groupId, text, sentAt });
}

function describeTime(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms);
}

/**
 * The lock of a locked content just received, as stored: its puzzle checked first, so a solver
 * never starts on one out of range (BAD_PUZZLE). `keep` is what the pipeline keeps if it is refused.
 */
export function receivedLock(content: LockedContent, from: string, keep: Partial<ConversationRecord>): MessageLock {
  try {
    checkTimelockPuzzle(content.puzzle);
  } catch (error) {
    if (!(error instanceof CryptoError)) throw error;
    throw new RejectedEntry(ErrorCode.BAD_PUZZLE, `a time-locked message from ${from} was refused: ${error.message}`, keep, { cause: error });
  }
  // Kept whole until it opens: the puzzle, the commitment and the sealed text.
  return { lockId: toBase64Url(content.lockId), unlockAt: content.unlockAt, sealed: encodeContent(content) };
}

/** The code for content that did not decode: BAD_PUZZLE when a time lock's puzzle broke the schema (a modulus too short, too many squarings). */
export function contentFailure(error: unknown): ErrorCode {
  return error instanceof ValidationError && error.path.startsWith('puzzle.') ? ErrorCode.BAD_PUZZLE : ErrorCode.UNREADABLE_ENTRY;
}

/** The locked content a stored message keeps (it was checked when it arrived). */
export function sealedContent(message: StoredMessage): LockedContent {
  const sealed = message.lock?.sealed;
  if (!sealed) throw new ParleyError(ErrorCode.BAD_INPUT, `message ${message.seq} is not time-locked`);
  const content = decodeMessageContent(sealed);
  if (content.t !== 'locked') throw new ParleyError(ErrorCode.BAD_INPUT, `message ${message.seq} holds no locked content`);
  return content;
}

/**
 * Open a locked message with a key (released or solved), checked against its sender's commitment:
 * a release for another group or unlock time, or a key that does not match, is BAD_RELEASE.
 * Returns the opened message, or undefined if something opened it meanwhile.
 */
export async function openLocked(
  store: ClientStore,
  message: StoredMessage,
  key: Uint8Array,
  unlockedBy: UnlockedBy,
  release?: { groupId: string; unlockAt: number },
): Promise<StoredMessage | undefined> {
  const content = sealedContent(message);
  const refuse = (problem: string, cause?: unknown) =>
    new ParleyError(ErrorCode.BAD_RELEASE, `the time lock of message ${message.seq} from ${message.sender} ${problem}; it stays locked`, {}, { cause });
  if (release && release.groupId !== message.groupId) throw refuse(`was released for another group (${release.groupId})`);
  if (release && release.unlockAt !== content.unlockAt) throw refuse(`was released for ${describeTime(release.unlockAt)}, not for its unlock time ${describeTime(content.unlockAt)}`);
  let text;
  try {
    text = unlockText(content, groupIdBytes(message.groupId), key);
  } catch (error) {
    if (!(error instanceof CryptoError)) throw error;
    throw refuse(`did not open: ${error.message}`, error);
  }
  return store.openLockedMessage(message.groupId, message.seq, { text, unlockedBy });
}

/** A message's failure to open, as the pipeline reports it (error event of its conversation). */
function rejected(error: unknown): RejectedEntry {
  if (error instanceof ParleyError && error.code === ErrorCode.BAD_RELEASE) return new RejectedEntry(error.code, error.message, {}, { cause: error });
  throw error;
}

export interface OpenedLocks {
  unlocked: Message[];
  /** Messages of the lock that the key did not open (each an error of its conversation). */
  refused: { conversation: string; error: RejectedEntry }[];
}

/** A locked message just saved: open it at once if its release came first. */
export async function openIfReleased(ctx: MessengerContext, message: StoredMessage): Promise<{ opened?: StoredMessage; refused?: RejectedEntry }> {
  if (!message.lock?.sealed) return {};
  const release = await ctx.store.getPendingRelease(message.lock.lockId);
  if (!release) return {};
  try {
    const opened = await openLocked(ctx.store, message, release.key, 'server', release);
    return opened ? { opened } : {};
  } catch (error) {
    return { refused: rejected(error) };
  }
}

/** Open every locked message of a released lock, or keep the release until its message arrives. */
async function applyReleaseKey(ctx: MessengerContext, release: TimelockRelease): Promise<OpenedLocks> {
  const lockId = toBase64Url(release.lockId);
  const groupId = groupIdText(release.groupId);
  const messages = await ctx.store.listMessagesByLock(lockId);
  const result: OpenedLocks = { unlocked: [], refused: [] };
  if (messages.length === 0) {
    await ctx.store.putPendingRelease({ lockId, groupId, unlockAt: release.unlockAt, key: release.key });
    return result;
  }
  // Already open (by an earlier release, the puzzle, or as the sender's own copy): a repeat changes nothing.
  for (const message of messages.filter((m) => m.lock?.sealed)) {
    try {
      const opened = await openLocked(ctx.store, message, release.key, 'server', { groupId, unlockAt: release.unlockAt });
      const conversation = opened && (await ctx.store.getConversation(opened.groupId));
      if (opened && conversation) result.unlocked.push(present(conversation, opened));
    } catch (error) {
      result.refused.push({ conversation: message.groupId, error: rejected(error) });
    }
  }
  return result;
}

/** A `release` mailbox entry: the server released a lock's key to this device. */
export async function applyRelease(ctx: MessengerContext, entry: MailboxEntry): Promise<OpenedLocks> {
  let release: TimelockRelease;
  try {
    release = decodeTimelockRelease(entry.payload ?? new Uint8Array());
  } catch (error) {
    throw new RejectedEntry(ErrorCode.BAD_RELEASE, `a time-lock release is not readable: ${reason(error)}`, {}, { cause: error });
  }
  if (!equalBytes(release.groupId, entry.groupId)) {
    throw new RejectedEntry(ErrorCode.BAD_RELEASE, `a time-lock release for group ${groupIdText(release.groupId)} came as an entry of group ${groupIdText(entry.groupId)}`);
  }
  return applyReleaseKey(ctx, release);
}

/** Ask the server for the released keys of every message still locked here, and open those. */
export async function fetchReleases(ctx: MessengerContext): Promise<OpenedLocks> {
  const lockIds = [...new Set((await ctx.store.listLockedMessages()).flatMap((m) => (m.lock ? [m.lock.lockId] : [])))];
  const result: OpenedLocks = { unlocked: [], refused: [] };
  for (let start = 0; start < lockIds.length; start += FETCH_BATCH) {
    const asked = lockIds.slice(start, start + FETCH_BATCH);
    const { releases } = await ctx.request('timelock.fetch', { lockIds: asked.map((id) => fromBase64Url(id)) });
    for (const release of releases) {
      // Only what was asked: a server cannot plant pending releases this way.
      if (!asked.includes(toBase64Url(release.lockId))) continue;
      const opened = await applyReleaseKey(ctx, release);
      result.unlocked.push(...opened.unlocked);
      result.refused.push(...opened.refused);
    }
  }
  return result;
}
