/** @module The key directory (DESIGN §5, §11): a user's identity key and active device certificates. */
import { ErrorCode, ParleyError, type DirectoryEntry } from '@parley/protocol';
import type { Storage } from '../storage/index.js';

export class DirectoryService {
  constructor(private readonly storage: Storage) {}

  /** What clients check MLS credentials against; revoked devices are left out. */
  async lookup(username: string): Promise<DirectoryEntry> {
    const account = await this.storage.getAccount(username);
    if (!account) throw new ParleyError(ErrorCode.UNKNOWN_USER, `no user ${username}`);
    const devices = await this.storage.listDevices(username);
    return {
      username,
      identityKey: account.identityKey,
      devices: devices.map((device) => ({ deviceId: device.deviceId, name: device.name, publicKey: device.publicKey, signature: device.certificate })),
    };
  }
}
