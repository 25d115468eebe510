/**
 * @module RSW time-lock puzzles (Rivest, Shamir, Wagner, "Time-lock puzzles and timed-release
 * crypto", 1996): `maskedKey = c ⊕ H(a^(2^T) mod N)`. Without the factors of N, the only known
 * way to a^(2^T) is T sequential squarings; with φ(N) = (p−1)(q−1) the exponent 2^T shrinks to
 * 2^T mod φ(N), so the server makes (and later re-opens) a lock in a few milliseconds.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import {
  encodeCbor,
  TIMELOCK_KEY_BYTES,
  TIMELOCK_MAX_MODULUS_BYTES,
  TIMELOCK_MAX_SQUARINGS,
  TIMELOCK_MIN_MODULUS_BYTES,
  type TimelockPuzzle,
} from '@parley/protocol';
import { CryptoError } from '../errors.js';
import { bigIntToBytes, bitLength, bytesToBigInt, gcd, modInverse, modPow } from './integers.js';

/** The server's secret for one modulus: its two prime factors. */
export interface TimelockTrapdoor {
  modulus: Uint8Array;
  p: Uint8Array;
  q: Uint8Array;
}

const badPuzzle = (problem: string) => new CryptoError('BAD_PUZZLE', `time-lock puzzle: ${problem}`);

/** The numbers of a puzzle, checked: what a solver and `timelockKeyFromSolution` work with. */
export interface PuzzleNumbers {
  modulus: bigint;
  base: bigint;
  squarings: number;
  /** The modulus's length in bytes: every integer of the puzzle is encoded at this length. */
  length: number;
}

/**
 * Checks what the schema cannot: a modulus of 2048 to 4096 bits (whole bytes, odd), a base in
 * [2, N−2] sharing no factor with N and encoded at the modulus's length, and 1 to 2^50 squarings.
 * Throws CryptoError BAD_PUZZLE naming the problem.
 */
export function checkTimelockPuzzle(puzzle: TimelockPuzzle): PuzzleNumbers {
  const length = puzzle.modulus.byteLength;
  if (length < TIMELOCK_MIN_MODULUS_BYTES || length > TIMELOCK_MAX_MODULUS_BYTES) {
    throw badPuzzle(`the modulus has ${length * 8} bits; ${TIMELOCK_MIN_MODULUS_BYTES * 8} to ${TIMELOCK_MAX_MODULUS_BYTES * 8} are allowed`);
  }
  if (puzzle.modulus[0] === 0) throw badPuzzle('the modulus has a leading zero byte');
  const modulus = bytesToBigInt(puzzle.modulus);
  if ((modulus & 1n) === 0n) throw badPuzzle('the modulus is even');
  if (puzzle.base.byteLength !== length) throw badPuzzle(`the base has ${puzzle.base.byteLength} bytes, not the modulus's ${length}`);
  const base = bytesToBigInt(puzzle.base);
  if (base < 2n || base > modulus - 2n) throw badPuzzle('the base is not in [2, N-2]');
  if (gcd(base, modulus) !== 1n) throw badPuzzle('the base shares a factor with the modulus');
  if (!Number.isSafeInteger(puzzle.squarings) || puzzle.squarings < 1 || puzzle.squarings > TIMELOCK_MAX_SQUARINGS) {
    throw badPuzzle(`${puzzle.squarings} squarings; 1 to 2^50 are allowed`);
  }
  if (puzzle.maskedKey.byteLength !== TIMELOCK_KEY_BYTES) throw badPuzzle(`the masked key has ${puzzle.maskedKey.byteLength} bytes, not ${TIMELOCK_KEY_BYTES}`);
  return { modulus, base, squarings: puzzle.squarings, length };
}

/** H in `c ⊕ H(y)`: SHA-256 over y and everything that defines it, so a y cannot serve another puzzle. */
function solutionMask(numbers: PuzzleNumbers, solution: bigint): Uint8Array {
  const encode = (value: bigint) => bigIntToBytes(value, numbers.length);
  return sha256(encodeCbor(['parley/timelock/v1', encode(numbers.modulus), encode(numbers.base), numbers.squarings, encode(solution)]));
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  return a.map((byte, i) => byte ^ (b[i] ?? 0));
}

/** The challenge key from a^(2^T) mod N, however it was found (sequential squaring or the trapdoor). */
export function timelockKeyFromSolution(puzzle: TimelockPuzzle, solution: bigint): Uint8Array {
  return xor(puzzle.maskedKey, solutionMask(checkTimelockPuzzle(puzzle), solution));
}

interface Factors {
  p: bigint;
  q: bigint;
  modulus: bigint;
}

function factors(trapdoor: TimelockTrapdoor): Factors {
  return { p: bytesToBigInt(trapdoor.p), q: bytesToBigInt(trapdoor.q), modulus: bytesToBigInt(trapdoor.modulus) };
}

