import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bigIntSquaring } from './solver.js';
import { fastestSquaring, wasmSquaring } from './wasm-squaring.js';

const random = (bits: number) => BigInt(`0x${randomBytes(Math.ceil(bits / 8)).toString('hex')}`) & ((1n << BigInt(bits)) - 1n);
/** An odd modulus of exactly `bits` bits (the kernel never needs N prime). */
const modulusOf = (bits: number) => random(bits) | (1n << BigInt(bits - 1)) | 1n;

describe('WebAssembly squaring kernel', () => {
  it('agrees with BigInt for every allowed modulus size, including both limb sizes', () => {
    for (const bits of [2048, 2056, 3072, 3584, 4096]) {
      const modulus = modulusOf(bits);
      const wasm = wasmSquaring.prepare(modulus);
      const reference = bigIntSquaring.prepare(modulus);
      for (const value of [random(bits) % modulus, modulus - 1n, 2n, 0n, 1n]) {
        expect(wasm(value, 1_300), `${bits} bits`).toBe(reference(value, 1_300));
      }
    }
  });

  it('agrees with BigInt on random moduli, values and counts (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 256, max: 512 }), fc.bigInt({ min: 0n, max: (1n << 4096n) - 1n }), fc.integer({ min: 1, max: 700 }), (bytes, seed, count) => {
        const modulus = modulusOf(bytes * 8);
        const value = seed % modulus;
        expect(wasmSquaring.prepare(modulus)(value, count)).toBe(bigIntSquaring.prepare(modulus)(value, count));
      }),
      { numRuns: 25 },
    );
  });

  it('is what Node gets as the fastest kernel', () => {
    expect(fastestSquaring(bigIntSquaring)).toBe(wasmSquaring);
  });
});
