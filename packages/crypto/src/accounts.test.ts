import { describe, expect, it } from 'vitest';
import { encodeCbor } from '@parley/protocol';
import { backupKeyFromExportKey, generateRecoveryKey, keyBackupPlaintext, open, openKeyBackup, recoveryKeys, seal, sealKeyBackup } from './backup.js';
import { CryptoError } from './errors.js';
import { fingerprint, sameFingerprint } from './fingerprint.js';
import { opaqueClient, opaqueReady, opaqueServer } from './opaque.js';
import { channelAuthMessage, deviceCertificateMessage, generateSigningKeyPair, passwordChangeMessage, recoveryMessage, sign, verify } from './signing.js';

describe('OPAQUE', () => {
  it('registers and logs in; a wrong password and an unknown user fail the same way', async () => {
    await opaqueReady;
    const setup = opaqueServer.createSetup();
    const reg = opaqueClient.startRegistration('correct horse');
    const response = opaqueServer.registrationResponse(setup, 'alice', reg.request);
    const { record, exportKey } = opaqueClient.finishRegistration(reg.state, 'correct horse', 'alice', response);

    const login = opaqueClient.startLogin('correct horse');
    const server = opaqueServer.startLogin(setup, 'alice', record, login.request);
    const done = opaqueClient.finishLogin(login.state, 'correct horse', 'alice', server.response);
    expect(done.exportKey).toEqual(exportKey);
    expect(opaqueServer.finishLogin(server.state, 'alice', done.finish).sessionKey).toEqual(done.sessionKey);

    const wrong = opaqueClient.startLogin('wrong');
    const wrongServer = opaqueServer.startLogin(setup, 'alice', record, wrong.request);
    expect(() => opaqueClient.finishLogin(wrong.state, 'wrong', 'alice', wrongServer.response)).toThrow(expect.objectContaining({ code: 'AUTH_FAILED' }));

    const ghost = opaqueClient.startLogin('whatever');
    const ghostServer = opaqueServer.startLogin(setup, 'nobody', undefined, ghost.request);
    expect(ghostServer.response.byteLength).toBe(server.response.byteLength);
    expect(() => opaqueClient.finishLogin(ghost.state, 'whatever', 'nobody', ghostServer.response)).toThrow(expect.objectContaining({ code: 'AUTH_FAILED' }));
  });

  it('turns garbage into typed errors', async () => {
    await opaqueReady;
    const setup = opaqueServer.createSetup();
    expect(() => opaqueServer.registrationResponse(setup, 'alice', new Uint8Array(5))).toThrow(CryptoError);
    expect(() => opaqueServer.startLogin(setup, 'alice', undefined, new Uint8Array(5))).toThrow(CryptoError);
  });
});

describe('key backup', () => {
  it('opens only with the same key and context', () => {
    const key = backupKeyFromExportKey(new Uint8Array(64).fill(7));
    const sealed = seal(key, new TextEncoder().encode('secret keys'), 'alice');
    expect(new TextDecoder().decode(open(key, sealed, 'alice'))).toBe('secret keys');
    expect(() => open(key, sealed, 'bob')).toThrow(expect.objectContaining({ code: 'SEAL_FAILED' }));
    expect(() => open(backupKeyFromExportKey(new Uint8Array(64)), sealed, 'alice')).toThrow(CryptoError);
    const tampered = sealed.slice();
    tampered[30] = (tampered[30] ?? 0) ^ 1;
    expect(() => open(key, tampered, 'alice')).toThrow(CryptoError);
  });

  it("seals a key backup for one user; opening it gives the identity key and the exact plaintext, or SEAL_FAILED", () => {
    const key = backupKeyFromExportKey(new Uint8Array(64).fill(9));
    const identity = new Uint8Array(32).fill(4);
    const sealed = sealKeyBackup(key, keyBackupPlaintext(identity), 'alice');
    const opened = openKeyBackup(key, sealed, 'alice');
    expect(opened.identityPrivateKey).toEqual(identity);
    expect(opened.plaintext).toEqual(keyBackupPlaintext(identity));
    expect(() => openKeyBackup(key, sealed, 'bob')).toThrow(expect.objectContaining({ code: 'SEAL_FAILED' }));
    expect(() => openKeyBackup(backupKeyFromExportKey(new Uint8Array(64)), sealed, 'alice')).toThrow(expect.objectContaining({ code: 'SEAL_FAILED' }));
    // Sealed under the right key and name, but not a backup (another version, or not CBOR at all).
    for (const plaintext of [encodeCbor({ v: 2, identityPrivateKey: identity }), new TextEncoder().encode('not cbor')]) {
      expect(() => openKeyBackup(key, sealKeyBackup(key, plaintext, 'alice'), 'alice')).toThrow(expect.objectContaining({ code: 'SEAL_FAILED' }));
    }
  });

  it('derives the same recovery keys from a recovery key however it is typed', () => {
    const recovery = generateRecoveryKey();
    expect(recovery).toMatch(/^([0-9A-Z]{4}-){7}[0-9A-Z]{4}$/);
    const a = recoveryKeys(recovery);
    const b = recoveryKeys(recovery.toLowerCase().replaceAll('-', ' '));
    expect(b.sealKey).toEqual(a.sealKey);
    expect(b.signing.publicKey).toEqual(a.signing.publicKey);
    expect(recoveryKeys(generateRecoveryKey()).sealKey).not.toEqual(a.sealKey);
    expect(() => recoveryKeys('too-short')).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
  });
});

