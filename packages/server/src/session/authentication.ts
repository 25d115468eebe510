/**
 * @module Who is on the other end of a connection, and the one place where its multi-step
 * exchanges (DESIGN §5: registration, login, recovery, password change) are started, continued
 * and ended. Every proof of a credential (a login, a recovery, a password check) that does not
 * succeed counts as a failed attempt, however it ends: failed, replaced by another exchange,
 * or abandoned with the connection. With OPAQUE that is what a wrong guess looks like, since
 * the client learns from the start's reply whether its guess was right and need not finish.
 */
import type { DeviceRef } from '@parley/protocol';
import type { PendingAuth } from '../services/accounts.js';
import type { PendingPasswordChange, PendingRecovery } from '../services/passwords.js';

export type Identity =
  | { kind: 'anonymous' }
  /** A password or recovery key proven on this connection, no device enrolled yet: may only add a device. */
  | { kind: 'password'; username: string }
  | { kind: 'device'; session: DeviceRef };

/** The state one step of an exchange leaves for the next request on the same connection. */
export type Exchange = PendingAuth | PendingRecovery | PendingPasswordChange;
export type ExchangeOf<K extends Exchange['kind']> = Extract<Exchange, { kind: K }>;

export class Authentication {
  #identity: Identity = { kind: 'anonymous' };
  #exchange: Exchange | undefined;

  /** `owner.failedProof(username)` for each proof that did not succeed (the username as the client gave it). */
  constructor(private readonly owner: { failedProof(username: string): void }) {}

  get identity(): Identity {
    return this.#identity;
  }

  get session(): DeviceRef | undefined {
    return this.#identity.kind === 'device' ? this.#identity.session : undefined;
  }

  /** Starts an exchange; one still in progress is dropped, and counts as failed if it was a proof. */
  begin(exchange: Exchange): void {
    this.abandon();
    this.#exchange = exchange;
  }

  /**
   * Runs the next step of the exchange of `kind` with its state (undefined if there is none, for
   * the step to refuse). The state is consumed before the step runs, so a step cannot be retried;
   * an exchange of another kind in progress is dropped; a proof whose step throws counts as failed.
   */
  async advance<K extends Exchange['kind'], T>(kind: K, step: (pending: ExchangeOf<K> | undefined) => T | Promise<T>): Promise<T> {
    const pending = this.#exchange;
    this.#exchange = undefined;
    const matching = pending?.kind === kind ? (pending as ExchangeOf<K>) : undefined;
    if (pending && !matching) this.#ended(pending);
    try {
      return await step(matching);
    } catch (error) {
      if (matching) this.#ended(matching);
      throw error;
    }
  }

  /** A password or recovery key was proven for `username`: the connection may now enrol a device. */
  proven(username: string): void {
    this.abandon();
    this.#identity = { kind: 'password', username };
  }

  signedIn(session: DeviceRef): void {
    this.abandon();
    this.#identity = { kind: 'device', session };
  }

  /** Drops the exchange in progress (the connection is ending, or another identity takes over). */
  abandon(): void {
    const pending = this.#exchange;
    this.#exchange = undefined;
    if (pending) this.#ended(pending);
  }

  /** An exchange ended without succeeding: a failed attempt if it was a proof of a credential. */
  #ended(exchange: Exchange): void {
    if (exchange.kind === 'login' || exchange.kind === 'recovery' || exchange.kind === 'password.verify') this.owner.failedProof(exchange.username);
  }
}
