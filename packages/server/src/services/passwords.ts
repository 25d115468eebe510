/**
 * @module Password change and recovery (DESIGN §5). A signed-in device proves the current password
 * again, then replaces the OPAQUE record and re-sealed key backup with a change signed by the
 * identity key; a user who lost the password does the same with a signature by the recovery key.
 * The server never sees either password or any private key: it checks proofs and signatures.
 */
import { randomBytes } from 'node:crypto';
import { deriveKey, opaqueServer, passwordChangeMessage, recoveryMessage, signingKeyPairFromSeed, verify } from '@parley/crypto';
import { equalBytes, ErrorCode, ParleyError, type RequestOf, type ResponseOf, type DeviceRef } from '@parley/protocol';
import type { Logger } from '../logger.js';
import { opaqueInput } from './opaque-input.js';
import type { AccountRecord, Storage } from '../storage/index.js';

/**
 * A password change in progress on one device connection. Each step consumes the state the one
 * before left, so one proof of the current password allows exactly one change.
 */
export type PendingPasswordChange =
  /** After password.verify.start: the OPAQUE login state, and the record it was made against. */
  | { kind: 'password.verify'; username: string; state: string; record: Uint8Array }
  /** After a successful verify. */
  | { kind: 'password.proven'; record: Uint8Array; expiresAt: number }
  /** After change.start: also the nonce the identity key must sign with the change, once. */
  | { kind: 'password.change'; record: Uint8Array; expiresAt: number; nonce: Uint8Array };

/** A recovery in progress on one anonymous connection: the nonce the recovery key must sign, once. */
export interface PendingRecovery {
  kind: 'recovery';
  username: string;
  nonce: Uint8Array;
  expiresAt: number;
  /** False when recover.start answered with a fake for an unknown user. */
  known: boolean;
}

/** How long a password proof, or a recovery nonce, may be used. Long enough for Argon2 on a slow phone. */
export const CREDENTIAL_CHALLENGE_TTL_MS = 5 * 60_000;

/**
 * The size of a recovery backup as the client seals it today: a 24-byte nonce, the CBOR
 * `{v: 1, identityPrivateKey}` (57 bytes) and a 16-byte tag. The fake for an unknown user has it too.
 */
export const FAKE_RECOVERY_BACKUP_BYTES = 97;

const wrongPassword = () => new ParleyError(ErrorCode.AUTH_FAILED, 'wrong password');
const recoveryFailed = () => new ParleyError(ErrorCode.AUTH_FAILED, 'the recovery key does not match');

