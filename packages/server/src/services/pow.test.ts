import { powBinding, solvePow, verifyPow } from '@parley/crypto';
import { ErrorCode, ParleyError, type PowSolution } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { createServerMetrics } from '../metrics.js';
import { MemoryAbuseStore } from './abuse-store.js';
import { PowService } from './pow.js';
import type { StrikeReason } from './abuse.js';

const secret = new Uint8Array(32).fill(3);
const binding = powBinding('login.start', 'alice', new Uint8Array([1, 2, 3]));

async function refusal(promise: Promise<unknown>): Promise<ParleyError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof ParleyError)) throw new Error(`expected a ParleyError, got ${String(error)}`);
  return error;
}

function setup(now: () => number = Date.now) {
  const metrics = createServerMetrics();
  const pow = new PowService(secret, new MemoryAbuseStore(now), { maxDifficulty: 6, targetPerSecond: 2, ttlMs: 60_000 }, createLogger('silent'), metrics, now);
  const strikes: StrikeReason[] = [];
  const check = (solution: PowSolution | undefined, bind = binding) => pow.check('login', bind, solution, (reason) => strikes.push(reason));
  return { pow, metrics, strikes, check };
}

async function solved(pow: PowService, error: ParleyError, bind = binding): Promise<PowSolution> {
  const challenge = error.details.pow;
  if (!challenge) throw new Error('POW_REQUIRED without a challenge');
  expect(challenge.difficulty).toBe(pow.difficulty('login'));
  return { ...challenge, counter: await solvePow(challenge, bind) };
}

describe('PowService', () => {
  it('asks nothing when quiet; under load raises difficulty a bit a second, halves it when quiet again', async () => {
    const { pow, check, metrics } = setup();
    await check(undefined);
    expect(pow.difficulty('login')).toBe(0);
    const levels: number[] = [];
    for (let second = 0; second < 8; second++) {
      for (let i = 0; i < 5; i++) await check(undefined).catch(() => undefined);
      pow.tick();
      levels.push(pow.difficulty('login'));
    }
    expect(levels).toEqual([1, 2, 3, 4, 5, 6, 6, 6]);
    expect(pow.difficulty('register')).toBe(0);
    pow.tick();
    pow.tick();
    expect(pow.difficulty('login')).toBe(1);
    expect(metrics.powVerdicts.get({ context: 'login', result: 'missing' })).toBeGreaterThan(20);
    metrics.stop();
  });

  it('refuses a start without a solution under load, with a challenge; takes the solution once, bound to its request', async () => {
    const { pow, check, strikes, metrics } = setup();
    for (let i = 0; i < 5; i++) await check(undefined);
    pow.tick();
    const error = await refusal(check(undefined));
    expect(error.code).toBe(ErrorCode.POW_REQUIRED);
    const solution = await solved(pow, error);
    await expect(check(solution)).resolves.toBeUndefined();
    const replay = await refusal(check(solution));
    expect(replay.message).toMatch(/already used/);
    expect(replay.details.pow).toBeDefined();
    const other = await solved(pow, await refusal(check(undefined)));
    // At a low difficulty a counter may happen to suit another request too: pick one it does not suit.
    const { counter, ...otherChallenge } = other;
    let mallory = 0;
    while (verifyPow(secret, otherChallenge, 'login', powBinding('login.start', `mallory${mallory}`, new Uint8Array([1, 2, 3])), counter) === 'ok') mallory++;
    const elsewhere = await refusal(check(other, powBinding('login.start', `mallory${mallory}`, new Uint8Array([1, 2, 3]))));
    expect(elsewhere.message).toMatch(/does not meet|another request/);
    const forged = await refusal(check({ ...other, mac: new Uint8Array(32) }));
    expect(forged.message).toMatch(/not issued by this server/);
    expect(strikes).toEqual(['bad_pow', 'bad_pow', 'bad_pow']);
    expect(metrics.powVerdicts.get({ context: 'login', result: 'ok' })).toBe(1);
    expect(metrics.powVerdicts.get({ context: 'login', result: 'replayed' })).toBe(1);
    metrics.stop();
  });

  it('refuses an expired solution without a strike, and a challenge for the other context', async () => {
    let now = 1_000_000;
    const { pow, check, strikes, metrics } = setup(() => now);
    const challenge = pow.challenge('login');
    const solution = { ...challenge, counter: await solvePow(challenge, binding) };
    now += 60_001;
    expect((await refusal(check(solution))).message).toMatch(/expired/);
    expect(strikes).toEqual([]);
    const registerChallenge = pow.challenge('register');
    const wrong = { ...registerChallenge, counter: await solvePow(registerChallenge, binding) };
    expect((await refusal(check(wrong))).message).toMatch(/not for login/);
    expect(strikes).toEqual(['bad_pow']);
    metrics.stop();
  });
});
