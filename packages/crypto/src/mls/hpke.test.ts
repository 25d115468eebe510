/** HPKE base mode replayed against RFC 9180 Appendix A.1.1, on every crypto provider. */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { nodeCryptoProvider } from '../node.js';
import { nobleCryptoProvider } from '../provider/noble.js';
import { deriveKeyPair, exportSecret, openOnce, sealOnce, setupBaseReceiver, setupBaseSender } from './hpke.js';

/** RFC 9180 A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, mode_base. */
const A11 = {
  info: '4f6465206f6e2061204772656369616e2055726e',
  ikmE: '7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234',
  pkEm: '37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431',
  skEm: '52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736',
  ikmR: '6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037',
  pkRm: '3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d',
  skRm: '4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8',
  key: '4531685d41d65f03dc48f6b8302c05b0',
  baseNonce: '56d890e5accaaf011cff4b7d',
  exporterSecret: '45ff1c2e220db587171952c0592d5f5ebe103f1561a2614e38f2ffd47e99e3f8',
  /** Sequence number 0, the only one single-shot HPKE uses. */
  encryption: {
    pt: '4265617574792069732074727574682c20747275746820626561757479',
    aad: '436f756e742d30',
    ct: 'f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a',
  },
  exports: [
    { context: '', length: 32, value: '3853fe2b4035195a573ffc53856e77058e15d9ea064de3e59f4961d0095250ee' },
    { context: '00', length: 32, value: '2e8f0b54673c7029649d4eb9d5e33bf1872cf76d623ff164ac185da9e88c21a5' },
    { context: '54657374436f6e74657874', length: 32, value: 'e9e43065102c3836401bed8c3c3c75ae46be1639869391d62c61f1ec7af54931' },
  ],
};

describe.each([nodeCryptoProvider, nobleCryptoProvider].map((p) => [p.name, p] as const))('HPKE on %s', (_name, p) => {
  it('derives the key pairs of RFC 9180 A.1.1 (§7.1.3 DeriveKeyPair)', () => {
    const ephemeral = deriveKeyPair(p, hexToBytes(A11.ikmE));
    expect(bytesToHex(ephemeral.privateKey)).toBe(A11.skEm);
    expect(bytesToHex(ephemeral.publicKey)).toBe(A11.pkEm);
    const recipient = deriveKeyPair(p, hexToBytes(A11.ikmR));
    expect(bytesToHex(recipient.privateKey)).toBe(A11.skRm);
    expect(bytesToHex(recipient.publicKey)).toBe(A11.pkRm);
  });

  it('sets up both sides, seals and exports as RFC 9180 A.1.1', () => {
    const info = hexToBytes(A11.info);
    const ephemeral = { privateKey: hexToBytes(A11.skEm), publicKey: hexToBytes(A11.pkEm) };
    const sender = setupBaseSender(p, hexToBytes(A11.pkRm), info, ephemeral);
    expect(bytesToHex(sender.enc)).toBe(A11.pkEm);
    const receiver = setupBaseReceiver(p, sender.enc, hexToBytes(A11.skRm), info);
    for (const context of [sender.context, receiver]) {
      expect(bytesToHex(context.key)).toBe(A11.key);
      expect(bytesToHex(context.baseNonce)).toBe(A11.baseNonce);
      expect(bytesToHex(context.exporterSecret)).toBe(A11.exporterSecret);
      for (const { context: exporterContext, length, value } of A11.exports) {
        expect(bytesToHex(exportSecret(p, context, hexToBytes(exporterContext), length))).toBe(value);
      }
    }
    const { pt, aad, ct } = A11.encryption;
    expect(bytesToHex(sealOnce(p, sender.context, hexToBytes(aad), hexToBytes(pt)))).toBe(ct);
    expect(bytesToHex(openOnce(p, receiver, hexToBytes(aad), hexToBytes(ct)))).toBe(pt);
  });

  it('seals to a fresh ephemeral key each time, which the recipient opens', () => {
    const recipient = deriveKeyPair(p, hexToBytes(A11.ikmR));
    const info = new TextEncoder().encode('info');
    const first = setupBaseSender(p, recipient.publicKey, info);
    const second = setupBaseSender(p, recipient.publicKey, info);
    expect(first.enc).not.toEqual(second.enc);
    const opened = setupBaseReceiver(p, first.enc, recipient.privateKey, info);
    expect(opened).toEqual(first.context);
  });
});
