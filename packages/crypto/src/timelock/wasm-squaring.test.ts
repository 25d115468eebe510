import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bigIntSquaring } from './solver.js';
import { balancedLimbs, GROUP, HALF, laneBounds, LIMB_BITS, squaringLayout } from './squaring-layout.js';
import { fastestSquaring, wasmSquaring } from './wasm-squaring.js';

const random = (bits: number) => BigInt(`0x${randomBytes(Math.ceil(bits / 8)).toString('hex')}`) & ((1n << BigInt(bits)) - 1n);
/** An odd modulus of exactly `bits` bits (the kernel never needs N prime). */
const modulusOf = (bits: number) => random(bits) | (1n << BigInt(bits - 1)) | 1n;

describe('WebAssembly squaring kernel', () => {
  it('agrees with BigInt across modulus sizes and on edge values', () => {
    for (const bits of [2048, 2049, 2056, 3000, 3072, 3584, 4095, 4096]) {
      // A random modulus, and the extremes of its size: table entries of every size, and tiny ones.
      for (const modulus of [modulusOf(bits), (1n << BigInt(bits)) - 1n, (1n << BigInt(bits - 1)) + 1n]) {
        const wasm = wasmSquaring.prepare(modulus);
        const reference = bigIntSquaring.prepare(modulus);
        for (const value of [random(bits) % modulus, modulus - 1n, modulus - 2n, 2n, 0n, 1n]) {
          expect(wasm(value, 700), `${bits} bits`).toBe(reference(value, 700));
        }
      }
    }
  });

  it('agrees with BigInt on random moduli of 2048–4096 bits, values and counts (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2048, max: 4096 }), fc.bigInt({ min: 0n, max: (1n << 4096n) - 1n }), fc.integer({ min: 1, max: 1_300 }), (bits, seed, count) => {
        const modulus = modulusOf(bits);
        const value = seed % modulus;
        expect(wasmSquaring.prepare(modulus)(value, count)).toBe(bigIntSquaring.prepare(modulus)(value, count));
      }),
      { numRuns: 25 },
    );
  });

  it('compiles once per modulus, for a solver that prepares the kernel every slice', () => {
    const modulus = modulusOf(2048);
    expect(wasmSquaring.prepare(modulus)).toBe(wasmSquaring.prepare(modulus));
  });

  it('is what Node gets as the fastest kernel', () => {
    expect(fastestSquaring(bigIntSquaring)).toBe(wasmSquaring);
  });
});

describe('squaring layout', () => {
  it('keeps every i32 lane exact for every modulus size from 2048 to 4096 bits', () => {
    for (let bits = 2048; bits <= 4096; bits++) {
      const l = squaringLayout(bits);
      const { flushEvery, limbBound } = laneBounds(l.limbs, l.foldRows);
      expect(l.low % 4).toBe(0);
      expect(l.low * LIMB_BITS).toBeGreaterThan(bits + LIMB_BITS - 1);
      expect(flushEvery).toBeGreaterThanOrEqual(GROUP);
      // A flushed lane (below 2^14) after flushEvery dot products of the largest limbs, plus the carry rounds' bias.
      expect(2 ** LIMB_BITS + flushEvery * 2 * limbBound ** 2 + HALF).toBeLessThanOrEqual(2 ** 31 - 1);
      // The triangle's diagonal rows, doubled, plus the squares, between two flushes.
      expect(2 ** (LIMB_BITS + 1) + (2 * GROUP + 1) * 2 * limbBound ** 2).toBeLessThanOrEqual(2 ** 31 - 1);
      expect(limbBound).toBeLessThan(2 ** 15);
      expect(2 * l.foldRows).toBeGreaterThanOrEqual(l.highLimbs);
    }
  });

  it('writes integers as balanced limbs', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 4096n) - 1n }), (value) => {
        const limbs = balancedLimbs(value, 300);
        expect(limbs.every((limb) => limb >= -HALF && limb < HALF)).toBe(true);
        expect(limbs.reduceRight((sum, limb) => (sum << BigInt(LIMB_BITS)) + BigInt(limb), 0n)).toBe(value);
      }),
    );
    expect(() => balancedLimbs(1n << 4096n, 292)).toThrow(RangeError);
  });
});
