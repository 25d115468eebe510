/** @module When to try the server again: exponential backoff with jitter, and at once when the page or the network comes back. */

const RECONNECT_MIN_MS = 1_000;
const RECONNECT_MAX_MS = 30_000;

export class Backoff {
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly retry: () => void) {}

  /** Connected: the next loss starts again from the shortest wait. */
  reset(): void {
    this.attempt = 0;
  }

  cancel(): void {
    clearTimeout(this.timer);
  }

  /** Plan the next attempt; returns when it will be (Unix ms). */
  schedule(): number {
    clearTimeout(this.timer);
    // Jitter, so a restarted server is not hit by every client at once.
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.attempt) * (0.8 + Math.random() * 0.4);
    this.attempt++;
    this.timer = setTimeout(this.retry, delay);
    return Date.now() + delay;
  }
}

/** Calls `online` when the browser regains the network, and `visible` when the tab is shown again. */
export function onPageReturn(online: () => void, visible: () => void): void {
  globalThis.addEventListener('online', online);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') visible();
  });
}
