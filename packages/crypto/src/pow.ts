/**
 * @module Proof of work against floods (DESIGN §10): the server hands out HMAC-signed, expiring
 * challenges bound to one request; the client finds a counter whose hash has `difficulty` leading
 * zero bits; the server checks it with two hashes. Single use is the server's job (it remembers
 * nonces until they expire).
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { encodeCbor } from '@parley/protocol';

export interface PowChallenge {
  /** What the challenge is for, e.g. "login" or "register". */
  context: string;
  nonce: Uint8Array;
  /** Leading zero bits required of the solution hash. 0 means "no work". */
  difficulty: number;
  /** Unix milliseconds after which the challenge is refused. */
  expiresAt: number;
  /** The server's HMAC over all of the above. */
  mac: Uint8Array;
}

export const MAX_POW_DIFFICULTY = 32;

function challengeBody(challenge: Omit<PowChallenge, 'mac'>): Uint8Array {
  return encodeCbor(['parley/pow/v1', challenge.context, challenge.nonce, challenge.difficulty, challenge.expiresAt]);
}

export function createPowChallenge(secret: Uint8Array, options: { context: string; difficulty: number; ttlMs: number; now?: number }): PowChallenge {
  const difficulty = Math.max(0, Math.min(MAX_POW_DIFFICULTY, Math.floor(options.difficulty)));
  const body = { context: options.context, nonce: randomBytes(16), difficulty, expiresAt: (options.now ?? Date.now()) + options.ttlMs };
  return { ...body, mac: hmac(sha256, secret, challengeBody(body)) };
}

function solutionHash(challenge: PowChallenge, bindTo: Uint8Array, counter: number): Uint8Array {
  return sha256(encodeCbor([challenge.mac, bindTo, counter]));
}

export function leadingZeroBits(hash: Uint8Array): number {
  let bits = 0;
  for (const byte of hash) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

/**
 * Search for a solution, yielding to the event loop every `batch` hashes so a page stays
 * responsive; `onProgress` gets the hashes tried and the expected total (2^difficulty).
 */
export async function solvePow(
  challenge: PowChallenge,
  bindTo: Uint8Array,
  options: { onProgress?: (tried: number, expected: number) => void; batch?: number; signal?: AbortSignal } = {},
): Promise<number> {
  const batch = options.batch ?? 4096;
  const expected = 2 ** challenge.difficulty;
  for (let counter = 0; ; counter++) {
    if (leadingZeroBits(solutionHash(challenge, bindTo, counter)) >= challenge.difficulty) return counter;
    if (counter % batch === batch - 1) {
      options.onProgress?.(counter + 1, expected);
      options.signal?.throwIfAborted();
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }
}

export type PowVerdict = 'ok' | 'bad-mac' | 'expired' | 'wrong-context' | 'insufficient';

/** Constant work: one HMAC and one hash. Does not check single use. */
export function verifyPow(secret: Uint8Array, challenge: PowChallenge, context: string, bindTo: Uint8Array, counter: number, now = Date.now()): PowVerdict {
  const expected = hmac(sha256, secret, challengeBody(challenge));
  let diff = expected.length ^ challenge.mac.length;
  for (let i = 0; i < expected.length; i++) diff |= (expected[i] ?? 0) ^ (challenge.mac[i] ?? 0);
  if (diff !== 0) return 'bad-mac';
  if (challenge.context !== context) return 'wrong-context';
  if (now > challenge.expiresAt) return 'expired';
  if (!Number.isSafeInteger(counter) || counter < 0) return 'insufficient';
  return leadingZeroBits(solutionHash(challenge, bindTo, counter)) >= challenge.difficulty ? 'ok' : 'insufficient';
}

/**
 * Difficulty that follows load with additive increase and multiplicative decrease, as Tor's
 * onion-service PoW defence does: each tick, +1 bit while attempts exceed the target rate,
 * halve when they are under it; never above `maxDifficulty`.
 */
export class PowDifficulty {
  private attempts = 0;
  private current = 0;

  constructor(private readonly options: { targetPerTick: number; maxDifficulty: number; step?: number }) {}

  get difficulty(): number {
    return this.current;
  }

  recordAttempt(): void {
    this.attempts++;
  }

  /** Call once per period (e.g. every second). */
  tick(): number {
    if (this.attempts > this.options.targetPerTick) this.current = Math.min(this.options.maxDifficulty, this.current + (this.options.step ?? 1));
    else this.current = Math.floor(this.current / 2);
    this.attempts = 0;
    return this.current;
  }
}
