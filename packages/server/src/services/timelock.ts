/**
 * @module Time-locked messages (DESIGN §8): locks for a group's messages, and their release.
 *
 * A lock is an RSW puzzle around a fresh challenge key `c`, made with the trapdoor (cheap) and
 * sized to take until `unlockAt` at the reference speed. The server keeps the puzzle, not `c`:
 * at `unlockAt` it re-opens the puzzle with the trapdoor and, in one transaction, marks the lock
 * released and queues a `release` mailbox entry for every device routed in the group at that
 * moment (so a member removed before then gets nothing), then pushes the entries to whoever is
 * online. Offline devices find theirs when they sync. Each node runs the scheduler; claiming the
 * lock row makes each release happen once, and after a crash the next start releases whatever
 * fell due meanwhile. The server never sees the text nor the sealed blob: they travel inside MLS.
 */
import { randomBytes } from 'node:crypto';
import { createTimelockPuzzle, openTimelockPuzzle } from '@parley/crypto';
import {
  encodeTimelockRelease,
  ErrorCode,
  groupIdText,
  ParleyError,
  sameDevice,
  TIMELOCK_MAX_SQUARINGS,
  toHex,
  type DeviceRef,
  type RequestOf,
  type ResponseOf,
  type TimelockRelease,
} from '@parley/protocol';
import type { Logger } from '../logger.js';
import type { Storage, TimelockRecord } from '../storage/index.js';
import { requireDevice } from './groups.js';
import { mailboxEntry } from './protocol-shapes.js';
import type { Push } from './push.js';
import { RateLimiter } from './rate-limit.js';
import type { TimelockModuli } from './timelock-moduli.js';

/** The scheduler looks at the database at least this often, for locks other nodes made or failed to release. */
const POLL_MS = 30_000;
/** After a release failed (the database away, say), the next try. */
const RETRY_MS = 5_000;
const HOUSEKEEPING_MS = 60 * 60_000;
const RELEASE_BATCH = 100;

export interface TimelockOptions {
  squaringsPerSecond: number;
  maxHorizonMs: number;
  locksPerMinute: number;
  maxPendingPerAccount: number;
  /** Released locks are forgotten after this long, like the messages they opened (DESIGN §6). */
  retentionMs: number;
}

const badInput = (message: string) => new ParleyError(ErrorCode.BAD_INPUT, message);

export class TimelockService {
  private readonly requests: RateLimiter;
  /** Brings the scheduler forward for a lock due before its next run; set while it runs. */
  private wake: (unlockAt: number) => void = () => undefined;

  constructor(
    private readonly storage: Storage,
    private readonly push: Push,
    private readonly moduli: TimelockModuli,
    private readonly log: Logger,
    private readonly options: TimelockOptions,
    private readonly now: () => number = Date.now,
  ) {
    if (!(options.squaringsPerSecond > 0) || !(options.maxHorizonMs > 0)) throw new RangeError('the time-lock reference speed and horizon must be positive');
    if ((options.squaringsPerSecond * options.maxHorizonMs) / 1000 > TIMELOCK_MAX_SQUARINGS) {
      throw new RangeError('the time-lock reference speed times the horizon exceeds the 2^50 squarings a puzzle may have');
    }
    this.requests = new RateLimiter(options.locksPerMinute, 60_000, now);
  }

  async lock(session: DeviceRef, body: RequestOf<'timelock.lock'>): Promise<ResponseOf<'timelock.lock'>> {
    const retryAfterMs = this.requests.take(session.username);
    if (retryAfterMs !== undefined) throw new ParleyError(ErrorCode.RATE_LIMITED, 'too many time-lock requests; slow down', { retryAfterMs });
    const now = this.now();
    if (body.unlockAt <= now) throw badInput(`the unlock time ${new Date(body.unlockAt).toISOString()} is not in the future`);
    if (body.unlockAt - now > this.options.maxHorizonMs) {
      throw badInput(`the unlock time is more than ${Math.round(this.options.maxHorizonMs / 86_400_000)} days ahead, this server's limit`);
    }
    const group = await this.storage.getGroup(body.groupId);
    if (!group) throw new ParleyError(ErrorCode.NOT_FOUND, 'no such group');
    requireDevice(group, session);
    if ((await this.storage.countPendingTimelocks(session.username)) >= this.options.maxPendingPerAccount) {
      throw new ParleyError(ErrorCode.RATE_LIMITED, `an account may have ${this.options.maxPendingPerAccount} unreleased time locks; wait for some to open`);
    }

    const modulus = await this.moduli.current();
    const key = new Uint8Array(randomBytes(32));
    const squarings = Math.max(1, Math.ceil(((body.unlockAt - now) * this.options.squaringsPerSecond) / 1000));
    const puzzle = createTimelockPuzzle(modulus.trapdoor, { key, squarings });
    const lockId = new Uint8Array(randomBytes(16));
    await this.storage.addTimelock({
      lockId,
      groupId: body.groupId,
      creator: session,
      modulusId: modulus.id,
      base: puzzle.base,
      squarings,
      maskedKey: puzzle.maskedKey,
      unlockAt: body.unlockAt,
      createdAt: now,
    });
    this.log.info({ event: 'timelock.locked', group: groupIdText(body.groupId), lock: toHex(lockId), unlockAt: body.unlockAt, squarings }, 'time lock made');
    this.wake(body.unlockAt);
    return { lockId, unlockAt: body.unlockAt, puzzle, key };
  }

