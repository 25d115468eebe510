/**
 * @module Opening a puzzle without the server: T sequential squarings, done a slice at a time.
 * Pure: state in, new state out, so the caller (a worker, the CLI) reports progress between
 * slices and saves each state as a checkpoint to resume from after a restart.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { encodeCbor, equalBytes, type TimelockPuzzle } from '@parley/protocol';
import { CryptoError } from '../errors.js';
import { bigIntToBytes, bytesToBigInt } from './integers.js';
import { checkTimelockPuzzle, timelockKeyFromSolution } from './puzzle.js';

/** Where a solver stands; plain bytes and numbers, so it can be stored as it is. */
export interface TimelockSolveState {
  /** Which puzzle this state belongs to (`timelockPuzzleDigest`). */
  puzzleDigest: Uint8Array;
  /** Squarings done so far. */
  done: number;
  /** base^(2^done) mod N, big-endian at the modulus's length. */
  value: Uint8Array;
}

/** Repeated modular squaring: `square(value, count)` = value^(2^count) mod the prepared modulus. */
export interface SquaringKernel {
  prepare(modulus: bigint): (value: bigint, count: number) => bigint;
}

/** The reference kernel: JavaScript BigInt, one multiplication and one remainder per squaring. */
export const bigIntSquaring: SquaringKernel = {
  prepare: (modulus) => (value, count) => {
    let result = value;
    for (let i = 0; i < count; i++) result = (result * result) % modulus;
    return result;
  },
};

export function timelockPuzzleDigest(puzzle: TimelockPuzzle): Uint8Array {
  return sha256(encodeCbor(['parley/timelock/puzzle/v1', puzzle.modulus, puzzle.base, puzzle.squarings, puzzle.maskedKey]));
}

export function startTimelockSolve(puzzle: TimelockPuzzle): TimelockSolveState {
  checkTimelockPuzzle(puzzle);
  return { puzzleDigest: timelockPuzzleDigest(puzzle), done: 0, value: puzzle.base };
}

/** A saved state must belong to this puzzle and be within it; a checkpoint read back from disk is not trusted. */
function checkState(puzzle: TimelockPuzzle, state: TimelockSolveState): bigint {
  const { modulus, squarings, length } = checkTimelockPuzzle(puzzle);
  if (!equalBytes(state.puzzleDigest, timelockPuzzleDigest(puzzle))) throw new CryptoError('BAD_INPUT', 'this solver state belongs to another puzzle');
  if (!Number.isSafeInteger(state.done) || state.done < 0 || state.done > squarings) throw new CryptoError('BAD_INPUT', `solver state claims ${state.done} of ${squarings} squarings`);
  const value = bytesToBigInt(state.value);
  if (state.value.byteLength !== length || value >= modulus) throw new CryptoError('BAD_INPUT', 'solver state holds a value outside the modulus');
  return value;
}

/** Up to `maxSquarings` more squarings; the returned state is new (the input is not changed). */
export function continueTimelockSolve(
  puzzle: TimelockPuzzle,
  state: TimelockSolveState,
  options: { maxSquarings: number; kernel?: SquaringKernel },
): TimelockSolveState {
  const value = checkState(puzzle, state);
  const count = Math.min(Math.max(0, Math.floor(options.maxSquarings)), puzzle.squarings - state.done);
  if (count === 0) return { ...state };
  const modulus = bytesToBigInt(puzzle.modulus);
  const squared = (options.kernel ?? bigIntSquaring).prepare(modulus)(value, count);
  return { puzzleDigest: state.puzzleDigest, done: state.done + count, value: bigIntToBytes(squared, puzzle.modulus.byteLength) };
}

/** The key the puzzle hides, once every squaring is done. */
export function finishTimelockSolve(puzzle: TimelockPuzzle, state: TimelockSolveState): Uint8Array {
  const value = checkState(puzzle, state);
  if (state.done !== puzzle.squarings) throw new CryptoError('BAD_INPUT', `the solver has done ${state.done} of ${puzzle.squarings} squarings`);
  return timelockKeyFromSolution(puzzle, value);
}
