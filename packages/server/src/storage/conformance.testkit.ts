/** The storage conformance suite: every Storage adapter must pass it unchanged (STYLE §2). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runConsentConformance } from './consent-conformance.testkit.js';
import { runKeyLogConformance } from './key-log-conformance.testkit.js';
import { runMessagingConformance } from './messaging-conformance.testkit.js';
import { runTimelockConformance } from './timelock-conformance.testkit.js';
import { StorageConflictError, type AccountRecord, type NewDevice, type Storage } from './types.js';

const key = (fill: number, length = 32) => new Uint8Array(length).fill(fill);

export function account(username: string): AccountRecord {
  return {
    username,
    identityKey: key(1),
    recoveryKey: key(2),
    opaqueRecord: key(3, 192),
    backup: key(4, 80),
    recoveryBackup: key(5, 80),
    createdAt: 1_700_000_000_000,
  };
}

export function device(username: string, deviceId: string, createdAt = 1_700_000_000_000): NewDevice {
  return { username, deviceId, name: `${deviceId} name`, publicKey: key(6), certificate: key(7, 64), createdAt };
}

export function runStorageConformance(name: string, create: () => Promise<Storage>): void {
  describe(`${name} storage conformance`, () => {
    let storage: Storage;
    beforeEach(async () => {
      storage = await create();
    });
    afterEach(async () => {
      await storage.close();
    });

    it('creates an account with its first device and reads both back exactly', async () => {
      await storage.createAccount(account('alice'), device('alice', 'device-a1'));
      expect(await storage.getAccount('alice')).toEqual(account('alice'));
      expect(await storage.getDevice('alice', 'device-a1')).toEqual({ ...device('alice', 'device-a1'), lastSeenAt: undefined, revokedAt: undefined });
      expect(await storage.getAccount('bob')).toBeUndefined();
      expect(await storage.getDevice('alice', 'nope-nope')).toBeUndefined();
    });

    it('refuses a duplicate username without touching the first account', async () => {
      await storage.createAccount(account('alice'), device('alice', 'device-a1'));
      const impostor = { ...account('alice'), identityKey: key(9) };
      await expect(storage.createAccount(impostor, device('alice', 'device-x1'))).rejects.toBeInstanceOf(StorageConflictError);
      expect((await storage.getAccount('alice'))?.identityKey).toEqual(key(1));
      expect((await storage.listDevices('alice')).map((d) => d.deviceId)).toEqual(['device-a1']);
    });

    it('adds, lists, touches and revokes devices', async () => {
      await storage.createAccount(account('alice'), device('alice', 'device-a1', 1));
      await storage.addDevice(device('alice', 'device-a2', 2));
      await storage.addDevice(device('alice', 'device-a3', 3));
      await expect(storage.addDevice(device('alice', 'device-a2', 4))).rejects.toBeInstanceOf(StorageConflictError);
      await storage.touchDevice('alice', 'device-a2', 50);
      expect((await storage.getDevice('alice', 'device-a2'))?.lastSeenAt).toBe(50);

      expect(await storage.revokeDevices('alice', ['device-a2'], 60)).toEqual(['device-a2']);
      expect(await storage.revokeDevices('alice', ['device-a2'], 70)).toEqual([]);
      expect((await storage.listDevices('alice')).map((d) => d.deviceId)).toEqual(['device-a1', 'device-a3']);
      expect((await storage.listDevices('alice', { includeRevoked: true })).map((d) => d.deviceId)).toEqual(['device-a1', 'device-a2', 'device-a3']);
      expect((await storage.getDevice('alice', 'device-a2'))?.revokedAt).toBe(60);
      // Several named devices in one query, revoked ones too; unknown ones are left out.
      const named = await storage.getDevices([
        { username: 'alice', deviceId: 'device-a3' },
        { username: 'alice', deviceId: 'device-a2' },
        { username: 'alice', deviceId: 'nope-nope' },
        { username: 'nobody', deviceId: 'device-a1' },
      ]);
      expect(named.map((d) => [d.deviceId, d.revokedAt]).sort()).toEqual([['device-a2', 60], ['device-a3', undefined]]);
      expect(await storage.getDevices([])).toEqual([]);

      expect((await storage.revokeDevices('alice', 'all', 80)).sort()).toEqual(['device-a1', 'device-a3']);
      expect(await storage.listDevices('alice')).toEqual([]);
    });

    it('keeps accounts apart', async () => {
      await storage.createAccount(account('alice'), device('alice', 'shared-id'));
      await storage.createAccount(account('bob'), device('bob', 'shared-id'));
      await storage.revokeDevices('alice', 'all', 5);
      expect((await storage.listDevices('bob')).map((d) => d.username)).toEqual(['bob']);
    });

    it('replaces the OPAQUE record and backup together, optionally only over the expected record', async () => {
      await storage.createAccount(account('alice'), device('alice', 'device-a1'));
      await storage.createAccount(account('bob'), device('bob', 'device-b1'));
      const first = { opaqueRecord: key(10, 192), backup: key(11, 97) };
      expect(await storage.updateCredentials('alice', first, { ifOpaqueRecord: account('alice').opaqueRecord })).toBe(true);
      expect(await storage.getAccount('alice')).toEqual({ ...account('alice'), ...first });

      // A change authorised against the old record loses to the one that already replaced it.
      const stale = { opaqueRecord: key(12, 192), backup: key(13, 97) };
      expect(await storage.updateCredentials('alice', stale, { ifOpaqueRecord: account('alice').opaqueRecord })).toBe(false);
      expect(await storage.getAccount('alice')).toEqual({ ...account('alice'), ...first });

      // Unconditional (recovery), and nothing for an unknown user.
      expect(await storage.updateCredentials('alice', stale)).toBe(true);
      expect((await storage.getAccount('alice'))?.opaqueRecord).toEqual(stale.opaqueRecord);
      expect(await storage.updateCredentials('nobody', first)).toBe(false);
      expect(await storage.getAccount('bob')).toEqual(account('bob'));
    });

    it('records the first server key it is given and keeps it', async () => {
      expect(await storage.recordServerKey('fingerprint-one', 1)).toBe('fingerprint-one');
      expect(await storage.recordServerKey('fingerprint-two', 2)).toBe('fingerprint-one');
      expect(await storage.recordServerKey('fingerprint-one', 3)).toBe('fingerprint-one');
    });

    runMessagingConformance(() => storage);
    runTimelockConformance(() => storage);
    runConsentConformance(() => storage);
    runKeyLogConformance(() => storage);
  });
}
