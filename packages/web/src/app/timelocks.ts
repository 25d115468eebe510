/**
 * @module Opening time-locked messages in the browser (DESIGN §8): "Open now" solves a message's
 * puzzle in a Web Worker, with progress (and the time left) in the state, a checkpoint after
 * every slice so a reload resumes, and a cancel. Releases from the server open messages by
 * themselves (the conversations side shows them in place).
 */
import { ErrorCode, solveLockedMessage, type StoredMessage } from '@parley/client';
import type { IndexedDbClientStore } from '../storage/client-store.js';
import { workerSliceRunner } from '../timelock.js';
import { describeError, isCode } from './errors.js';
import type { AppState, ChatMessage, SolvingView } from './state.js';

export interface TimelocksHost {
  state(): AppState;
  set(patch: Partial<AppState> | ((state: AppState) => Partial<AppState>)): void;
  store(): IndexedDbClientStore;
  /** A message opened here: show it in place. */
  opened(message: StoredMessage): void;
}

/** What the notice says for an entry refused for its time lock, or undefined for other failures. */
export function lockFailureNotice(code: ErrorCode): string | undefined {
  if (code === ErrorCode.BAD_RELEASE) {
    return 'The key released for a time-locked message is not the one its sender committed to, so it stays locked. “Open now” can still open it.';
  }
  if (code === ErrorCode.BAD_PUZZLE) return 'A time-locked message came with a puzzle that cannot be solved, so it was refused.';
  return undefined;
}

export class Timelocks {
  private readonly running = new Map<string, AbortController>();

  constructor(private readonly host: TimelocksHost) {}

  private setSolving(key: string, view: SolvingView | undefined): void {
    this.host.set((state) => {
      const { [key]: _old, ...rest } = state.solving;
      return { solving: view ? { ...rest, [key]: view } : rest };
    });
  }

  async openNow(message: ChatMessage): Promise<void> {
    if (message.seq === undefined || !message.lock?.locked || this.running.has(message.key)) return;
    const store = this.host.store();
    const stored = (await store.listMessages(message.groupId)).find((m) => m.seq === message.seq);
    if (!stored?.lock?.sealed) return;
    const stop = new AbortController();
    this.running.set(message.key, stop);
    const worker = workerSliceRunner(stop.signal);
    this.setSolving(message.key, { done: 0, total: 0, perSecond: 0 });
    try {
      const opened = await solveLockedMessage(store, stored, {
        runSlice: worker.runSlice,
        signal: stop.signal,
        onProgress: (progress) => {
          if (!stop.signal.aborted) this.setSolving(message.key, progress);
        },
      });
      this.host.opened(opened);
    } catch (error) {
      if (stop.signal.aborted) return;
      this.host.set({ notice: isCode(error, ErrorCode.BAD_RELEASE) ? 'The solved key does not match what the sender committed to: this message cannot be opened.' : describeError(error) });
    } finally {
      worker.close();
      this.running.delete(message.key);
      this.setSolving(message.key, undefined);
    }
  }

  cancel(message: ChatMessage): void {
    this.running.get(message.key)?.abort(new Error('cancelled'));
  }

  /** Stop every solver (signing out, another account). */
  cancelAll(): void {
    for (const stop of this.running.values()) stop.abort(new Error('cancelled'));
  }
}
