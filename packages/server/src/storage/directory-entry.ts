/** @module A user's directory entry (DESIGN §5, §11) from stored rows: what lookups show and key-log leaves vouch for. */
import type { DeviceCertificate, DirectoryEntry } from '@parley/protocol';
import type { DeviceRecord } from './types.js';

const certificate = (device: DeviceRecord): DeviceCertificate => ({ deviceId: device.deviceId, name: device.name, publicKey: device.publicKey, signature: device.certificate });

/** Active devices, and revoked ones listed apart with when they were revoked; `devices` includes revoked ones. */
export function directoryEntryOf(username: string, identityKey: Uint8Array, devices: readonly DeviceRecord[]): DirectoryEntry {
  return {
    username,
    identityKey,
    devices: devices.filter((device) => device.revokedAt === undefined).map(certificate),
    revokedDevices: devices.flatMap((device) => (device.revokedAt === undefined ? [] : [{ ...certificate(device), revokedAt: device.revokedAt }])),
  };
}
