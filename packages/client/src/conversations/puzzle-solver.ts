/**
 * @module Opening a time-locked message without the server (DESIGN §8): the puzzle's squarings,
 * one slice at a time, with a checkpoint saved after each so a restart resumes where it stopped.
 * Needs only the local store: it works with the server gone. The slices run in this thread by
 * default; a browser runs them in a Web Worker (`runSlice`), and cancels between slices.
 */
import {
  bigIntSquaring,
  continueTimelockSolve,
  CryptoError,
  fastestSquaring,
  finishTimelockSolve,
  startTimelockSolve,
  timelockPuzzleDigest,
  type TimelockSolveState,
} from '@parley/crypto';
import { equalBytes, ErrorCode, ParleyError, type TimelockPuzzle } from '@parley/protocol';
import type { ClientStore, SolveCheckpoint, StoredMessage } from '../store/client-store.js';
import { openLocked, sealedContent } from './timelocks.js';
import { present, type Message } from './views.js';

/** Does up to `maxSquarings` more squarings of `puzzle` from `state`, and returns the new state. */
export type SliceRunner = (puzzle: TimelockPuzzle, state: TimelockSolveState, maxSquarings: number) => Promise<TimelockSolveState>;

export interface SolveProgress {
  /** Squarings done, of `total`. */
  done: number;
  total: number;
  /** Squarings a second over the last slice, for an estimate of the time left. */
  perSecond: number;
}

export interface SolveOptions {
  /** Stops the solver between two slices (what is done so far stays saved). */
  signal?: AbortSignal;
  /** After every slice, once its checkpoint is saved. */
  onProgress?(progress: SolveProgress): void;
  runSlice?: SliceRunner;
  /** How long a slice should take: progress and checkpoints come this often. Default 500 ms. */
  sliceMs?: number;
}

const FIRST_SLICE = 10_000;

/** Up to `maxSquarings` squarings in this thread, with the fastest kernel here (WebAssembly SIMD, else BigInt). */
export function solveSlice(puzzle: TimelockPuzzle, state: TimelockSolveState, maxSquarings: number): TimelockSolveState {
  return continueTimelockSolve(puzzle, state, { maxSquarings, kernel: fastestSquaring(bigIntSquaring) });
}

const inThisThread: SliceRunner = async (puzzle, state, maxSquarings) => solveSlice(puzzle, state, maxSquarings);

/** A saved checkpoint, if it is for this puzzle and within it; otherwise the solve starts over. */
function resume(puzzle: TimelockPuzzle, checkpoint: SolveCheckpoint | undefined): TimelockSolveState {
  const fresh = startTimelockSolve(puzzle);
  if (!checkpoint || !equalBytes(checkpoint.puzzleDigest, timelockPuzzleDigest(puzzle))) return fresh;
  if (!Number.isSafeInteger(checkpoint.done) || checkpoint.done < 0 || checkpoint.done > puzzle.squarings || checkpoint.value.byteLength !== puzzle.modulus.byteLength) return fresh;
  return { puzzleDigest: checkpoint.puzzleDigest, done: checkpoint.done, value: checkpoint.value };
}

function cryptoFailure(error: unknown): never {
  if (error instanceof CryptoError && (error.code === 'BAD_PUZZLE' || error.code === 'BAD_INPUT')) {
    throw new ParleyError(error.code === 'BAD_PUZZLE' ? ErrorCode.BAD_PUZZLE : ErrorCode.BAD_INPUT, error.message, {}, { cause: error });
  }
  throw error;
}

/**
 * Solve the puzzle of a locked message and open it (`unlockedBy: 'puzzle'`). Resolves to the
 * opened message (as it is stored, if a release opened it meanwhile). Throws ParleyError
 * BAD_RELEASE when the solved key does not match the sender's commitment, BAD_PUZZLE for a puzzle
 * out of range, and the signal's reason when aborted.
 */
export async function solveLockedMessage(store: ClientStore, message: StoredMessage, options: SolveOptions = {}): Promise<Message> {
  const lockId = message.lock?.lockId ?? '';
  const content = sealedContent(message);
  const { puzzle } = content;
  const runSlice = options.runSlice ?? inThisThread;
  const sliceMs = options.sliceMs ?? 500;
  let state: TimelockSolveState;
  try {
    state = resume(puzzle, await store.getSolveCheckpoint(lockId));
  } catch (error) {
    cryptoFailure(error);
  }
  let slice = FIRST_SLICE;
  while (state.done < puzzle.squarings) {
    options.signal?.throwIfAborted();
    const started = performance.now();
    const before = state.done;
    try {
      state = await runSlice(puzzle, state, Math.min(slice, puzzle.squarings - state.done));
    } catch (error) {
      cryptoFailure(error);
    }
    const elapsed = Math.max(1, performance.now() - started);
    const perSecond = ((state.done - before) * 1000) / elapsed;
    await store.putSolveCheckpoint({ lockId, ...state });
    options.onProgress?.({ done: state.done, total: puzzle.squarings, perSecond });
    // Aim each slice at `sliceMs`, whatever this machine's speed.
    slice = Math.max(1_000, Math.round(perSecond * (sliceMs / 1000)));
  }
  let key;
  try {
    key = finishTimelockSolve(puzzle, state);
  } catch (error) {
    cryptoFailure(error);
  }
  const opened = (await openLocked(store, message, key, 'puzzle')) ?? (await store.listMessagesByLock(lockId)).find((m) => m.groupId === message.groupId && m.seq === message.seq);
  const conversation = await store.getConversation(message.groupId);
  if (!opened || !conversation) throw new ParleyError(ErrorCode.NOT_FOUND, `message ${message.seq} is no longer stored on this device`);
  return present(conversation, opened);
}
