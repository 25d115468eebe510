import { createPowChallenge, powBinding, solvePow, verifyPow } from '@parley/crypto';
import { ErrorCode, ParleyError, type PowChallengeWire, type PowSolution } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { withProofOfWork, type PowProgress } from './pow.js';

const secret = new Uint8Array(32).fill(5);
const binding = { op: 'login.start' as const, username: 'alice', request: new Uint8Array([1, 2, 3]) };
const challenge = (difficulty: number): PowChallengeWire => ({ ...createPowChallenge(secret, { context: 'login', difficulty, ttlMs: 60_000 }), context: 'login' });

describe('withProofOfWork', () => {
  it('sends without proof of work first, then solves the challenge a POW_REQUIRED carries, bound to the request', async () => {
    const sent: (PowSolution | undefined)[] = [];
    const progress: PowProgress[] = [];
    const result = await withProofOfWork(
      'login',
      binding,
      async (pow) => {
        sent.push(pow);
        if (!pow) throw new ParleyError(ErrorCode.POW_REQUIRED, 'busy', { pow: challenge(6) });
        return 'in';
      },
      { onProgress: (update) => progress.push(update), fetchChallenge: () => Promise.reject(new Error('not needed')) },
    );
    expect(result).toBe('in');
    expect(sent[0]).toBeUndefined();
    const solution = sent[1];
    if (!solution) throw new Error('no second attempt');
    const { counter, ...solved } = solution;
    expect(verifyPow(secret, solved, 'login', powBinding('login.start', 'alice', new Uint8Array([1, 2, 3])), counter)).toBe('ok');
    expect(progress[0]).toMatchObject({ context: 'login', difficulty: 6, tried: 0, expected: 64, done: false });
    expect(progress.at(-1)).toMatchObject({ tried: counter + 1, done: true });
  });

  it('fetches a challenge when the error carries none, uses an injected solver, and gives up after a few rounds', async () => {
    let fetched = 0;
    let solved = 0;
    const refusal = withProofOfWork(
      'login',
      binding,
      async () => {
        throw new ParleyError(ErrorCode.POW_REQUIRED, 'still busy');
      },
      {
        fetchChallenge: async () => (fetched++, challenge(2)),
        solve: async (...args) => (solved++, solvePow(...args)),
      },
    );
    await expect(refusal).rejects.toMatchObject({ code: 'POW_REQUIRED' });
    expect([fetched, solved]).toEqual([3, 3]);
  });

  it('passes other errors straight through', async () => {
    await expect(withProofOfWork('login', binding, () => Promise.reject(new ParleyError(ErrorCode.AUTH_FAILED, 'no')), { fetchChallenge: () => Promise.reject(new Error('unused')) })).rejects.toMatchObject({
      code: 'AUTH_FAILED',
    });
  });
});
