/** @module A Web Worker that solves a server's proof-of-work challenge off the page's thread (DESIGN §10). */
import { solvePow } from '@parley/client';
import type { PowRequest, PowReply } from './pow.js';

const post = (reply: PowReply) => (self as unknown as Worker).postMessage(reply);

self.addEventListener('message', (event: MessageEvent<PowRequest>) => {
  const { challenge, bindTo } = event.data;
  solvePow(challenge, bindTo, { onProgress: (tried, expected) => post({ kind: 'progress', tried, expected }) }).then(
    (counter) => post({ kind: 'done', counter }),
    (error: unknown) => post({ kind: 'error', message: error instanceof Error ? error.message : String(error) }),
  );
});
