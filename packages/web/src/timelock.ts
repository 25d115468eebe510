/**
 * @module Solving a time-lock puzzle in a Web Worker (DESIGN §8): the SDK's solver hands each
 * slice of squarings to the worker and saves a checkpoint between slices, so the page stays
 * responsive and a cancel (or a closed tab) loses at most one slice.
 */
import type { SliceRunner, TimelockPuzzle, TimelockSolveState } from '@parley/client';

export interface SliceRequest {
  puzzle: TimelockPuzzle;
  state: TimelockSolveState;
  maxSquarings: number;
}

export type SliceReply = { kind: 'done'; state: TimelockSolveState } | { kind: 'error'; message: string };

/** A slice runner over one worker, and the function that ends the worker (when the solve is over or cancelled). */
export function workerSliceRunner(signal: AbortSignal): { runSlice: SliceRunner; close(): void } {
  const worker = new Worker(new URL('./timelock.worker.ts', import.meta.url), { type: 'module', name: 'parley-timelock' });
  let fail: (error: unknown) => void = () => undefined;
  const close = () => {
    worker.terminate();
    signal.removeEventListener('abort', abort);
  };
  // A cancel ends the slice under way too; the last checkpoint is the previous slice's.
  const abort = () => {
    close();
    fail(signal.reason);
  };
  signal.addEventListener('abort', abort, { once: true });
  worker.addEventListener('error', (event) => fail(new Error(`the time-lock worker failed: ${event.message}`)));
  const runSlice: SliceRunner = (puzzle, state, maxSquarings) =>
    new Promise<TimelockSolveState>((resolve, reject) => {
      fail = reject;
      worker.onmessage = (event: MessageEvent<SliceReply>) => {
        const reply = event.data;
        if (reply.kind === 'done') resolve(reply.state);
        else reject(new Error(reply.message));
      };
      worker.postMessage({ puzzle, state, maxSquarings } satisfies SliceRequest);
    });
  return { runSlice, close };
}
