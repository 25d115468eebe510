/** @module The key directory (DESIGN §5, §11): a user's identity key and device certificates. */
import { ErrorCode, ParleyError, type DeviceCertificate, type DirectoryEntry } from '@parley/protocol';
import type { DeviceRecord, Storage } from '../storage/index.js';

const certificate = (device: DeviceRecord): DeviceCertificate => ({ deviceId: device.deviceId, name: device.name, publicKey: device.publicKey, signature: device.certificate });

export class DirectoryService {
  constructor(private readonly storage: Storage) {}

  /** What clients check MLS credentials against: active devices, and revoked ones listed apart with when they were revoked. */
  async lookup(username: string): Promise<DirectoryEntry> {
    const account = await this.storage.getAccount(username);
    if (!account) throw new ParleyError(ErrorCode.UNKNOWN_USER, `no user ${username}`);
    const devices = await this.storage.listDevices(username, { includeRevoked: true });
    return {
      username,
      identityKey: account.identityKey,
      devices: devices.filter((device) => device.revokedAt === undefined).map(certificate),
      revokedDevices: devices.flatMap((device) => (device.revokedAt === undefined ? [] : [{ ...certificate(device), revokedAt: device.revokedAt }])),
    };
  }
}
