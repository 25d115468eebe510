/**
 * @module One WebSocket's liveness and send buffer (DESIGN §10): pinged while open and cut when
 * it stops answering pings; cut too when it stops reading, rather than buffering for it without
 * bound.
 */
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';

export interface LivenessOptions {
  /** How often an open WebSocket is pinged (RFC 6455 §5.5.2). */
  pingIntervalMs: number;
  /** How long a ping may go unanswered before the peer counts as dead. */
  pongTimeoutMs: number;
}

/** Pings `ws` every `pingIntervalMs`; terminates it (after `onDead`) when a pong is `pongTimeoutMs` late. */
export function keepAlive(ws: WebSocket, options: LivenessOptions, onDead: () => void): void {
  let waiting: NodeJS.Timeout | undefined;
  const interval = setInterval(() => {
    if (waiting || ws.readyState !== WebSocket.OPEN) return;
    waiting = setTimeout(() => {
      onDead();
      ws.terminate();
    }, options.pongTimeoutMs);
    ws.ping();
  }, options.pingIntervalMs);
  ws.on('pong', () => {
    clearTimeout(waiting);
    waiting = undefined;
  });
  ws.once('close', () => {
    clearInterval(interval);
    clearTimeout(waiting);
  });
}

/**
 * A send function that cuts the connection once more than `maxBufferedBytes` wait to be read:
 * a peer that never reads cannot make the server hold its pushes in memory without bound.
 *
 * Frames sent to one connection while the same callbacks and promise continuations run (a
 * reply, a push and another reply, all answered by one group commit) leave in one write:
 * `stream` is corked at the first and uncorked once they have run (process.nextTick runs after
 * the microtask queue drains). Each write is a system call, and was the largest single cost of
 * a message (README "Benchmarks").
 */
export function boundedSender(ws: WebSocket, stream: Duplex, maxBufferedBytes: number, onOverflow: () => void): (frame: Uint8Array) => void {
  let corked = false;
  const uncork = () => {
    corked = false;
    stream.uncork();
  };
  return (frame) => {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (!corked) {
      corked = true;
      stream.cork();
      process.nextTick(uncork);
    }
    ws.send(frame);
    if (ws.bufferedAmount > maxBufferedBytes) {
      onOverflow();
      // No close frame: it would only queue behind what the peer is not reading.
      ws.terminate();
    }
  };
}
