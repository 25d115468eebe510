/** The credential service over real SQLite storage, with a clock the test moves: expiry and fakes. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  backupKeyFromExportKey,
  generateRecoveryKey,
  generateSigningKeyPair,
  opaqueClient,
  opaqueReady,
  opaqueServer,
  passwordChangeMessage,
  recoveryKeys,
  recoveryMessage,
  seal,
  sign,
} from '@parley/crypto';
import { encodeCbor } from '@parley/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { openSqliteStorage, type Storage } from '../storage/index.js';
import { CREDENTIAL_CHALLENGE_TTL_MS, PasswordService, FAKE_RECOVERY_BACKUP_BYTES } from './passwords.js';

const PASSWORD = 'the current password';
const session = { username: 'alice', deviceId: 'alice-dev1' };

describe('credential service', () => {
  let dir: string;
  let storage: Storage;
  let now: number;
  let service: PasswordService;
  let setup: string;
  const identity = generateSigningKeyPair();
  const recoveryKey = generateRecoveryKey();
  const context = 'parley/backup/v1/alice';
  const plaintext = encodeCbor({ v: 1, identityPrivateKey: identity.privateKey });

  beforeEach(async () => {
    await opaqueReady;
    dir = mkdtempSync(join(tmpdir(), 'parley-credentials-'));
    storage = await openSqliteStorage(join(dir, 'db'));
    now = Date.UTC(2030, 0, 1);
    setup = opaqueServer.createSetup();
    service = new PasswordService(storage, setup, createLogger('silent'), () => now);
    const registration = opaqueClient.startRegistration(PASSWORD);
    const response = opaqueServer.registrationResponse(setup, 'alice', registration.request);
    const { record, exportKey } = opaqueClient.finishRegistration(registration.state, PASSWORD, 'alice', response);
    const recovery = recoveryKeys(recoveryKey);
    await storage.createAccount(
      {
        username: 'alice',
        identityKey: identity.publicKey,
        recoveryKey: recovery.signing.publicKey,
        opaqueRecord: record,
        backup: seal(backupKeyFromExportKey(exportKey), plaintext, context),
        recoveryBackup: seal(recovery.sealKey, plaintext, context),
        createdAt: now,
      },
      { username: 'alice', deviceId: session.deviceId, name: 'phone', publicKey: new Uint8Array(32), certificate: new Uint8Array(64), createdAt: now },
    );
  });
  afterEach(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function prove() {
    const login = opaqueClient.startLogin(PASSWORD);
    const started = await service.verifyStart(session, { request: login.request });
    const { finish } = opaqueClient.finishLogin(login.state, PASSWORD, 'alice', started.reply.response);
    return (await service.verifyFinish(session, started.pending, { finish })).pending;
  }

  it('a password proof expires', async () => {
    const proof = await prove();
    const request = opaqueClient.startRegistration('the next password').request;
    now += CREDENTIAL_CHALLENGE_TTL_MS;
    expect(() => service.changeStart(session, proof, { request })).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED', message: expect.stringContaining('expired') }));

    const fresh = await prove();
    const started = service.changeStart(session, fresh, { request });
    now += CREDENTIAL_CHALLENGE_TTL_MS;
    const nonce = started.reply.nonce;
    const body = { record: new Uint8Array(192), backup: new Uint8Array(97), signature: sign(identity.privateKey, passwordChangeMessage('alice', nonce, new Uint8Array(192), new Uint8Array(97))) };
    await expect(service.changeFinish(session, started.pending, body)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('a change proven against a password that has since changed is refused', async () => {
    const stale = await prove();
    const change = async (proof: typeof stale) => {
      const registration = opaqueClient.startRegistration('the next password');
      const started = service.changeStart(session, proof, { request: registration.request });
      const { record } = opaqueClient.finishRegistration(registration.state, 'the next password', 'alice', started.reply.response);
      const backup = new Uint8Array(97).fill(5);
      const signature = sign(identity.privateKey, passwordChangeMessage('alice', started.reply.nonce, record, backup));
      return service.changeFinish(session, started.pending, { record, backup, signature });
    };
    await change(await prove());
    await expect(change(stale)).rejects.toMatchObject({ code: 'AUTH_FAILED', message: expect.stringContaining('changed meanwhile') });
  });

  it('a recovery nonce expires; its fake for an unknown user is stable, sized like the real thing, and fails alike', async () => {
    const request = opaqueClient.startRegistration('the reset password').request;
    const real = await service.recoverStart({ username: 'alice', request });
    expect(real.reply.recoveryBackup.byteLength).toBe(FAKE_RECOVERY_BACKUP_BYTES);
    const recovery = recoveryKeys(recoveryKey);
    const [record, backup] = [new Uint8Array(192).fill(1), new Uint8Array(97).fill(2)];
    const signature = sign(recovery.signing.privateKey, recoveryMessage('alice', real.reply.nonce, record, backup));
    now += CREDENTIAL_CHALLENGE_TTL_MS;
    await expect(service.recoverFinish(real.pending, { record, backup, signature })).rejects.toMatchObject({ code: 'TIMEOUT' });

    const fake = await service.recoverStart({ username: 'nobody', request });
    const fakeAgain = await service.recoverStart({ username: 'nobody', request });
    expect(fake.reply.recoveryBackup.byteLength).toBe(real.reply.recoveryBackup.byteLength);
    expect(fake.reply.response.byteLength).toBe(real.reply.response.byteLength);
    expect(fakeAgain.reply.recoveryBackup).toEqual(fake.reply.recoveryBackup);
    expect(fakeAgain.reply.identityKey).toEqual(fake.reply.identityKey);
    // A service with another secret fakes differently: the fake reveals nothing to compare against.
    const other = new PasswordService(storage, opaqueServer.createSetup(), createLogger('silent'), () => now);
    expect((await other.recoverStart({ username: 'nobody', request })).reply.recoveryBackup).not.toEqual(fake.reply.recoveryBackup);
    const forged = sign(recovery.signing.privateKey, recoveryMessage('nobody', fake.reply.nonce, record, backup));
    await expect(service.recoverFinish(fake.pending, { record, backup, signature: forged })).rejects.toMatchObject({ code: 'AUTH_FAILED', message: 'the recovery key does not match' });
  });
});