describe('signatures', () => {
  it('binds device certificates and channel auth to their context', () => {
    const identity = generateSigningKeyPair();
    const device = generateSigningKeyPair();
    const cert = { username: 'alice', deviceId: 'dev12345', name: 'laptop', publicKey: device.publicKey };
    const signature = sign(identity.privateKey, deviceCertificateMessage(cert));
    expect(verify(identity.publicKey, deviceCertificateMessage(cert), signature)).toBe(true);
    expect(verify(identity.publicKey, deviceCertificateMessage({ ...cert, username: 'mallory' }), signature)).toBe(false);
    expect(verify(identity.publicKey, channelAuthMessage(new Uint8Array(32), 'alice', 'dev12345'), signature)).toBe(false);
    expect(verify(new Uint8Array(32), new Uint8Array(1), new Uint8Array(3))).toBe(false);
  });

  it('binds a password change and a recovery to every field, and keeps them apart', () => {
    const key = generateSigningKeyPair();
    const [record, backup, nonce] = [new Uint8Array(192).fill(1), new Uint8Array(97).fill(2), new Uint8Array(32).fill(3)];
    const change = sign(key.privateKey, passwordChangeMessage('alice', nonce, record, backup));
    expect(verify(key.publicKey, passwordChangeMessage('alice', nonce, record, backup), change)).toBe(true);
    expect(verify(key.publicKey, passwordChangeMessage('mallory', nonce, record, backup), change)).toBe(false);
    expect(verify(key.publicKey, passwordChangeMessage('alice', new Uint8Array(32), record, backup), change)).toBe(false);
    expect(verify(key.publicKey, passwordChangeMessage('alice', nonce, record, new Uint8Array(97)), change)).toBe(false);
    const recovery = sign(key.privateKey, recoveryMessage('alice', nonce, record, backup));
    expect(verify(key.publicKey, recoveryMessage('alice', nonce, record, backup), recovery)).toBe(true);
    expect(verify(key.publicKey, recoveryMessage('alice', new Uint8Array(32), record, backup), recovery)).toBe(false);
    expect(verify(key.publicKey, recoveryMessage('alice', nonce, new Uint8Array(192), backup), recovery)).toBe(false);
    expect(verify(key.publicKey, passwordChangeMessage('alice', nonce, record, backup), recovery)).toBe(false);
  });

  it('formats and compares fingerprints', () => {
    const fp = fingerprint(new Uint8Array(32));
    expect(fp).toMatch(/^SHA256:[A-Za-z0-9_-]{43}$/);
    expect(sameFingerprint(fp, ` ${fp.slice(7)} `)).toBe(true);
    expect(sameFingerprint(fp, fingerprint(new Uint8Array(32).fill(1)))).toBe(false);
  });
});