  /** Released keys of these locks, for those in groups the device is routed in now. */
  async fetch(session: DeviceRef, body: RequestOf<'timelock.fetch'>): Promise<ResponseOf<'timelock.fetch'>> {
    const releases: TimelockRelease[] = [];
    const routed = new Map<string, boolean>();
    for (const lock of await this.storage.getTimelocks(body.lockIds)) {
      if (!lock.released) continue;
      const group = groupIdText(lock.groupId);
      if (!routed.has(group)) {
        const record = await this.storage.getGroup(lock.groupId);
        routed.set(group, record?.members.some((member) => sameDevice(member, session)) ?? false);
      }
      if (routed.get(group)) releases.push({ lockId: lock.lockId, groupId: lock.groupId, unlockAt: lock.unlockAt, key: lock.released.key });
    }
    return { releases };
  }

  /** Releases every lock that is due; true if all went out (false: some will be retried). */
  async releaseDue(): Promise<boolean> {
    let complete = true;
    const failed = new Set<string>();
    for (;;) {
      // Locks that failed this pass still come first; ask past them so they cannot block the rest.
      const due = (await this.storage.dueTimelocks(this.now(), RELEASE_BATCH + failed.size)).filter((lock) => !failed.has(toHex(lock.lockId)));
      if (due.length === 0) return complete;
      for (const lock of due) {
        try {
          await this.release(lock);
        } catch (error) {
          complete = false;
          failed.add(toHex(lock.lockId));
          this.log.error({ err: error, event: 'timelock.release_failed', lock: toHex(lock.lockId) }, 'time lock not released; will retry');
        }
      }
    }
  }

  private async release(lock: TimelockRecord): Promise<void> {
    const modulus = await this.moduli.byId(lock.modulusId);
    if (!modulus) throw new Error('the modulus of this pending lock is gone');
    const key = openTimelockPuzzle(modulus.trapdoor, { modulus: modulus.trapdoor.modulus, base: lock.base, squarings: lock.squarings, maskedKey: lock.maskedKey });
    const payload = encodeTimelockRelease({ lockId: lock.lockId, groupId: lock.groupId, unlockAt: lock.unlockAt, key });
    const queued = await this.storage.releaseTimelock(lock.lockId, { key, payload, at: this.now() });
    if (!queued) return; // another node released it
    this.log.info({ event: 'timelock.released', group: groupIdText(lock.groupId), lock: toHex(lock.lockId), devices: queued.length, lateMs: this.now() - lock.unlockAt }, 'time lock released');
    for (const record of queued) await this.push.toDevices([record.recipient], 'mailbox', mailboxEntry(record));
  }

  /** Forgets released locks past retention and retires moduli nobody needs. */
  async housekeeping(): Promise<void> {
    const forgotten = await this.storage.deleteReleasedTimelocks(this.now() - this.options.retentionMs);
    if (forgotten > 0) this.log.info({ event: 'timelock.swept', locks: forgotten }, 'released time locks past retention deleted');
    await this.moduli.retire();
  }

  /**
   * Runs the release scheduler: now (whatever fell due while the server was down), then at each
   * lock's unlock time, and at least every 30 s. Returns the function that stops it and waits for
   * a run in progress. Its timer never keeps the process alive.
   */
  start(): () => Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let wakeAt = Infinity;
    let stopped = false;
    let running: Promise<void> = Promise.resolve();
    let lastHousekeeping = 0;
    const arm = (at: number) => {
      if (stopped) return;
      clearTimeout(timer);
      wakeAt = at;
      timer = setTimeout(run, Math.max(0, at - this.now()));
      timer.unref();
    };
    const run = () => {
      wakeAt = Infinity;
      running = running.then(async () => {
        let next = this.now() + POLL_MS;
        try {
          const complete = await this.releaseDue();
          if (this.now() - lastHousekeeping >= HOUSEKEEPING_MS) {
            lastHousekeeping = this.now();
            await this.housekeeping();
          }
          // A lock that failed to go out is still due: try it again after a pause, not at once.
          const upcoming = await this.storage.nextTimelockUnlock();
          if (upcoming !== undefined) next = Math.min(next, Math.max(upcoming, this.now() + (complete ? 0 : RETRY_MS)));
        } catch (error) {
          next = this.now() + RETRY_MS;
          this.log.error({ err: error, event: 'timelock.scheduler_failed' }, 'time-lock scheduler run failed; retrying');
        }
        if (next < wakeAt) arm(next);
      });
    };
    this.wake = (unlockAt) => {
      if (unlockAt < wakeAt) arm(unlockAt);
    };
    run();
    return async () => {
      stopped = true;
      clearTimeout(timer);
      this.wake = () => undefined;
      await running;
    };
  }
}