export class PasswordService {
  constructor(
    private readonly storage: Storage,
    private readonly opaqueSetup: string,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  async verifyStart(session: DeviceRef, body: RequestOf<'password.verify.start'>): Promise<{ reply: ResponseOf<'password.verify.start'>; pending: PendingPasswordChange }> {
    const account = await this.requireAccount(session.username);
    const { state, response } = opaqueInput('password.verify.start', () => opaqueServer.startLogin(this.opaqueSetup, session.username, account.opaqueRecord, body.request));
    return { reply: { response }, pending: { kind: 'password.verify', username: session.username, state, record: account.opaqueRecord } };
  }

  async verifyFinish(
    session: DeviceRef,
    pending: PendingPasswordChange | undefined,
    body: RequestOf<'password.verify.finish'>,
  ): Promise<{ reply: ResponseOf<'password.verify.finish'>; pending: PendingPasswordChange }> {
    if (pending?.kind !== 'password.verify') throw new ParleyError(ErrorCode.BAD_REQUEST, 'password.verify.finish must follow password.verify.start on the same connection');
    try {
      opaqueServer.finishLogin(pending.state, session.username, body.finish);
    } catch {
      this.log.info({ event: 'password.verify_failed', deviceId: session.deviceId }, 'wrong current password in a password change');
      throw wrongPassword();
    }
    const account = await this.requireAccount(session.username);
    // The backup returned must be the one sealed under the password just proven.
    if (!equalBytes(account.opaqueRecord, pending.record)) throw changedMeanwhile();
    return { reply: { backup: account.backup }, pending: { kind: 'password.proven', record: pending.record, expiresAt: this.now() + CREDENTIAL_CHALLENGE_TTL_MS } };
  }

  changeStart(
    session: DeviceRef,
    pending: PendingPasswordChange | undefined,
    body: RequestOf<'password.change.start'>,
  ): { reply: ResponseOf<'password.change.start'>; pending: PendingPasswordChange } {
    const proof = this.freshProof(pending?.kind === 'password.proven' ? pending : undefined, 'prove the current password on this connection first (password.verify)');
    const response = opaqueInput('password.change.start', () => opaqueServer.registrationResponse(this.opaqueSetup, session.username, body.request));
    const nonce = new Uint8Array(randomBytes(32));
    return { reply: { response, nonce }, pending: { kind: 'password.change', record: proof.record, expiresAt: proof.expiresAt, nonce } };
  }

  async changeFinish(session: DeviceRef, pending: PendingPasswordChange | undefined, body: RequestOf<'password.change.finish'>): Promise<void> {
    const change = pending?.kind === 'password.change' ? pending : undefined;
    const proof = this.freshProof(change, 'password.change.finish must follow a password proof and password.change.start on this connection');
    const account = await this.requireAccount(session.username);
    if (!verify(account.identityKey, passwordChangeMessage(session.username, proof.nonce, body.record, body.backup), body.signature)) {
      throw new ParleyError(ErrorCode.BAD_SIGNATURE, 'the password change is not signed by the account identity key');
    }
    const replaced = await this.storage.updateCredentials(session.username, { opaqueRecord: body.record, backup: body.backup }, { ifOpaqueRecord: proof.record });
    if (!replaced) throw changedMeanwhile();
    this.log.info({ event: 'account.password_changed', deviceId: session.deviceId }, 'password changed');
  }

  /**
   * Anyone may start a recovery: what it reveals is sealed under the recovery key. For an unknown
   * user the answer is a fake derived from a server secret, so it looks the same and stays the
   * same when asked again, as a real account's does (no enumeration).
   */
  async recoverStart(body: RequestOf<'recover.start'>): Promise<{ reply: ResponseOf<'recover.start'>; pending: PendingRecovery }> {
    const account = await this.storage.getAccount(body.username);
    // The OPRF key is derived from the server setup and the username, so this answers any name alike.
    const response = opaqueInput('recover.start', () => opaqueServer.registrationResponse(this.opaqueSetup, body.username, body.request));
    const { identityKey, recoveryBackup } = account ?? this.fakeAccount(body.username);
    const nonce = new Uint8Array(randomBytes(32));
    return {
      reply: { response, identityKey, recoveryBackup, nonce },
      pending: { kind: 'recovery', username: body.username, nonce, expiresAt: this.now() + CREDENTIAL_CHALLENGE_TTL_MS, known: account !== undefined },
    };
  }

  /** Replaces the password after checking the recovery key's signature over this start's nonce; returns the username. */
  async recoverFinish(pending: PendingRecovery | undefined, body: RequestOf<'recover.finish'>): Promise<string> {
    if (!pending) throw new ParleyError(ErrorCode.BAD_REQUEST, 'recover.finish must follow recover.start on the same connection; each start allows one attempt');
    if (pending.expiresAt <= this.now()) throw new ParleyError(ErrorCode.TIMEOUT, 'the recovery challenge expired; start the recovery again');
    const account = await this.storage.getAccount(pending.username);
    // Unknown users take the same path, against the fake's key, which nothing can sign for.
    const recoveryKey = pending.known && account ? account.recoveryKey : this.fakeAccount(pending.username).recoveryKey;
    const message = recoveryMessage(pending.username, pending.nonce, body.record, body.backup);
    if (!verify(recoveryKey, message, body.signature) || !account) {
      this.log.info({ event: 'recover.failed' }, 'recovery attempt with a wrong key');
      throw recoveryFailed();
    }
    if (!(await this.storage.updateCredentials(pending.username, { opaqueRecord: body.record, backup: body.backup }))) throw recoveryFailed();
    this.log.info({ event: 'account.recovered' }, 'password reset with the recovery key');
    return pending.username;
  }

  private freshProof<P extends { expiresAt: number }>(pending: P | undefined, missing: string): P {
    if (!pending) throw new ParleyError(ErrorCode.UNAUTHENTICATED, missing);
    if (pending.expiresAt <= this.now()) throw new ParleyError(ErrorCode.UNAUTHENTICATED, 'the password proof expired; prove the current password again');
    return pending;
  }

  private fakeAccount(username: string): Pick<AccountRecord, 'identityKey' | 'recoveryKey' | 'recoveryBackup'> {
    const derive = (label: string, length: number) => deriveKey(new TextEncoder().encode(this.opaqueSetup), `parley/recover/fake/${label}/v1/${username}`, length);
    return {
      identityKey: signingKeyPairFromSeed(derive('identity', 32)).publicKey,
      recoveryKey: signingKeyPairFromSeed(derive('recovery', 32)).publicKey,
      recoveryBackup: derive('backup', FAKE_RECOVERY_BACKUP_BYTES),
    };
  }

  private async requireAccount(username: string): Promise<AccountRecord> {
    const account = await this.storage.getAccount(username);
    if (!account) throw new ParleyError(ErrorCode.NOT_FOUND, 'account not found');
    return account;
  }
}

function changedMeanwhile(): ParleyError {
  return new ParleyError(ErrorCode.AUTH_FAILED, 'the password was changed meanwhile; prove the current password and try again');
}

