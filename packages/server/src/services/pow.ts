/**
 * @module Adaptive proof of work before registration and password login (DESIGN §10).
 *
 * Each context (register, login) has its own difficulty, driven by the attempts this node sees
 * per second with additive increase and multiplicative decrease (crypto `PowDifficulty`, as in
 * Tor's onion-service defence): 0 when quiet, +1 bit each second the rate stays above target,
 * halved each second it is below, never above the cap. An attempt is a challenge handed out or
 * a start request that came without a valid solution, so every honest login counts once.
 *
 * Challenges are HMAC-signed (the key is derived from the server's static key, so every node
 * sharing the key file accepts each other's challenges), expire, are bound to one request
 * (op, username, OPAQUE message) and are single-use through the abuse store, which every node
 * shares when Redis is configured. Checking one costs an HMAC, a hash and one store lookup.
 */
import { createPowChallenge, PowDifficulty, verifyPow, type PowChallenge } from '@parley/crypto';
import { ErrorCode, ParleyError, toBase64Url, type PowChallengeWire, type PowContext, type PowSolution } from '@parley/protocol';
import type { Logger } from '../logger.js';
import type { ServerMetrics } from '../metrics.js';
import type { StrikeReason } from './abuse.js';
import type { AbuseStore } from './abuse-store.js';

export interface PowOptions {
  /** The most leading zero bits ever asked (DESIGN §10: a browser pays at most about two seconds). */
  maxDifficulty: number;
  /** Attempts per second per context above which difficulty rises. */
  targetPerSecond: number;
  /** How long a challenge stays valid. */
  ttlMs: number;
}

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

  /** A challenge at the current difficulty (the `pow.challenge` op). Counts as an attempt. */
  challenge(context: PowContext): PowChallengeWire {
    this.controllers[context].recordAttempt();
    return this.issue(context);
  }

  /**
   * Lets a register.start or login.start through, or throws POW_REQUIRED with a fresh challenge.
   * `binding` is crypto `powBinding` of the request; a forged, replayed or insufficient solution
   * also counts a strike against the sender (an expired one does not: slow is not hostile).
   */
  async check(context: PowContext, binding: Uint8Array, solution: PowSolution | undefined, strike: (reason: StrikeReason) => void): Promise<void> {
    const controller = this.controllers[context];
    if (!solution) {
      controller.recordAttempt();
      if (controller.difficulty === 0) return;
      this.metrics?.powVerdicts.inc({ context, result: 'missing' });
      throw this.required(context, 'the server is under load: solve the attached proof-of-work challenge and send the request again with it');
    }
    const { counter, ...challenge } = solution;
    let verdict: string = verifyPow(this.secret, challenge satisfies PowChallenge, context, binding, counter, this.now());
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
    controller.recordAttempt();
    if (verdict !== 'expired') strike('bad_pow');
    const reasons: Record<string, string> = {
      expired: 'the proof-of-work challenge expired',
      replayed: 'this proof-of-work solution was already used',
      'bad-mac': 'the proof-of-work challenge was not issued by this server',
      'wrong-context': `the proof-of-work challenge is not for ${context}`,
      insufficient: 'the proof-of-work solution does not meet the difficulty, or is for another request',
    };
    throw this.required(context, `${reasons[verdict] ?? 'the proof of work was refused'}; solve the attached challenge and try again`);
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

  private issue(context: PowContext): PowChallengeWire {
    this.metrics?.powChallenges.inc({ context });
    const challenge = createPowChallenge(this.secret, { context, difficulty: this.controllers[context].difficulty, ttlMs: this.options.ttlMs, now: this.now() });
    return { ...challenge, context };
  }

  private required(context: PowContext, message: string): ParleyError {
    return new ParleyError(ErrorCode.POW_REQUIRED, message, { pow: this.issue(context) });
  }
}
