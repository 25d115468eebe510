/**
 * @module Proof of work in a Web Worker: the SDK asks for one when a busy server demands it before
 * registration or login (DESIGN §10); solving it here keeps the page responsive meanwhile.
 */
import type { PowSolver } from '@parley/client';

type Challenge = Parameters<PowSolver>[0];

export interface PowRequest {
  challenge: Challenge;
  bindTo: Uint8Array;
}

export type PowReply = { kind: 'progress'; tried: number; expected: number } | { kind: 'done'; counter: number } | { kind: 'error'; message: string };

export const workerPowSolver: PowSolver = (challenge, bindTo, options = {}) =>
  new Promise<number>((resolve, reject) => {
    const worker = new Worker(new URL('./pow.worker.ts', import.meta.url), { type: 'module', name: 'parley-pow' });
    const finish = () => {
      worker.terminate();
      options.signal?.removeEventListener('abort', abort);
    };
    const abort = () => {
      finish();
      reject(options.signal?.reason ?? new Error('proof of work aborted'));
    };
    options.signal?.addEventListener('abort', abort, { once: true });
    worker.addEventListener('message', (event: MessageEvent<PowReply>) => {
      const reply = event.data;
      if (reply.kind === 'progress') options.onProgress?.(reply.tried, reply.expected);
      else {
        finish();
        if (reply.kind === 'done') resolve(reply.counter);
        else reject(new Error(`proof of work failed: ${reply.message}`));
      }
    });
    worker.addEventListener('error', (event) => {
      finish();
      reject(new Error(`the proof-of-work worker failed: ${event.message}`));
    });
    worker.postMessage({ challenge, bindTo } satisfies PowRequest);
  });
