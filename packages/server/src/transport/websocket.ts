/**
 * @module WebSockets' liveness and send buffers (DESIGN §10): pinged while open and cut when they
 * stop answering pings; cut too when they stop reading, rather than buffering for them without
 * bound. Idle connections are many, so nothing here allocates a timer or closure per socket:
 * one sweep pings them all, and the send side is a class whose methods live on its prototype.
 */
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';

export interface LivenessOptions {
  /** How often an open WebSocket is pinged (RFC 6455 §5.5.2). */
  pingIntervalMs: number;
  /** How long a ping may go unanswered before the peer counts as dead. */
  pongTimeoutMs: number;
}

export interface Pinger {
  /** Starts watching `ws`'s pongs; the sweep pings every open socket of the set it was given. */
  watch(ws: WebSocket): void;
  stop(): void;
}

/**
 * Every `pingIntervalMs`, pings each open socket of `sockets` not still owing a pong, and
 * terminates (after `onDead`) those of that round whose pong is `pongTimeoutMs` late. One timer
 * per round for all sockets, rather than an interval and a deadline per socket.
 */
export function startPinging(sockets: ReadonlySet<WebSocket>, options: LivenessOptions, onDead: () => void): Pinger {
  // Sockets owing a pong, each with the round that pinged it: rounds overlap when the timeout is the longer.
  const owing = new Map<WebSocket, number>();
  const rounds = new Set<NodeJS.Timeout>();
  let round = 0;
  // `this` is the socket that answered: one listener function shared by all sockets.
  function answered(this: WebSocket): void {
    owing.delete(this);
  }
  const sweep = setInterval(() => {
    const thisRound = ++round;
    const pinged: WebSocket[] = [];
    for (const ws of sockets) {
      if (owing.has(ws) || ws.readyState !== WebSocket.OPEN) continue;
      owing.set(ws, thisRound);
      pinged.push(ws);
      ws.ping();
    }
    if (pinged.length === 0) return;
    const deadline = setTimeout(() => {
      rounds.delete(deadline);
      for (const ws of pinged) {
        if (owing.get(ws) !== thisRound) continue;
        owing.delete(ws);
        if (ws.readyState === WebSocket.CLOSED) continue;
        onDead();
        ws.terminate();
      }
    }, options.pongTimeoutMs);
    rounds.add(deadline);
  }, options.pingIntervalMs);
  // The sweep never holds the process open by itself.
  sweep.unref();
  return {
    // A socket closed while owing leaves `owing` at its round's deadline, which skips it.
    watch: (ws) => {
      ws.on('pong', answered);
    },
    stop: () => {
      clearInterval(sweep);
      for (const round of rounds) clearTimeout(round);
      rounds.clear();
      owing.clear();
    },
  };
}

/**
 * The send side of one WebSocket: cuts the connection once more than `maxBufferedBytes` wait to
 * be read, so a peer that never reads cannot make the server hold its pushes in memory without
 * bound. `onOverflow` is shared by all sockets.
 *
 * Frames sent to one connection while the same callbacks and promise continuations run (a
 * reply, a push and another reply, all answered by one group commit) leave in one write:
 * `stream` is corked at the first and uncorked once they have run (process.nextTick runs after
 * the microtask queue drains). Each write is a system call, and was the largest single cost of
 * a message (README "Benchmarks").
 */
export class BoundedSocket {
  private corked = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly stream: Duplex,
    private readonly maxBufferedBytes: number,
    private readonly onOverflow: () => void,
  ) {}

  send(frame: Uint8Array): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (!this.corked) {
      this.corked = true;
      this.stream.cork();
      process.nextTick(uncork, this);
    }
    this.ws.send(frame);
    if (this.ws.bufferedAmount > this.maxBufferedBytes) {
      this.onOverflow();
      // No close frame: it would only queue behind what the peer is not reading.
      this.ws.terminate();
    }
  }

  /** Writes the frames corked in this tick. */
  flush(): void {
    this.corked = false;
    this.stream.uncork();
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  /** The close frame is written at once; terminating then drops only the wait for the peer's. */
  abort(code: number, reason: string): void {
    // Frames corked in this tick are written first, or terminating would drop them.
    this.flush();
    this.ws.close(code, reason);
    this.ws.terminate();
  }
}

/** A function, not a closure per socket: process.nextTick passes the socket. */
function uncork(socket: BoundedSocket): void {
  socket.flush();
}
