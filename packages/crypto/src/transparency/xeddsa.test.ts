import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { signTreeHead, verifyTreeHead } from './key-log.js';
import { montgomeryToEdwards, xeddsaSign, xeddsaVerify } from './xeddsa.js';

const message = new TextEncoder().encode('tree head');

describe('XEdDSA with the server Noise key', () => {
  it('signs with an X25519 private key so that the X25519 public key verifies', () => {
    for (let i = 0; i < 20; i++) {
      const privateKey = x25519.utils.randomSecretKey();
      const publicKey = x25519.getPublicKey(privateKey);
      const signature = xeddsaSign(privateKey, message);
      expect(xeddsaVerify(publicKey, message, signature)).toBe(true);
      expect(xeddsaVerify(publicKey, new TextEncoder().encode('tree heads'), signature)).toBe(false);
      expect(xeddsaVerify(x25519.getPublicKey(x25519.utils.randomSecretKey()), message, signature)).toBe(false);
      const tampered = Uint8Array.from(signature, (byte, k) => (k === i ? byte ^ 1 : byte));
      expect(xeddsaVerify(publicKey, message, tampered)).toBe(false);
    }
  });

  it('maps Montgomery u back to the Edwards point that RFC 7748 maps to it (sign bit 0)', () => {
    for (let i = 0; i < 10; i++) {
      const edwards = ed25519.getPublicKey(ed25519.utils.randomSecretKey());
      const positive = Uint8Array.from(edwards, (byte, k) => (k === 31 ? byte & 0x7f : byte));
      expect(montgomeryToEdwards(ed25519.utils.toMontgomery(edwards))).toEqual(positive);
    }
  });

  it('refuses malformed keys and signatures without throwing', () => {
    const publicKey = x25519.getPublicKey(x25519.utils.randomSecretKey());
    expect(xeddsaVerify(publicKey.slice(1), message, new Uint8Array(64))).toBe(false);
    expect(xeddsaVerify(publicKey, message, new Uint8Array(63))).toBe(false);
    expect(xeddsaVerify(publicKey, message, new Uint8Array(64).fill(0xff))).toBe(false);
  });

  it('signs tree heads: any change of size, root or time breaks the signature', () => {
    const privateKey = x25519.utils.randomSecretKey();
    const publicKey = x25519.getPublicKey(privateKey);
    const head = signTreeHead(privateKey, { size: 5, rootHash: new Uint8Array(32).fill(7), timestamp: 1_700_000_000_000 });
    expect(verifyTreeHead(publicKey, head)).toBe(true);
    expect(verifyTreeHead(publicKey, { ...head, size: 6 })).toBe(false);
    expect(verifyTreeHead(publicKey, { ...head, rootHash: new Uint8Array(32).fill(8) })).toBe(false);
    expect(verifyTreeHead(publicKey, { ...head, timestamp: head.timestamp + 1 })).toBe(false);
  });
});
