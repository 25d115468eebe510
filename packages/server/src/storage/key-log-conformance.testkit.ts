/** The key-transparency log part of the storage conformance suite (DESIGN §11): every adapter passes it unchanged. */
import { directoryEntryDigest, leafHash } from '@parley/crypto';
import { decodeKeyLogLeaf } from '@parley/protocol';
import { expect, it } from 'vitest';
import { directoryEntryOf } from './directory-entry.js';
import { StorageConflictError, type AccountRecord, type NewDevice, type Storage } from './types.js';

const key = (fill: number, length = 32) => new Uint8Array(length).fill(fill);
const account = (username: string): AccountRecord => ({ username, identityKey: key(1), recoveryKey: key(2), opaqueRecord: key(3, 192), backup: key(4, 80), recoveryBackup: key(5, 80), createdAt: 1_700_000_000_000 });
const device = (username: string, deviceId: string, createdAt = 1_700_000_000_000): NewDevice => ({ username, deviceId, name: `${deviceId} name`, publicKey: key(deviceId.length), certificate: key(7, 64), createdAt });

export function runKeyLogConformance(storage: () => Storage): void {
  const entryDigest = async (username: string) => {
    const identityKey = (await storage().getAccount(username))?.identityKey as Uint8Array;
    return directoryEntryDigest(directoryEntryOf(username, identityKey, await storage().listDevices(username, { includeRevoked: true })));
  };
  const leaves = async () => {
    const size = await storage().keyLogSize();
    const all = [];
    for (const username of ['alice', 'bob']) {
      const latest = await storage().latestKeyLeaf(username);
      if (latest) all.push({ username, ...latest, decoded: decodeKeyLogLeaf(latest.leaf) });
    }
    return { size, latest: all };
  };

  it('appends a leaf for every key change, in the same transaction, each vouching for the entry after it', async () => {
    expect(await storage().keyLogSize()).toBe(0);
    await storage().createAccount(account('alice'), device('alice', 'device-a1', 10));
    expect(await storage().keyLogSize()).toBe(2);
    let latest = await storage().latestKeyLeaf('alice');
    expect(latest?.index).toBe(1);
    expect(decodeKeyLogLeaf(latest?.leaf as Uint8Array)).toMatchObject({ username: 'alice', event: 'device.added', deviceId: 'device-a1', at: account('alice').createdAt });
    expect(decodeKeyLogLeaf(latest?.leaf as Uint8Array).entry).toEqual(await entryDigest('alice'));

    await storage().addDevice(device('alice', 'device-a2', 20));
    await storage().createAccount(account('bob'), device('bob', 'device-b1', 30));
    expect(await storage().revokeDevices('alice', ['device-a1', 'device-a2'], 40)).toHaveLength(2);
    // A refused change logs nothing.
    await expect(storage().addDevice(device('alice', 'device-a2', 50))).rejects.toBeInstanceOf(StorageConflictError);
    expect(await storage().revokeDevices('alice', ['device-a1'], 60)).toEqual([]);

    const { size, latest: newest } = await leaves();
    expect(size).toBe(7);
    const alice = newest.find((leaf) => leaf.username === 'alice');
    expect(alice?.index).toBe(6);
    expect(alice?.decoded).toMatchObject({ event: 'device.revoked', at: 40 });
    expect(alice?.decoded.entry).toEqual(await entryDigest('alice'));
    expect(newest.find((leaf) => leaf.username === 'bob')?.index).toBe(4);

    const hashes = await storage().keyLogLeafHashes(0, size);
    expect(hashes).toHaveLength(7);
    expect(hashes[6]).toEqual(leafHash(alice?.leaf as Uint8Array));
    expect(await storage().keyLogLeafHashes(5, 7)).toEqual(hashes.slice(5));
    expect(await storage().keyLogLeafHashes(7, 7)).toEqual([]);
    latest = await storage().latestKeyLeaf('nobody');
    expect(latest).toBeUndefined();
  });

  it('logs the keys of an account that has no leaf once, and nothing for an unknown user', async () => {
    await storage().createAccount(account('alice'), device('alice', 'device-a1'));
    await storage().logExistingKeys('alice', 5);
    expect(await storage().keyLogSize()).toBe(2);
    await storage().logExistingKeys('nobody', 5);
    expect(await storage().keyLogSize()).toBe(2);
  });

  it('gives concurrent key changes distinct, gapless indexes', async () => {
    await storage().createAccount(account('alice'), device('alice', 'device-a0'));
    await Promise.all(Array.from({ length: 8 }, (_, i) => storage().addDevice(device('alice', `device-c${i}`, 100 + i))));
    expect(await storage().keyLogSize()).toBe(10);
    expect(await storage().keyLogLeafHashes(0, 10)).toHaveLength(10);
    expect(decodeKeyLogLeaf((await storage().latestKeyLeaf('alice'))?.leaf as Uint8Array).entry).toEqual(await entryDigest('alice'));
  });
}
