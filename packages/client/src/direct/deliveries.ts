/**
 * @module What a direct session sent that the peer has not confirmed yet (DESIGN §9). The peer
 * acks each message once it has stored it; one with no ack within the timeout, or still unacked
 * when the channel closes, is to go through the server instead, so a dropped channel loses none.
 */

/** Timers as deliveries use them, so a test can run them by hand. */
export interface AckTimers {
  start(expired: () => void, ms: number): unknown;
  stop(timer: unknown): void;
}

export const realTimers: AckTimers = {
  start: (expired, ms) => setTimeout(expired, ms),
  stop: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
};

/** A message about to go on the channel: its frame id, and whether the peer confirmed it (false: send it through the server). */
export interface ExpectedAck {
  id: number;
  confirmed: Promise<boolean>;
}

export class Deliveries {
  private nextId = 0;
  private closed = false;
  private readonly waiting = new Map<number, { settle(confirmed: boolean): void; timer: unknown }>();

  constructor(
    private readonly ackTimeoutMs: number,
    private readonly timers: AckTimers = realTimers,
  ) {}

  /** Call before the frame leaves (its ack may come back before the send returns); the timeout runs from here. */
  expect(): ExpectedAck {
    const id = this.nextId++;
    if (this.closed) return { id, confirmed: Promise.resolve(false) };
    const confirmed = new Promise<boolean>((resolve) => {
      const timer = this.timers.start(() => this.settle(id, false), this.ackTimeoutMs);
      this.waiting.set(id, { settle: resolve, timer });
    });
    return { id, confirmed };
  }

  /** The peer stored message `id`. An ack for anything not awaited (late, unknown, repeated) changes nothing. */
  acked(id: number): void {
    this.settle(id, true);
  }

  /** The frame never left, or needs no ack (a copy went through the server): stop waiting for it. */
  cancel(id: number): void {
    this.settle(id, false);
  }

  /** The channel closed: nothing more will be acked, so every message still waiting goes through the server. */
  close(): void {
    this.closed = true;
    for (const id of [...this.waiting.keys()]) this.settle(id, false);
  }

  private settle(id: number, confirmed: boolean): void {
    const waiting = this.waiting.get(id);
    if (!waiting) return;
    this.waiting.delete(id);
    this.timers.stop(waiting.timer);
    waiting.settle(confirmed);
  }
}
