/**
 * @module Accounts and devices (DESIGN §5): OPAQUE registration and login, device enrolment,
 * device reconnects by handshake-hash signature, listing, revocation and logout.
 */
import { channelAuthMessage, deviceCertificateMessage, opaqueServer, verify } from '@parley/crypto';
import { ErrorCode, ParleyError, type DeviceCertificate, type DeviceInfo, type RequestOf, type ResponseOf, type DeviceRef } from '@parley/protocol';
import type { Bus } from '../bus/index.js';
import type { Logger } from '../logger.js';
import { opaqueInput } from './opaque-input.js';
import { StorageConflictError, type AccountRecord, type Storage } from '../storage/index.js';

/** What one connection remembers between the two steps of registration or login. */
export type PendingAuth =
  | { kind: 'register'; username: string }
  | { kind: 'login'; username: string; state: string | undefined };

const authFailed = () => new ParleyError(ErrorCode.AUTH_FAILED, 'wrong username or password');

export class AccountService {
  constructor(
    private readonly storage: Storage,
    private readonly bus: Bus,
    private readonly opaqueSetup: string,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  async registerStart(body: RequestOf<'register.start'>): Promise<{ reply: ResponseOf<'register.start'>; pending: PendingAuth }> {
    // Telling a registrant the name is taken is unavoidable; login never reveals it (see loginStart).
    if (await this.storage.getAccount(body.username)) throw usernameTaken(body.username);
    const response = opaqueInput('register.start', () => opaqueServer.registrationResponse(this.opaqueSetup, body.username, body.request));
    return { reply: { response }, pending: { kind: 'register', username: body.username } };
  }

  async registerFinish(pending: PendingAuth | undefined, body: RequestOf<'register.finish'>): Promise<DeviceRef> {
    if (pending?.kind !== 'register') throw new ParleyError(ErrorCode.BAD_REQUEST, 'register.finish must follow register.start on the same connection');
    const username = pending.username;
    checkCertificate(username, body.identityKey, body.device);
    const createdAt = this.now();
    try {
      await this.storage.createAccount(
        {
          username,
          identityKey: body.identityKey,
          recoveryKey: body.recoveryKey,
          opaqueRecord: body.record,
          backup: body.backup,
          recoveryBackup: body.recoveryBackup,
          createdAt,
        },
        { username, deviceId: body.device.deviceId, name: body.device.name, publicKey: body.device.publicKey, certificate: body.device.signature, createdAt },
      );
    } catch (error) {
      if (error instanceof StorageConflictError) throw usernameTaken(username);
      throw error;
    }
    this.log.info({ event: 'account.registered', deviceId: body.device.deviceId }, 'account registered');
    return { username, deviceId: body.device.deviceId };
  }

  async loginStart(body: RequestOf<'login.start'>): Promise<{ reply: ResponseOf<'login.start'>; pending: PendingAuth }> {
    const account = await this.storage.getAccount(body.username);
    // For an unknown user OPAQUE still answers, with a response indistinguishable from a real one.
    const { state, response } = opaqueInput('login.start', () => opaqueServer.startLogin(this.opaqueSetup, body.username, account?.opaqueRecord, body.request));
    return { reply: { response }, pending: { kind: 'login', username: body.username, state: account ? state : undefined } };
  }

  async loginFinish(pending: PendingAuth | undefined, body: RequestOf<'login.finish'>): Promise<{ reply: ResponseOf<'login.finish'>; username: string }> {
    if (pending?.kind !== 'login') throw new ParleyError(ErrorCode.BAD_REQUEST, 'login.finish must follow login.start on the same connection');
    if (pending.state === undefined) throw authFailed();
    try {
      opaqueServer.finishLogin(pending.state, pending.username, body.finish);
    } catch {
      throw authFailed();
    }
    const account = await this.requireAccount(pending.username);
    return { reply: { identityKey: account.identityKey, backup: account.backup }, username: account.username };
  }

  /** Enrol a new device for an account whose password was just proven on this connection. */
  async addDevice(username: string, device: DeviceCertificate): Promise<DeviceRef> {
    const account = await this.requireAccount(username);
    checkCertificate(username, account.identityKey, device);
    try {
      await this.storage.addDevice({ username, deviceId: device.deviceId, name: device.name, publicKey: device.publicKey, certificate: device.signature, createdAt: this.now() });
    } catch (error) {
      if (error instanceof StorageConflictError) throw new ParleyError(ErrorCode.BAD_REQUEST, `device id ${device.deviceId} is already in use; pick another`);
      throw error;
    }
    this.log.info({ event: 'device.added', deviceId: device.deviceId }, 'device added');
    return { username, deviceId: device.deviceId };
  }

  /** A known device reconnects by signing this channel's handshake hash (no bearer token to steal). */
  async authenticateDevice(handshakeHash: Uint8Array, body: RequestOf<'device.auth'>): Promise<DeviceRef> {
    const device = await this.storage.getDevice(body.username, body.deviceId);
    if (!device) throw new ParleyError(ErrorCode.UNKNOWN_DEVICE, 'this device is not registered with the server; log in again');
    if (device.revokedAt !== undefined) throw new ParleyError(ErrorCode.DEVICE_REVOKED, 'this device was logged out or revoked; log in again to use it');
    if (!verify(device.publicKey, channelAuthMessage(handshakeHash, body.username, body.deviceId), body.signature)) {
      throw new ParleyError(ErrorCode.AUTH_FAILED, 'device signature did not verify');
    }
    await this.storage.touchDevice(body.username, body.deviceId, this.now());
    return { username: body.username, deviceId: body.deviceId };
  }

  async whoami(session: DeviceRef): Promise<ResponseOf<'account.whoami'>> {
    const account = await this.requireAccount(session.username);
    return { username: session.username, deviceId: session.deviceId, identityKey: account.identityKey };
  }

  async listDevices(session: DeviceRef): Promise<DeviceInfo[]> {
    const devices = await this.storage.listDevices(session.username);
    return devices.map((device) => ({
      deviceId: device.deviceId,
      name: device.name,
      publicKey: device.publicKey,
      createdAt: device.createdAt,
      lastSeenAt: device.lastSeenAt,
      current: device.deviceId === session.deviceId,
    }));
  }

  async revokeDevice(session: DeviceRef, deviceId: string): Promise<void> {
    const device = await this.storage.getDevice(session.username, deviceId);
    if (!device || device.revokedAt !== undefined) throw new ParleyError(ErrorCode.NOT_FOUND, `no active device ${deviceId}`);
    await this.revoke(session.username, [deviceId]);
  }

  async logout(session: DeviceRef, all: boolean): Promise<number> {
    return (await this.revoke(session.username, all ? 'all' : [session.deviceId])).length;
  }

  private async revoke(username: string, deviceIds: string[] | 'all'): Promise<string[]> {
    const revoked = await this.storage.revokeDevices(username, deviceIds, this.now());
    if (revoked.length > 0) {
      this.log.info({ event: 'devices.revoked', count: revoked.length }, 'devices revoked');
      await this.bus.publish('devices.revoked', { username, deviceIds: revoked });
    }
    return revoked;
  }

  private async requireAccount(username: string): Promise<AccountRecord> {
    const account = await this.storage.getAccount(username);
    if (!account) throw new ParleyError(ErrorCode.NOT_FOUND, 'account not found');
    return account;
  }
}

function usernameTaken(username: string): ParleyError {
  return new ParleyError(ErrorCode.USERNAME_TAKEN, `the username ${username} is taken`);
}

function checkCertificate(username: string, identityKey: Uint8Array, device: DeviceCertificate): void {
  const message = deviceCertificateMessage({ username, deviceId: device.deviceId, name: device.name, publicKey: device.publicKey });
  if (!verify(identityKey, message, device.signature)) {
    throw new ParleyError(ErrorCode.BAD_SIGNATURE, 'the device certificate is not signed by the account identity key');
  }
}
