import { describe, expect, it } from 'vitest';
import { openFromDevice, sealToDevice } from './device-box.js';
import { generateSigningKeyPair } from './signing.js';

describe('device boxes', () => {
  const phone = generateSigningKeyPair();
  const laptop = generateSigningKeyPair();
  const other = generateSigningKeyPair();
  const plaintext = new TextEncoder().encode('the history');

  it('opens only for the recipient, only from the signing sender, only in its context', () => {
    const sealed = sealToDevice({ senderPrivateKey: phone.privateKey, recipientPublicKey: laptop.publicKey, plaintext, context: 't1/0' });
    const open = (recipient = laptop, sender = phone.publicKey, context = 't1/0', box = sealed) =>
      openFromDevice({ recipientPrivateKey: recipient.privateKey, recipientPublicKey: recipient.publicKey, senderPublicKey: sender, sealed: box, context });
    expect(open()).toEqual(plaintext);
    expect(() => open(other)).toThrow(expect.objectContaining({ name: 'CryptoError' }));
    expect(() => open(laptop, other.publicKey)).toThrow(expect.objectContaining({ code: 'BAD_SIGNATURE' }));
    expect(() => open(laptop, phone.publicKey, 't1/1')).toThrow(expect.objectContaining({ name: 'CryptoError' }));
    const tampered = sealed.slice();
    tampered[40] = (tampered[40] ?? 0) ^ 1;
    expect(() => open(laptop, phone.publicKey, 't1/0', tampered)).toThrow(expect.objectContaining({ name: 'CryptoError' }));
    expect(() => open(laptop, phone.publicKey, 't1/0', new Uint8Array([1, 2, 3]))).toThrow(expect.objectContaining({ code: 'SEAL_FAILED' }));
  });
});
