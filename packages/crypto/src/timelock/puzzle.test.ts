import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { decodeCbor, encodeCbor, TIMELOCK_MAX_SQUARINGS, type TimelockPuzzle } from '@parley/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { CryptoError } from '../errors.js';
import { bigIntToBytes, bytesToBigInt } from './integers.js';
import { checkTimelockPuzzle, checkTimelockTrapdoor, createTimelockPuzzle, openTimelockPuzzle, type TimelockTrapdoor } from './puzzle.js';
import { continueTimelockSolve, finishTimelockSolve, startTimelockSolve, type TimelockSolveState } from './solver.js';
import { wasmSquaring } from './wasm-squaring.js';
import { testTrapdoor } from '../../../../test/support/timelock-trapdoor.js';

/** a^(2^T) mod N by Python's own big integers: an independent computation. */
function pythonSquarings(puzzle: TimelockPuzzle): bigint {
  const script = 'import sys; N, a, T = map(int, sys.argv[1:4]); print(pow(a, 2 ** T, N))';
  const args = [bytesToBigInt(puzzle.modulus), bytesToBigInt(puzzle.base), puzzle.squarings].map(String);
  return BigInt(execFileSync('python3', ['-c', script, ...args], { encoding: 'utf8' }).trim());
}

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    if (error instanceof CryptoError) return error.code;
    throw error;
  }
  return undefined;
};

