/**
 * @module Passwords: the rule for a new one, and changing it on a signed-in device (DESIGN §5):
 * prove the current password again, register the new one, and re-seal the key backup under it,
 * signed by the identity key. The old password stops working; other devices stay logged in.
 */
import { backupKeyFromExportKey, CryptoError, opaqueClient, openKeyBackup, passwordChangeMessage, sealKeyBackup, sign } from '@parley/crypto';
import { equalBytes, ErrorCode, ParleyError, type DeviceRef } from '@parley/protocol';
import type { AccountContext } from './devices.js';
import { accountPowOptions, withProofOfWork } from './pow.js';

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 1024;

/** Refuses a new password that is too short or too long (BAD_INPUT), before anything is sent. */
export function checkNewPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) throw new ParleyError(ErrorCode.BAD_INPUT, `choose a password of at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > MAX_PASSWORD_LENGTH) throw new ParleyError(ErrorCode.BAD_INPUT, `a password may be at most ${MAX_PASSWORD_LENGTH} characters`);
}

export function wipe(...secrets: Uint8Array[]): void {
  for (const secret of secrets) secret.fill(0);
}

export async function changePassword(ctx: AccountContext, session: DeviceRef, currentPassword: string, newPassword: string): Promise<void> {
  checkNewPassword(newPassword);
  const { username } = session;
  const secrets = await ctx.profiles.loadSecrets();
  if (!secrets) throw new ParleyError(ErrorCode.NOT_LOGGED_IN, 'this profile is not logged in');
  const login = opaqueClient.startLogin(currentPassword);
  const { response } = await withProofOfWork(
    'login',
    { op: 'password.verify.start', username, request: login.request },
    (solution) => ctx.request('password.verify.start', { request: login.request, ...(solution ? { pow: solution } : {}) }),
    accountPowOptions(ctx),
  );
  let proven;
  try {
    proven = opaqueClient.finishLogin(login.state, currentPassword, username, response);
  } catch (error) {
    if (error instanceof CryptoError) throw new ParleyError(ErrorCode.AUTH_FAILED, 'wrong password');
    throw error;
  }
  const { backup } = await ctx.request('password.verify.finish', { finish: proven.finish });
  // Re-seal exactly what the backup holds, after checking it is this account's identity key.
  const oldKey = backupKeyFromExportKey(proven.exportKey);
  let opened;
  try {
    opened = openKeyBackup(oldKey, backup, username);
  } catch (error) {
    throw new ParleyError(ErrorCode.AUTH_FAILED, 'the key backup on the server did not open with the current password', {}, { cause: error });
  } finally {
    wipe(proven.exportKey, oldKey);
  }
  if (!equalBytes(opened.identityPrivateKey, secrets.identityPrivateKey)) {
    wipe(opened.plaintext);
    throw new ParleyError(ErrorCode.AUTH_FAILED, "the key backup on the server holds another identity key than this device's; the password was not changed");
  }

  const registration = opaqueClient.startRegistration(newPassword);
  const { response: registrationResponse, nonce } = await ctx.request('password.change.start', { request: registration.request });
  const { record, exportKey } = opaqueClient.finishRegistration(registration.state, newPassword, username, registrationResponse);
  const newKey = backupKeyFromExportKey(exportKey);
  const newBackup = sealKeyBackup(newKey, opened.plaintext, username);
  wipe(exportKey, newKey, opened.plaintext);
  const signature = sign(secrets.identityPrivateKey, passwordChangeMessage(username, nonce, record, newBackup));
  await ctx.request('password.change.finish', { record, backup: newBackup, signature });
}
