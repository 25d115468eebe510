/**
 * @module Failed proofs of a credential, per account (DESIGN §10): a login, recovery or password
 * check that failed, or was abandoned or replaced before it finished (with OPAQUE the client
 * learns from the first reply whether its guess was right, so a wrong one simply never finishes).
 *
 * Addresses pay for failures with strikes and bans (`AbuseGuard`); an account cannot be banned
 * without locking its owner out, which would hand that power to anyone who guesses. So past a
 * few failures each further one adds a bit of proof of work that the account's next proofs must
 * pay, up to a cap: guessing gets twice as dear with every guess, from however many addresses,
 * and the owner still gets in by paying the same. Counts live in the abuse store, so with Redis
 * every node sees them, and are forgotten after a quiet spell.
 */
import type { Logger } from '../logger.js';
import type { AbuseStore } from './abuse-store.js';

export interface AccountGuardOptions {
  /** Failures within the window that cost nothing; each one past them adds a bit. */
  freeFailures: number;
  /** Failures are forgotten this long after the latest one. */
  windowMs: number;
  /** The most proof of work (leading zero bits) an account's proofs ever need. */
  maxDifficulty: number;
}

/** The first failure past the free ones asks about a thousand hashes: milliseconds, but not free. */
const FIRST_DIFFICULTY = 10;

/** Leading zero bits asked of an account's proofs after `failures` failed ones. */
export function accountDifficulty(failures: number, options: Pick<AccountGuardOptions, 'freeFailures' | 'maxDifficulty'>): number {
  if (failures <= options.freeFailures) return 0;
  return Math.min(options.maxDifficulty, FIRST_DIFFICULTY + failures - options.freeFailures - 1);
}

// Accounts share the store with addresses; the prefix keeps a username from naming an address.
const storeKey = (username: string) => `account:${username}`;

export class AccountGuard {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly store: AbuseStore,
    private readonly options: AccountGuardOptions,
    private readonly log: Logger,
  ) {}

  /** Counts a failed proof against `username` (known or not, so the answer never tells them apart). Never rejects. */
  failed(username: string): Promise<void> {
    const done = this.store
      .countFailure(storeKey(username), this.options.windowMs)
      .then((failures) => {
        if (failures !== this.options.freeFailures + 1) return;
        this.log.warn({ event: 'account.proofs_priced', failures }, "repeated failed proofs for one account: its proofs now need proof of work");
      })
      .catch((error: unknown) => this.log.error({ err: error, event: 'account.failure_not_counted' }, 'failed proof not counted'))
      .finally(() => this.pending.delete(done));
    this.pending.add(done);
    return done;
  }

  /** The proof of work the account's next proof needs, in leading zero bits (0 while failures are few). */
  async difficulty(username: string): Promise<number> {
    return accountDifficulty(await this.store.failures(storeKey(username)), this.options);
  }

  /** Resolves when every failure so far is counted (for orderly shutdown and tests). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }
}