/** a^(2^T) mod N with the factors: 2^T reduced mod p−1 and q−1 (Fermat), then CRT. */
function shortcut({ p, q }: Factors, base: bigint, squarings: number): bigint {
  const T = BigInt(squarings);
  const yp = modPow(base % p, modPow(2n, T, p - 1n), p);
  const yq = modPow(base % q, modPow(2n, T, q - 1n), q);
  // Garner's CRT recombination: y ≡ yp (mod p), y ≡ yq (mod q).
  return yq + q * ((((yp - yq) % p) + p) * modInverse(q, p) % p);
}

/**
 * Checks a trapdoor before the server relies on it: p and q distinct, N = pq of 2048 to 4096 bits,
 * and the shortcut agrees with real squarings of a random base, which it would not if p or q were
 * not prime (φ(N) would be wrong). Twice the modulus's bits of squarings, so 2^T exceeds p−1 and
 * q−1 and the shortcut really reduces the exponent. Throws CryptoError BAD_INPUT.
 */
export function checkTimelockTrapdoor(trapdoor: TimelockTrapdoor): void {
  const f = factors(trapdoor);
  const bits = bitLength(f.modulus);
  if (f.p * f.q !== f.modulus) throw new CryptoError('BAD_INPUT', 'time-lock trapdoor: p·q is not the modulus');
  if (f.p === f.q || f.p < 3n || f.q < 3n) throw new CryptoError('BAD_INPUT', 'time-lock trapdoor: p and q must be distinct odd primes');
  if (bits < TIMELOCK_MIN_MODULUS_BYTES * 8 || bits > TIMELOCK_MAX_MODULUS_BYTES * 8 || bits % 8 !== 0) {
    throw new CryptoError('BAD_INPUT', `time-lock trapdoor: a ${bits}-bit modulus; whole bytes from 2048 to 4096 bits are allowed`);
  }
  const base = randomBase(f.modulus, trapdoor.modulus.byteLength);
  const squarings = 2 * bits;
  let squared = base;
  for (let i = 0; i < squarings; i++) squared = (squared * squared) % f.modulus;
  if (shortcut(f, base, squarings) !== squared) throw new CryptoError('BAD_INPUT', 'time-lock trapdoor: p or q is not prime');
}

/** The trapdoor of N = pq for two primes given as big-endian bytes (e.g. from OpenSSL), checked. */
export function timelockTrapdoorFromPrimes(p: Uint8Array, q: Uint8Array): TimelockTrapdoor {
  const modulus = bytesToBigInt(p) * bytesToBigInt(q);
  const length = Math.ceil(bitLength(modulus) / 8);
  const trapdoor = { modulus: bigIntToBytes(modulus, length), p, q };
  checkTimelockTrapdoor(trapdoor);
  return trapdoor;
}

/** A uniform base in [2, N−2] coprime to N (a random one shares a factor with probability ~2^-1023). */
function randomBase(modulus: bigint, length: number): bigint {
  for (;;) {
    const candidate = bytesToBigInt(randomBytes(length + 16)) % modulus;
    if (candidate >= 2n && candidate <= modulus - 2n && gcd(candidate, modulus) === 1n) return candidate;
  }
}

/** A puzzle that hides `key` behind `squarings` sequential squarings modulo the trapdoor's N. */
export function createTimelockPuzzle(trapdoor: TimelockTrapdoor, options: { key: Uint8Array; squarings: number }): TimelockPuzzle {
  if (options.key.byteLength !== TIMELOCK_KEY_BYTES) throw new CryptoError('BAD_INPUT', `a time-lock key is ${TIMELOCK_KEY_BYTES} bytes`);
  const f = factors(trapdoor);
  const length = trapdoor.modulus.byteLength;
  const base = randomBase(f.modulus, length);
  const numbers = checkTimelockPuzzle({ modulus: trapdoor.modulus, base: bigIntToBytes(base, length), squarings: options.squarings, maskedKey: options.key });
  const maskedKey = xor(options.key, solutionMask(numbers, shortcut(f, base, options.squarings)));
  return { modulus: trapdoor.modulus, base: bigIntToBytes(base, length), squarings: options.squarings, maskedKey };
}

/** The key a puzzle hides, recovered with the trapdoor: what the server releases at the unlock time. */
export function openTimelockPuzzle(trapdoor: TimelockTrapdoor, puzzle: TimelockPuzzle): Uint8Array {
  const numbers = checkTimelockPuzzle(puzzle);
  const f = factors(trapdoor);
  if (numbers.modulus !== f.modulus) throw new CryptoError('BAD_INPUT', 'the puzzle is not for this trapdoor');
  return timelockKeyFromSolution(puzzle, shortcut(f, numbers.base, numbers.squarings));
}
