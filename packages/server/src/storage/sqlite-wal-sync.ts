/** @module The fsyncs that make SQLite's WAL durable after a group commit (./sqlite-group-commit.ts), off the event loop. */
import { close as closeFile, fsync, openSync } from 'node:fs';
import { promisify } from 'node:util';

export const fsyncFile = promisify(fsync);
const closeFileAsync = promisify(closeFile);

/**
 * fsyncs of the WAL, one at a time: a commit waits for one that starts after it, and all commits
 * made while one runs share the next. An fsync through any descriptor of a file flushes all of it.
 */
export class WalSync {
  private descriptor: number | undefined;
  private running: Promise<void> | undefined;
  private next: { promise: Promise<void>; start: () => void } | undefined;

  /** `walFile` undefined: an in-memory database, with nothing to sync. */
  constructor(
    private readonly walFile: string | undefined,
    private readonly syncFile: (descriptor: number) => Promise<void>,
  ) {}

  /** Settles once everything SQLite has written to the WAL so far is on disk. */
  afterCommit(): Promise<void> {
    if (this.walFile === undefined) return Promise.resolve();
    if (this.next) return this.next.promise;
    if (!this.running) return this.start();
    let start!: () => void;
    const promise = new Promise<void>((resolve, reject) => {
      start = () => this.start().then(resolve, reject);
    });
    this.next = { promise, start };
    return promise;
  }

  /** The fsync a reader must wait for before answering with what it read, if one is pending. */
  pending(): Promise<void> | undefined {
    return this.next?.promise ?? this.running;
  }

  async close(): Promise<void> {
    await this.pending()?.catch(() => undefined);
    if (this.descriptor !== undefined) await closeFileAsync(this.descriptor);
    this.descriptor = undefined;
  }

  private start(): Promise<void> {
    // The WAL exists once something was committed; it lasts as long as the connection.
    this.descriptor ??= openSync(this.walFile as string, 'r+');
    const running = this.syncFile(this.descriptor);
    this.running = running;
    const after = () => {
      this.running = undefined;
      const next = this.next;
      this.next = undefined;
      next?.start();
    };
    running.then(after, after);
    return running;
  }
}
