/**
 * @module Proof of work on the client (DESIGN §10). Registration and password login first go
 * out without one: a quiet server asks none. Under load the server answers POW_REQUIRED with a
 * signed challenge; the SDK solves it, bound to the very request, and sends the request again
 * with the solution. Reacting rather than asking for a challenge up front saves a round trip
 * when the server is quiet and costs the same one when it is not.
 *
 * The search runs wherever `solve` runs: on the calling thread by default (it yields to the
 * event loop between batches), in a Web Worker when a browser app passes a worker-based solver.
 */
import { powBinding, solvePow, type PowSolver } from '@parley/crypto';
import { ErrorCode, ParleyError, type PowChallengeWire, type PowContext, type PowSolution } from '@parley/protocol';
import type { AccountContext } from './devices.js';

export type { PowSolver };

export interface PowProgress {
  context: PowContext;
  /** Leading zero bits asked for. */
  difficulty: number;
  /** Hashes tried so far. */
  tried: number;
  /** Hashes needed on average (2^difficulty); the work is random, so it may take more or fewer. */
  expected: number;
  /** True once a solution is found (the last call). */
  done: boolean;
}

export interface PowOptions {
  /** The solver; `solvePow` from @parley/crypto on the calling thread by default. */
  solve?: PowSolver;
  onProgress?: (progress: PowProgress) => void;
  /** Asks the server for a challenge, when a POW_REQUIRED error came without one. */
  fetchChallenge: (context: PowContext) => Promise<PowChallengeWire>;
}

/** The options for a request of this account's connection: its solver, and challenges fetched from its server. */
export function accountPowOptions(ctx: Pick<AccountContext, 'request' | 'solvePow'>, onProgress?: (progress: PowProgress) => void): PowOptions {
  return {
    ...(ctx.solvePow ? { solve: ctx.solvePow } : {}),
    ...(onProgress ? { onProgress } : {}),
    fetchChallenge: async (context) => (await ctx.request('pow.challenge', { context })).challenge,
  };
}

// A challenge can be refused again if it expired while being solved, or difficulty rose meanwhile.
const MAX_ROUNDS = 3;

/**
 * Runs `send` (a register.start, or a login.start, recover.start or password.verify.start, which
 * share the login context) without proof of work, then, while the server
 * answers POW_REQUIRED, with a solution to the challenge it sent. Other errors pass through.
 */
export async function withProofOfWork<T>(
  context: PowContext,
  binding: { op: 'register.start' | 'login.start' | 'recover.start' | 'password.verify.start'; username: string; request: Uint8Array },
  send: (pow: PowSolution | undefined) => Promise<T>,
  options: PowOptions,
): Promise<T> {
  const bindTo = powBinding(binding.op, binding.username, binding.request);
  let solution: PowSolution | undefined;
  for (let round = 1; ; round++) {
    try {
      return await send(solution);
    } catch (error) {
      if (!(error instanceof ParleyError) || error.code !== ErrorCode.POW_REQUIRED || round > MAX_ROUNDS) throw error;
      const challenge = error.details.pow ?? (await options.fetchChallenge(context));
      const expected = 2 ** challenge.difficulty;
      const report = (tried: number, done: boolean) => options.onProgress?.({ context, difficulty: challenge.difficulty, tried, expected, done });
      report(0, false);
      const counter = await (options.solve ?? solvePow)(challenge, bindTo, { onProgress: (tried) => report(tried, false) });
      report(counter + 1, true);
      solution = { ...challenge, counter };
    }
  }
}