describe('RSW time-lock puzzle', () => {
  let trapdoor: TimelockTrapdoor;
  beforeAll(() => {
    trapdoor = testTrapdoor();
  });

  it('gives the same a^(2^T) mod N by trapdoor, by sequential squaring and by Python', () => {
    const key = new Uint8Array(randomBytes(32));
    const puzzle = createTimelockPuzzle(trapdoor, { key, squarings: 20_000 });
    let state = startTimelockSolve(puzzle);
    while (state.done < puzzle.squarings) state = continueTimelockSolve(puzzle, state, { maxSquarings: 7_000 });
    expect(bytesToBigInt(state.value)).toBe(pythonSquarings(puzzle));
    expect(finishTimelockSolve(puzzle, state)).toEqual(key);
    expect(openTimelockPuzzle(trapdoor, puzzle)).toEqual(key);
  });

  it('opens with the WebAssembly kernel, slice by slice, what the trapdoor opens', () => {
    for (const bits of [2048, 3072]) {
      const owner = bits === 2048 ? trapdoor : testTrapdoor(bits);
      const key = new Uint8Array(randomBytes(32));
      const puzzle = createTimelockPuzzle(owner, { key, squarings: 50_000 });
      let state = startTimelockSolve(puzzle);
      while (state.done < puzzle.squarings) state = continueTimelockSolve(puzzle, state, { maxSquarings: 9_999, kernel: wasmSquaring });
      expect(finishTimelockSolve(puzzle, state)).toEqual(openTimelockPuzzle(owner, puzzle));
      expect(finishTimelockSolve(puzzle, state)).toEqual(key);
    }
  });

  it('gives a fresh base per lock and hides the key', () => {
    const key = new Uint8Array(32).fill(7);
    const one = createTimelockPuzzle(trapdoor, { key, squarings: 10 });
    const two = createTimelockPuzzle(trapdoor, { key, squarings: 10 });
    expect(one.base).not.toEqual(two.base);
    expect(one.maskedKey).not.toEqual(key);
    expect(one.maskedKey).not.toEqual(two.maskedKey);
  });

  it('resumes from a checkpoint stored as bytes, and refuses one for another puzzle', () => {
    const key = new Uint8Array(randomBytes(32));
    const puzzle = createTimelockPuzzle(trapdoor, { key, squarings: 3_000 });
    const halfway = continueTimelockSolve(puzzle, startTimelockSolve(puzzle), { maxSquarings: 1_234 });
    expect(halfway.done).toBe(1_234);
    const restored = decodeCbor(encodeCbor(halfway)) as TimelockSolveState;
    const done = continueTimelockSolve(puzzle, restored, { maxSquarings: 10_000 });
    expect(done.done).toBe(3_000);
    expect(finishTimelockSolve(puzzle, done)).toEqual(key);
    // The input state is left as it was: state in, new state out.
    expect(restored.done).toBe(1_234);

    const other = createTimelockPuzzle(trapdoor, { key, squarings: 3_000 });
    expect(code(() => continueTimelockSolve(other, halfway, { maxSquarings: 1 }))).toBe('BAD_INPUT');
    expect(code(() => finishTimelockSolve(puzzle, halfway))).toBe('BAD_INPUT');
    expect(code(() => continueTimelockSolve(puzzle, { ...halfway, done: 3_001 }, { maxSquarings: 1 }))).toBe('BAD_INPUT');
    expect(code(() => continueTimelockSolve(puzzle, { ...halfway, value: puzzle.modulus }, { maxSquarings: 1 }))).toBe('BAD_INPUT');
  });

  it('refuses puzzles out of range with BAD_PUZZLE', () => {
    const good = createTimelockPuzzle(trapdoor, { key: new Uint8Array(32), squarings: 100 });
    const N = bytesToBigInt(good.modulus);
    const at = (value: bigint) => bigIntToBytes(value, 256);
    const small = testTrapdoor(1024);
    const bad: [string, TimelockPuzzle][] = [
      ['1024-bit modulus', { ...good, modulus: small.modulus, base: small.modulus.map((b, i) => (i === 127 ? 2 : 0)) }],
      ['leading zero', { ...good, modulus: at(N >> 8n), base: at(2n) }],
      ['even modulus', { ...good, modulus: at(N - 1n) }],
      ['base 1', { ...good, base: at(1n) }],
      ['base N-1', { ...good, base: at(N - 1n) }],
      ['short base', { ...good, base: good.base.subarray(1) }],
      ['base sharing a factor', { ...good, base: at(bytesToBigInt(trapdoor.p)) }],
      ['zero squarings', { ...good, squarings: 0 }],
      ['too many squarings', { ...good, squarings: TIMELOCK_MAX_SQUARINGS + 1 }],
      ['fractional squarings', { ...good, squarings: 1.5 }],
      ['short masked key', { ...good, maskedKey: new Uint8Array(31) }],
    ];
    for (const [name, puzzle] of bad) expect(code(() => checkTimelockPuzzle(puzzle)), name).toBe('BAD_PUZZLE');
    expect(code(() => startTimelockSolve(bad[0]?.[1] as TimelockPuzzle))).toBe('BAD_PUZZLE');
    expect(checkTimelockPuzzle(good).squarings).toBe(100);
  });

  it('checks a trapdoor before using it', () => {
    expect(() => checkTimelockTrapdoor(trapdoor)).not.toThrow();
    const p = bytesToBigInt(trapdoor.p);
    const q = bytesToBigInt(trapdoor.q);
    // A composite "prime": p·q still makes a 2048-bit modulus, but φ(N) is wrong and the shortcut fails.
    let fake: TimelockTrapdoor;
    do {
      const composite = testTrapdoor(1024).modulus;
      const prime = testTrapdoor().p;
      fake = { modulus: bigIntToBytes(bytesToBigInt(composite) * bytesToBigInt(prime), 257).subarray(1), p: composite, q: prime };
    } while (fake.modulus[0] === 0 || bytesToBigInt(fake.modulus) !== bytesToBigInt(fake.p) * bytesToBigInt(fake.q));
    expect(() => checkTimelockTrapdoor(fake)).toThrow(/not prime/);
    expect(code(() => checkTimelockTrapdoor({ ...trapdoor, q: trapdoor.p }))).toBe('BAD_INPUT');
    expect(code(() => checkTimelockTrapdoor({ ...trapdoor, modulus: bigIntToBytes(p * q + 2n, 256) }))).toBe('BAD_INPUT');
    expect(code(() => openTimelockPuzzle(testTrapdoor(), createTimelockPuzzle(trapdoor, { key: new Uint8Array(32), squarings: 5 })))).toBe('BAD_INPUT');
  });
});
