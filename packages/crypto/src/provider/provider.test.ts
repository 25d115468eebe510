/**
 * One conformance suite for every crypto provider (STYLE §2): published vectors for each
 * primitive, the failure behaviour callers rely on, and agreement between the providers on random
 * inputs (deterministic functions equal, signatures and AEADs interoperate both ways).
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CryptoError } from '../errors.js';
import { nodeCryptoProvider } from '../node.js';
import { nobleCryptoProvider } from './noble.js';
import type { CryptoProvider } from './provider.js';

const providers: CryptoProvider[] = [nodeCryptoProvider, nobleCryptoProvider];
const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const bytes = (length: number) => fc.uint8Array({ minLength: length, maxLength: length });

function expectCode(run: () => unknown, code: CryptoError['code']): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(CryptoError);
  expect((caught as CryptoError).code).toBe(code);
}

describe.each(providers.map((provider) => [provider.name, provider] as const))('crypto provider %s', (_name, p) => {
  it('hashes and MACs as FIPS 180-4 and RFC 4231 say', () => {
    // FIPS 180-4 example "abc"; RFC 4231 §4.3 test case 2.
    expect(bytesToHex(p.sha256(text('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(bytesToHex(p.hmacSha256(text('Jefe'), text('what do ya want for nothing?')))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it('seals AES-128-GCM as the GCM specification\'s test cases 1 and 2', () => {
    const key = new Uint8Array(16);
    const nonce = new Uint8Array(12);
    const empty = new Uint8Array(0);
    expect(bytesToHex(p.aes128Gcm.seal(key, nonce, empty, empty))).toBe('58e2fccefa7e3061367f1d57a4e7455a');
    const sealed = p.aes128Gcm.seal(key, nonce, empty, new Uint8Array(16));
    expect(bytesToHex(sealed)).toBe('0388dace60b6a392f328c2b971b2fe78' + 'ab6e47d42cec13bdf53a67b21257bddf');
    expect(p.aes128Gcm.open(key, nonce, empty, sealed)).toEqual(new Uint8Array(16));
  });

  it('seals ChaCha20-Poly1305 as RFC 8439 §2.8.2', () => {
    const key = hexToBytes('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
    const nonce = hexToBytes('070000004041424344454647');
    const aad = hexToBytes('50515253c0c1c2c3c4c5c6c7');
    const plaintext = text(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
    );
    const expected =
      'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116' +
      '1ae10b594f09e26a7e902ecbd0600691';
    const sealed = p.chacha20Poly1305.seal(key, nonce, aad, plaintext);
    expect(bytesToHex(sealed)).toBe(expected);
    expect(p.chacha20Poly1305.open(key, nonce, aad, sealed)).toEqual(plaintext);
  });

  it('agrees X25519 keys as RFC 7748 §6.1', () => {
    const alice = hexToBytes('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const bob = hexToBytes('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
    const alicePublic = p.x25519PublicKey(alice);
    const bobPublic = p.x25519PublicKey(bob);
    expect(bytesToHex(alicePublic)).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(bytesToHex(bobPublic)).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    expect(bytesToHex(p.x25519(alice, bobPublic))).toBe(shared);
    expect(bytesToHex(p.x25519(bob, alicePublic))).toBe(shared);
  });

  it('signs Ed25519 as RFC 8032 §7.1 test 1', () => {
    const privateKey = hexToBytes('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
    const publicKey = p.ed25519PublicKey(privateKey);
    expect(bytesToHex(publicKey)).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    const signature = p.ed25519Sign(privateKey, new Uint8Array(0));
    expect(bytesToHex(signature)).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
    expect(p.ed25519Verify(publicKey, new Uint8Array(0), signature)).toBe(true);
  });

  it('refuses what does not authenticate, and wrong lengths, with typed errors', () => {
    const key = p.randomBytes(16);
    const nonce = p.randomBytes(12);
    const sealed = p.aes128Gcm.seal(key, nonce, text('ad'), text('secret'));
    expectCode(() => p.aes128Gcm.open(key, nonce, text('other ad'), sealed), 'SEAL_FAILED');
    const tampered = sealed.slice();
    tampered[0] = (tampered[0] ?? 0) ^ 1;
    expectCode(() => p.aes128Gcm.open(key, nonce, text('ad'), tampered), 'SEAL_FAILED');
    expectCode(() => p.aes128Gcm.open(key, nonce, text('ad'), sealed.subarray(0, 15)), 'SEAL_FAILED');
    expectCode(() => p.aes128Gcm.seal(p.randomBytes(32), nonce, text('ad'), text('x')), 'BAD_INPUT');
    expectCode(() => p.chacha20Poly1305.seal(p.randomBytes(32), p.randomBytes(8), text('ad'), text('x')), 'BAD_INPUT');
  });

  it('answers false, never throws, for a signature that does not verify', () => {
    const privateKey = p.randomBytes(32);
    const publicKey = p.ed25519PublicKey(privateKey);
    const signature = p.ed25519Sign(privateKey, text('message'));
    expect(p.ed25519Verify(publicKey, text('other message'), signature)).toBe(false);
    expect(p.ed25519Verify(publicKey, text('message'), signature.subarray(0, 63))).toBe(false);
    expect(p.ed25519Verify(publicKey.subarray(0, 31), text('message'), signature)).toBe(false);
    // RFC 8032 §5.1.7: S must be below the group order; S + L is the classic malleated form.
    const malleated = signature.slice();
    malleated.set(new Uint8Array(32).fill(0xff), 32);
    expect(p.ed25519Verify(publicKey, text('message'), malleated)).toBe(false);
  });

  it('refuses an X25519 exchange with a low-order point (RFC 7748 §6.1)', () => {
    expect(() => p.x25519(p.randomBytes(32), new Uint8Array(32))).toThrow();
    expect(() => p.x25519Ephemeral(new Uint8Array(32))).toThrow();
  });

  it('makes ephemeral exchanges the recipient can repeat with its private key', () => {
    const recipient = p.randomBytes(32);
    const { publicKey, sharedSecret } = p.x25519Ephemeral(p.x25519PublicKey(recipient));
    expect(p.x25519(recipient, publicKey)).toEqual(sharedSecret);
    expect(p.x25519Ephemeral(p.x25519PublicKey(recipient)).publicKey).not.toEqual(publicKey);
  });

  it('returns plain Uint8Arrays', () => {
    const key = p.randomBytes(32);
    const results = [
      p.randomBytes(8),
      p.sha256(key),
      p.hmacSha256(key, key),
      p.chacha20Poly1305.open(key, new Uint8Array(12), key, p.chacha20Poly1305.seal(key, new Uint8Array(12), key, key)),
      p.x25519PublicKey(key),
      p.ed25519Sign(key, key),
    ];
    for (const result of results) expect(Object.getPrototypeOf(result)).toBe(Uint8Array.prototype);
  });
});

describe('crypto providers agree', () => {
  const [node, noble] = providers as [CryptoProvider, CryptoProvider];

  it('on hashes, MACs and X25519 for the same inputs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), bytes(32), bytes(32), (data, key, privateKey) => {
        expect(node.sha256(data)).toEqual(noble.sha256(data));
        expect(node.hmacSha256(key, data)).toEqual(noble.hmacSha256(key, data));
        const publicKey = noble.x25519PublicKey(privateKey);
        expect(node.x25519PublicKey(privateKey)).toEqual(publicKey);
        expect(node.x25519(key, publicKey)).toEqual(noble.x25519(key, publicKey));
      }),
      { numRuns: 50 },
    );
  });

  it('on Ed25519: equal keys and signatures, each verifying the other\'s', () => {
    fc.assert(
      fc.property(bytes(32), fc.uint8Array({ maxLength: 300 }), (privateKey, message) => {
        const publicKey = node.ed25519PublicKey(privateKey);
        expect(noble.ed25519PublicKey(privateKey)).toEqual(publicKey);
        const signature = node.ed25519Sign(privateKey, message);
        // RFC 8032 signatures are deterministic.
        expect(noble.ed25519Sign(privateKey, message)).toEqual(signature);
        expect(noble.ed25519Verify(publicKey, message, signature)).toBe(true);
        expect(node.ed25519Verify(publicKey, message, signature)).toBe(true);
      }),
      { numRuns: 30 },
    );
  });

  it('on Ed25519 signatures whichever signing keys node:crypto has kept', () => {
    // More keys than the node provider keeps imported, signed with in turn, and one key changed in place.
    const keys = Array.from({ length: 12 }, () => noble.randomBytes(32));
    const message = text('kept or not');
    for (let round = 0; round < 2; round++) {
      for (const key of keys) expect(node.ed25519Sign(key, message)).toEqual(noble.ed25519Sign(key, message));
    }
    const [changed] = keys as [Uint8Array];
    node.ed25519Sign(changed, message);
    changed[0] = (changed[0] ?? 0) ^ 1;
    expect(node.ed25519Sign(changed, message)).toEqual(noble.ed25519Sign(changed, message));
  });

  it('on both AEADs, each opening what the other sealed', () => {
    fc.assert(
      fc.property(bytes(32), bytes(12), fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 600 }), (key, nonce, ad, plaintext) => {
        for (const [aead, keyLength] of [['aes128Gcm', 16], ['chacha20Poly1305', 32]] as const) {
          const k = key.subarray(0, keyLength);
          const sealed = node[aead].seal(k, nonce, ad, plaintext);
          expect(noble[aead].seal(k, nonce, ad, plaintext)).toEqual(sealed);
          expect(noble[aead].open(k, nonce, ad, sealed)).toEqual(plaintext);
          expect(node[aead].open(k, nonce, ad, noble[aead].seal(k, nonce, ad, plaintext))).toEqual(plaintext);
        }
      }),
      { numRuns: 50 },
    );
  });
});
