import { createPowChallenge, powBinding, solvePow, verifyPow } from '@parley/crypto';
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

function setup(now: () => number = Date.now, accounts: Record<string, number> = {}) {
  const metrics = createServerMetrics();
  const accountDifficulty = async (username: string) => accounts[username] ?? 0;
  const pow = new PowService(secret, new MemoryAbuseStore(now), { maxDifficulty: 6, targetPerSecond: 2, ttlMs: 60_000, accountDifficulty }, createLogger('silent'), metrics, now);
  const strikes: StrikeReason[] = [];
  const check = (solution: PowSolution | undefined, bind = binding, account?: string) =>
    pow.check('login', { binding: bind, ...(account ? { account } : {}) }, solution, (reason) => strikes.push(reason));
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

  it('hands out challenges without counting them as load', async () => {
    const { pow, metrics } = setup();
    for (let i = 0; i < 50; i++) expect(pow.challenge('login').difficulty).toBe(0);
    pow.tick();
    expect(pow.difficulty('login')).toBe(0);
    metrics.stop();
  });

  it('refuses, without a strike, a solution easier than the difficulty in force less one bit', async () => {
    const { pow, check, strikes, metrics } = setup();
    const quiet = pow.challenge('login');
    const farmed = { ...quiet, counter: await solvePow(quiet, binding) };
    for (let second = 0; second < 3; second++) {
      for (let i = 0; i < 5; i++) await check(undefined).catch(() => undefined);
      pow.tick();
    }
    expect(pow.difficulty('login')).toBe(3);
    const outdated = await refusal(check(farmed));
    expect(outdated.message).toMatch(/asks 0 bits, below the difficulty now in force \(3\)/);
    expect(outdated.details.pow?.difficulty).toBe(3);
    // One bit of slack, for a rise while the client was solving.
    const oneBitLess = { ...createPowChallenge(secret, { context: 'login', difficulty: 2, ttlMs: 60_000 }), context: 'login' as const };
    await expect(check({ ...oneBitLess, counter: await solvePow(oneBitLess, binding) })).resolves.toBeUndefined();
    expect(strikes).toEqual([]);
    expect(metrics.powVerdicts.get({ context: 'login', result: 'outdated' })).toBe(1);
    metrics.stop();
  });

  it("asks an account's difficulty of proofs for it, while the server is quiet", async () => {
    const { check, metrics } = setup(Date.now, { alice: 5 });
    await expect(check(undefined, binding, 'bob')).resolves.toBeUndefined();
    const refused = await refusal(check(undefined, binding, 'alice'));
    expect(refused.message).toMatch(/failed sign-in attempts/);
    expect(refused.details.pow?.difficulty).toBe(5);
    const challenge = refused.details.pow;
    if (!challenge) throw new Error('no challenge');
    await expect(check({ ...challenge, counter: await solvePow(challenge, binding) }, binding, 'alice')).resolves.toBeUndefined();
    metrics.stop();
  });
});
