/**
 * @module Adaptive proof of work before registration and proofs of a credential (DESIGN §10).
 *
 * Each context (register; login, which also gates recover.start and password.verify.start) has
 * its own difficulty, driven by the start requests this node sees per second with additive
 * increase and multiplicative decrease (crypto `PowDifficulty`, as in Tor's onion-service
 * defence): 0 when quiet, +1 bit each second the rate stays above target, halved each second it
 * is below, never above the cap. Every start request counts, solved or not; asking for a
 * challenge does not (it costs an HMAC, and would let anyone raise the price for everyone).
 * A start for an account with repeated failed proofs also needs that account's difficulty
 * (`AccountGuard`): the difficulty in force is the higher of the two.
 *
 * Challenges are HMAC-signed (the key is derived from the server's static key, so every node
 * sharing the key file accepts each other's challenges), expire, are bound to one request
 * (op, username, OPAQUE message) and are single-use through the abuse store, which every node
 * shares when Redis is configured. A solution must meet the difficulty in force when it arrives,
 * less one bit of slack for a rise while it was being solved, so challenges collected while the
 * server was quiet are worthless once it is busy. Checking one costs an HMAC, a hash and a store lookup.
 */
import { createPowChallenge, PowDifficulty, verifyPow, type PowChallenge } from '@parley/crypto';
import { ErrorCode, ParleyError, toBase64Url, type PowChallengeWire, type PowContext, type PowSolution } from '@parley/protocol';
import type { Logger } from '../logger.js';
import type { ServerMetrics } from '../metrics.js';
import type { StrikeReason } from './abuse.js';
import type { AbuseStore } from './abuse-store.js';

export interface PowOptions {
  /** The most leading zero bits load ever asks (DESIGN §10: a browser pays at most about two seconds). */
  maxDifficulty: number;
  /** Start requests per second per context above which difficulty rises. */
  targetPerSecond: number;
  /** How long a challenge stays valid. */
  ttlMs: number;
  /** The difficulty an account's proofs need after failed ones (`AccountGuard.difficulty`); none if absent. */
  accountDifficulty?: (username: string) => Promise<number>;
}

/** What a start request is: its binding (crypto `powBinding`) and, for a proof, whose credential it tests. */
export interface PowGated {
  binding: Uint8Array;
  account?: string;
}

/** A rise of one step while a client solves must not cost it a second round. */
const SLACK_BITS = 1;

const CONTEXTS: readonly PowContext[] = ['register', 'login'];

export class PowService {
  private readonly controllers: Record<PowContext, PowDifficulty>;

  constructor(
    private readonly secret: Uint8Array,
    private readonly store: AbuseStore,
    private readonly options: PowOptions,
    private readonly log: Logger,
    private readonly metrics?: ServerMetrics,
    private readonly now: () => number = Date.now,
  ) {
    const controller = () => new PowDifficulty({ targetPerTick: options.targetPerSecond, maxDifficulty: options.maxDifficulty });
    this.controllers = { register: controller(), login: controller() };
  }

  difficulty(context: PowContext): number {
    return this.controllers[context].difficulty;
  }

  /** A challenge at the current load difficulty (the `pow.challenge` op). Not an attempt: asking costs the server an HMAC. */
  challenge(context: PowContext): PowChallengeWire {
    return this.issue(context, this.controllers[context].difficulty);
  }

  /**
   * Lets a start request through, or throws POW_REQUIRED with a fresh challenge at the difficulty
   * in force. A forged, replayed or insufficient solution also counts a strike against the sender
   * (an expired or outdated one does not: slow is not hostile, and difficulty may have risen).
   */
  async check(context: PowContext, gated: PowGated, solution: PowSolution | undefined, strike: (reason: StrikeReason) => void): Promise<void> {
    const controller = this.controllers[context];
    controller.recordAttempt();
    const forAccount = gated.account === undefined ? 0 : ((await this.options.accountDifficulty?.(gated.account)) ?? 0);
    const required = Math.max(controller.difficulty, forAccount);
    if (!solution) {
      if (required === 0) return;
      this.metrics?.powVerdicts.inc({ context, result: 'missing' });
      const why = forAccount > controller.difficulty ? 'this account has had failed sign-in attempts' : 'the server is under load';
      throw this.required(context, required, `${why}: solve the attached proof-of-work challenge and send the request again with it`);
    }
    const { counter, ...challenge } = solution;
    let verdict: string = verifyPow(this.secret, challenge satisfies PowChallenge, context, gated.binding, counter, this.now());
    if (verdict === 'ok' && challenge.difficulty < required - SLACK_BITS) verdict = 'outdated';
    if (verdict === 'ok') {
      // Kept a little past expiry, so a solution is never accepted twice however clocks drift.
      const fresh = await this.store.useOnce(`pow:${toBase64Url(challenge.nonce)}`, challenge.expiresAt - this.now() + 60_000);
      if (fresh) {
        this.metrics?.powVerdicts.inc({ context, result: 'ok' });
        return;
      }
      verdict = 'replayed';
    }
    this.metrics?.powVerdicts.inc({ context, result: verdict });
    if (verdict !== 'expired' && verdict !== 'outdated') strike('bad_pow');
    const reasons: Record<string, string> = {
      expired: 'the proof-of-work challenge expired',
      outdated: `the proof-of-work challenge asks ${challenge.difficulty} bits, below the difficulty now in force (${required})`,
      replayed: 'this proof-of-work solution was already used',
      'bad-mac': 'the proof-of-work challenge was not issued by this server',
      'wrong-context': `the proof-of-work challenge is not for ${context}`,
      insufficient: 'the proof-of-work solution does not meet the difficulty, or is for another request',
    };
    throw this.required(context, required, `${reasons[verdict] ?? 'the proof of work was refused'}; solve the attached challenge and try again`);
  }

  /** One AIMD step per context; run every second by `start`. */
  tick(): void {
    for (const context of CONTEXTS) {
      const before = this.controllers[context].difficulty;
      const after = this.controllers[context].tick();
      if (after !== before) this.log.info({ event: 'pow.difficulty', context, difficulty: after }, 'proof-of-work difficulty changed');
    }
  }

  /** Ticks every second until the returned function is called. The timer never keeps the process alive. */
  start(): () => void {
    const timer = setInterval(() => this.tick(), 1_000);
    timer.unref();
    return () => clearInterval(timer);
  }

  private issue(context: PowContext, difficulty: number): PowChallengeWire {
    this.metrics?.powChallenges.inc({ context });
    const challenge = createPowChallenge(this.secret, { context, difficulty, ttlMs: this.options.ttlMs, now: this.now() });
    return { ...challenge, context };
  }

  private required(context: PowContext, difficulty: number, message: string): ParleyError {
    return new ParleyError(ErrorCode.POW_REQUIRED, message, { pow: this.issue(context, difficulty) });
  }
}
