/**
 * @module One WebSocket's liveness and send buffer (DESIGN §10): pinged while open and cut when
 * it stops answering pings; cut too when it stops reading, rather than buffering for it without
 * bound.
 */
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
 */
export function boundedSender(ws: WebSocket, maxBufferedBytes: number, onOverflow: () => void): (frame: Uint8Array) => void {
  return (frame) => {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(frame);
    if (ws.bufferedAmount > maxBufferedBytes) {
      onOverflow();
      // No close frame: it would only queue behind what the peer is not reading.
      ws.terminate();
    }
  };
}
