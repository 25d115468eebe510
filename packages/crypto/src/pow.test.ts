import fc from 'fast-check';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { createPowChallenge, derivePowSecret, leadingZeroBits, powBinding, PowDifficulty, solutionHash, solutionHasher, solvePow, verifyPow } from './pow.js';

const secret = new Uint8Array(32).fill(9);
const bind = new TextEncoder().encode('login:alice');

describe('proof of work', () => {
  it('counts leading zero bits exactly', () => {
    expect(leadingZeroBits(new Uint8Array([0x80]))).toBe(0);
    expect(leadingZeroBits(new Uint8Array([0x01]))).toBe(7);
    expect(leadingZeroBits(new Uint8Array([0, 0x20, 0xff]))).toBe(10);
    expect(leadingZeroBits(new Uint8Array([0, 0]))).toBe(16);
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 8 }), (bytes) => {
      const bitString = Array.from(bytes, (b) => b.toString(2).padStart(8, '0')).join('');
      const zeros = bitString.indexOf('1');
      expect(leadingZeroBits(bytes)).toBe(zeros === -1 ? bitString.length : zeros);
    }));
  });

  it('solves and verifies; binds to context, request and secret; expires', async () => {
    const challenge = createPowChallenge(secret, { context: 'login', difficulty: 10, ttlMs: 60_000, now: 1000 });
    let reported = 0;
    const counter = await solvePow(challenge, bind, { batch: 64, onProgress: (tried) => (reported = tried) });
    expect(verifyPow(secret, challenge, 'login', bind, counter, 2000)).toBe('ok');
    expect(reported === 0 || reported <= counter + 1).toBe(true);
    expect(verifyPow(secret, challenge, 'register', bind, counter, 2000)).toBe('wrong-context');
    expect(verifyPow(secret, challenge, 'login', new Uint8Array([1]), counter, 2000)).not.toBe('ok');
    expect(verifyPow(new Uint8Array(32), challenge, 'login', bind, counter, 2000)).toBe('bad-mac');
    expect(verifyPow(secret, { ...challenge, difficulty: 0 }, 'login', bind, counter, 2000)).toBe('bad-mac');
    expect(verifyPow(secret, challenge, 'login', bind, counter, 61_001)).toBe('expired');
    expect(verifyPow(secret, challenge, 'login', bind, -1, 2000)).toBe('insufficient');
  });

  it('difficulty zero needs no work', async () => {
    const challenge = createPowChallenge(secret, { context: 'login', difficulty: 0, ttlMs: 1000 });
    expect(await solvePow(challenge, bind)).toBe(0);
  });

  it('agrees with an independent computation of the solution hash', async () => {
    const challenge = createPowChallenge(secret, { context: 'login', difficulty: 8, ttlMs: 60_000 });
    const counter = await solvePow(challenge, bind);
    // CBOR of [mac(32 bytes), bind, counter] written out by hand (RFC 8949 major types 4, 2, 0).
    const head = [0x83, 0x58, 0x20];
    const bindHead = [0x40 + bind.length];
    const counterBytes = counter < 24 ? [counter] : counter < 256 ? [0x18, counter] : counter < 65536 ? [0x19, counter >> 8, counter & 0xff] : [0x1a, counter >>> 24, (counter >> 16) & 0xff, (counter >> 8) & 0xff, counter & 0xff];
    const manual = new Uint8Array([...head, ...challenge.mac, ...bindHead, ...bind, ...counterBytes]);
    expect(leadingZeroBits(sha256(manual))).toBeGreaterThanOrEqual(8);
  });

  it('raises difficulty additively under load and halves it when quiet, within the cap', () => {
    const controller = new PowDifficulty({ targetPerTick: 10, maxDifficulty: 5 });
    const load = (n: number) => {
      for (let i = 0; i < n; i++) controller.recordAttempt();
      return controller.tick();
    };
    expect([load(50), load(50), load(50), load(50), load(50), load(50), load(50)]).toEqual([1, 2, 3, 4, 5, 5, 5]);
    expect([load(0), load(0), load(0), load(0)]).toEqual([2, 1, 0, 0]);
  });

  it('searches with a cloned hash state that yields exactly the reference hash, at every counter width', () => {
    const boundaries = [0, 1, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER];
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), fc.oneof(fc.constantFrom(...boundaries), fc.nat(), fc.maxSafeNat()), (bindTo, counter) => {
        const challenge = createPowChallenge(secret, { context: 'register', difficulty: 4, ttlMs: 1000 });
        expect(solutionHasher(challenge, bindTo)(counter)).toEqual(solutionHash(challenge, bindTo, counter));
      }),
    );
  });

  it('binds a solution to one request, and derives its secret deterministically', () => {
    const request = new Uint8Array([1, 2, 3]);
    const binding = powBinding('login.start', 'alice', request);
    expect(binding).toEqual(powBinding('login.start', 'alice', new Uint8Array([1, 2, 3])));
    for (const other of [powBinding('register.start', 'alice', request), powBinding('login.start', 'alicf', request), powBinding('login.start', 'alice', new Uint8Array([1, 2, 4]))]) {
      expect(other).not.toEqual(binding);
    }
    expect(derivePowSecret(secret)).toEqual(derivePowSecret(new Uint8Array(32).fill(9)));
    expect(derivePowSecret(secret)).not.toEqual(secret);
    expect(derivePowSecret(secret).length).toBe(32);
  });
});
