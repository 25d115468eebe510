/** @module `parley unlock [--solve]`: open time-locked messages by the server's release, or by solving their puzzles here (DESIGN §8). */
import { ErrorCode, lockedMessages, markShown, ParleyError, solveLockedMessage, unreadMessages, type ClientStore, type Message, type SolveProgress } from '@parley/client';
import { messageStore, type CommandContext } from './account-commands.js';
import { conversationNames, noteEvent, printMessage, showUnread, withMessenger } from './messaging-commands.js';

/** Failures that mean the server is not there (or not answering): solving goes on without it. */
const UNREACHABLE = new Set<string>([ErrorCode.CONNECTION_FAILED, ErrorCode.TIMEOUT, ErrorCode.UNAVAILABLE]);

/** How often progress is printed, at most (each slice of squarings is about half a second). */
const PROGRESS_EVERY_MS = 1_000;

/**
 * Fetch what is new and the released keys of every message still locked, print what opened (and
 * anything else not shown yet); with `solve`, then solve the puzzles of the messages still locked,
 * which needs no server: an unreachable one is noted and skipped.
 */
export async function unlock(ctx: CommandContext, options: { solve?: boolean }): Promise<void> {
  try {
    await withMessenger(ctx, async (messenger) => {
      const synced = await messenger.sync();
      const fetched = await messenger.fetchReleases();
      for (const gap of synced.gaps) noteEvent(ctx, { kind: 'gap', conversation: '', gap });
      // A release refused from the mailbox is refused again when fetched: say it once.
      const errors = new Map([...synced.errors, ...fetched.errors].map((error) => [`${error.code} ${error.conversation ?? ''} ${error.message}`, error]));
      const names = errors.size > 0 ? await conversationNames(messenger) : new Map();
      for (const error of errors.values()) noteEvent(ctx, error, names);
      await showUnread(ctx, messenger);
    });
  } catch (error) {
    if (!options.solve || !(error instanceof ParleyError && UNREACHABLE.has(error.code))) throw error;
    ctx.output.note(`the server is unreachable (${error.message}); solving on this device alone`);
  }
  const store = messageStore(ctx);
  try {
    if (options.solve) await solveAll(ctx, store);
    const stillLocked = await lockedMessages(store);
    if (stillLocked.length > 0) {
      const soonest = new Date(stillLocked[0]?.lock?.unlockAt ?? 0).toISOString();
      ctx.output.note(`${stillLocked.length} message${stillLocked.length === 1 ? ' is' : 's are'} still time-locked (the soonest until ${soonest})${options.solve ? '' : '; parley unlock --solve opens them without waiting'}`);
    }
  } finally {
    await store.close();
  }
}

/** Solve every locked message here, soonest unlock first, then print what opened. */
async function solveAll(ctx: CommandContext, store: ClientStore): Promise<void> {
  for (const message of await lockedMessages(store)) {
    const label = `${message.conversation}#${message.seq}`;
    const report = throttled((progress: SolveProgress) => {
      const percent = ((progress.done / progress.total) * 100).toFixed(1);
      const left = progress.perSecond > 0 ? ` about ${duration((progress.total - progress.done) / progress.perSecond)} left` : '';
      ctx.output.progress({ solving: label, done: progress.done, total: progress.total }, `solving ${label}: ${percent}% (${progress.done} of ${progress.total} squarings,${left})`);
    });
    try {
      await solveLockedMessage(store, message, { onProgress: report });
    } catch (error) {
      if (!(error instanceof ParleyError) || (error.code !== ErrorCode.BAD_RELEASE && error.code !== ErrorCode.BAD_PUZZLE)) throw error;
      ctx.output.conversationError({ conversation: message.conversation, ...(message.kind === 'group' ? { group: message.groupId } : {}), code: error.code, message: error.message });
    }
  }
  const opened: Message[] = await unreadMessages(store);
  for (const message of opened) printMessage(ctx, message);
  await markShown(store, opened);
}

/** Calls `report` at most every PROGRESS_EVERY_MS, but always for the first and the last progress. */
function throttled(report: (progress: SolveProgress) => void): (progress: SolveProgress) => void {
  let last = 0;
  return (progress) => {
    const now = Date.now();
    if (last !== 0 && now - last < PROGRESS_EVERY_MS && progress.done < progress.total) return;
    last = now;
    report(progress);
  };
}

function duration(seconds: number): string {
  if (seconds < 90) return `${Math.ceil(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} days`;
}
