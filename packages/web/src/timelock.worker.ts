/** @module A Web Worker that runs slices of a time-lock puzzle's squarings off the page's thread (DESIGN §8). */
import { solveSlice } from '@parley/client';
import type { SliceReply, SliceRequest } from './timelock.js';

const post = (reply: SliceReply) => (self as unknown as Worker).postMessage(reply);

self.addEventListener('message', (event: MessageEvent<SliceRequest>) => {
  const { puzzle, state, maxSquarings } = event.data;
  try {
    post({ kind: 'done', state: solveSlice(puzzle, state, maxSquarings) });
  } catch (error) {
    post({ kind: 'error', message: error instanceof Error ? error.message : String(error) });
  }
});
