/**
 * @module Signing in (DESIGN §5): registering an account with this profile as its first device,
 * logging in as a new device of an account, and recovering an account with the recovery key.
 * Each proves the password (OPAQUE) or the recovery key, opens or seals the key backup, and
 * enrols this profile's device.
 */
import {
  backupKeyFromExportKey,
  CryptoError,
  generateRecoveryKey,
  generateSigningKeyPair,
  keyBackupPlaintext,
  opaqueClient,
  openKeyBackup,
  recoveryKeys,
  recoveryMessage,
  sealKeyBackup,
  sign,
  signingKeyPairFromSeed,
  type RecoveryKeys,
  type SigningKeyPair,
} from '@parley/crypto';
import { equalBytes, ErrorCode, normalizeUsername, ParleyError, type DeviceRef } from '@parley/protocol';
import { addDevice, newDevice, saveDevice, type AccountContext } from './devices.js';
import { checkNewPassword, wipe } from './password.js';
import { accountPowOptions, withProofOfWork, type PowProgress } from './pow.js';

/** Options of `register` and `login`. */
export interface SignInOptions {
  deviceName?: string;
  /** Progress of a proof of work, when the server asks one (not called when it does not). */
  onPowProgress?: (progress: PowProgress) => void;
}

export interface Registration extends DeviceRef {
  /** Shown once: the only way back in if the password is lost. */
  recoveryKey: string;
}

export async function register(ctx: AccountContext, usernameInput: string, password: string, options: SignInOptions): Promise<Registration> {
  const username = normalizeUsername(usernameInput);
  checkNewPassword(password);
  const start = opaqueClient.startRegistration(password);
  const { response } = await withProofOfWork(
    'register',
    { op: 'register.start', username, request: start.request },
    (solution) => ctx.request('register.start', { username, request: start.request, ...(solution ? { pow: solution } : {}) }),
    accountPowOptions(ctx, options.onPowProgress),
  );
  const { record, exportKey } = opaqueClient.finishRegistration(start.state, password, username, response);

  const identity = generateSigningKeyPair();
  const recoveryKey = generateRecoveryKey();
  const recovery = recoveryKeys(recoveryKey);
  const plaintext = keyBackupPlaintext(identity.privateKey);
  const backupKey = backupKeyFromExportKey(exportKey);
  const backup = sealKeyBackup(backupKey, plaintext, username);
  const recoveryBackup = sealKeyBackup(recovery.sealKey, plaintext, username);
  wipe(exportKey, backupKey, plaintext, recovery.sealKey);

  const device = newDevice(username, identity, options.deviceName);
  const session = await ctx.request('register.finish', {
    record,
    identityKey: identity.publicKey,
    recoveryKey: recovery.signing.publicKey,
    device: device.certificate,
    backup,
    recoveryBackup,
  });
  await saveDevice(ctx, session, identity, device);
  return { ...session, recoveryKey };
}

/** Prove the password, open the key backup, and enrol this profile as a new device of the account. */
export async function login(ctx: AccountContext, usernameInput: string, password: string, options: SignInOptions): Promise<DeviceRef> {
  const username = normalizeUsername(usernameInput);
  const start = opaqueClient.startLogin(password);
  const { response } = await withProofOfWork(
    'login',
    { op: 'login.start', username, request: start.request },
    (solution) => ctx.request('login.start', { username, request: start.request, ...(solution ? { pow: solution } : {}) }),
    accountPowOptions(ctx, options.onPowProgress),
  );
  let finished;
  try {
    finished = opaqueClient.finishLogin(start.state, password, username, response);
  } catch (error) {
    if (error instanceof CryptoError) throw new ParleyError(ErrorCode.AUTH_FAILED, 'wrong username or password');
    throw error;
  }
  const { identityKey, backup } = await ctx.request('login.finish', { finish: finished.finish });
  const backupKey = backupKeyFromExportKey(finished.exportKey);
  let identity: SigningKeyPair;
  try {
    const opened = openKeyBackup(backupKey, backup, username);
    identity = signingKeyPairFromSeed(opened.identityPrivateKey);
    wipe(opened.plaintext);
  } catch (error) {
    throw new ParleyError(ErrorCode.AUTH_FAILED, 'the key backup on the server did not open with this password', {}, { cause: error });
  } finally {
    wipe(finished.exportKey, backupKey);
  }
  if (!equalBytes(identity.publicKey, identityKey)) {
    throw new ParleyError(ErrorCode.AUTH_FAILED, 'the server returned an identity key that does not match the key backup');
  }
  return addDevice(ctx, username, identity, options.deviceName);
}

/**
 * Set a new password with the recovery key when the old one is lost (DESIGN §5), then enrol this
 * profile as a new device of the account. The identity key stays the same, so contacts see no
 * key change and the devices already in the account's conversations carry on.
 */
export async function recover(ctx: AccountContext, usernameInput: string, recoveryKey: string, newPassword: string, deviceName: string | undefined): Promise<DeviceRef> {
  const username = normalizeUsername(usernameInput);
  checkNewPassword(newPassword);
  let recovery: RecoveryKeys;
  try {
    recovery = recoveryKeys(recoveryKey);
  } catch (error) {
    if (error instanceof CryptoError) throw new ParleyError(ErrorCode.BAD_INPUT, `not a recovery key: ${error.message}`);
    throw error;
  }
  const registration = opaqueClient.startRegistration(newPassword);
  const start = await withProofOfWork(
    'login',
    { op: 'recover.start', username, request: registration.request },
    (solution) => ctx.request('recover.start', { username, request: registration.request, ...(solution ? { pow: solution } : {}) }),
    accountPowOptions(ctx),
  );
  let opened;
  let identity: SigningKeyPair;
  try {
    opened = openKeyBackup(recovery.sealKey, start.recoveryBackup, username);
    identity = signingKeyPairFromSeed(opened.identityPrivateKey);
  } catch (error) {
    // An unknown user gets a fake backup that no key opens, so this answer cannot tell names apart.
    throw new ParleyError(ErrorCode.AUTH_FAILED, 'the recovery key does not match', {}, { cause: error });
  } finally {
    wipe(recovery.sealKey);
  }
  if (!equalBytes(identity.publicKey, start.identityKey)) {
    throw new ParleyError(ErrorCode.AUTH_FAILED, 'the server returned an identity key that does not match the recovery backup');
  }
  const { record, exportKey } = opaqueClient.finishRegistration(registration.state, newPassword, username, start.response);
  const backupKey = backupKeyFromExportKey(exportKey);
  const backup = sealKeyBackup(backupKey, opened.plaintext, username);
  wipe(exportKey, backupKey, opened.plaintext);
  const signature = sign(recovery.signing.privateKey, recoveryMessage(username, start.nonce, record, backup));
  wipe(recovery.signing.privateKey);
  await ctx.request('recover.finish', { record, backup, signature });
  return addDevice(ctx, username, identity, deviceName);
}
