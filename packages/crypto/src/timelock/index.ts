/** @module Time-locked messages (DESIGN §8): RSW puzzles, the sender's seal and commitment, and the solver. */
export {
  checkTimelockPuzzle,
  checkTimelockTrapdoor,
  createTimelockPuzzle,
  openTimelockPuzzle,
  timelockTrapdoorFromPrimes,
  type TimelockTrapdoor,
} from './puzzle.js';
export { checkTimelockKey, lockText, timelockCommitment, unlockText, type TimelockGrant } from './lock.js';
export {
  bigIntSquaring,
  continueTimelockSolve,
  finishTimelockSolve,
  startTimelockSolve,
  timelockPuzzleDigest,
  type SquaringKernel,
  type TimelockSolveState,
} from './solver.js';
export { fastestSquaring, wasmSquaring } from './wasm-squaring.js';
