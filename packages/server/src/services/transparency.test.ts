import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { directoryEntryDigest, generateStaticKeyPair, leafHash, verifyConsistency, verifyInclusion, verifyTreeHead } from '@parley/crypto';
import { decodeKeyLogLeaf } from '@parley/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { account, device } from '../storage/conformance.testkit.js';
import { openSqliteStorage, type Storage } from '../storage/index.js';
import { DirectoryService } from './directory.js';
import { TransparencyLog } from './transparency.js';

describe('the key log on the server', () => {
  let dir: string;
  let storage: Storage;
  const server = generateStaticKeyPair();
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-key-log-'));
    storage = await openSqliteStorage(join(dir, 'db.sqlite'));
  });
  afterEach(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers lookups with the latest leaf proven against a signed head, and heads that stay consistent', async () => {
    const log = new TransparencyLog(storage, server.privateKey);
    const directory = new DirectoryService(storage, log);
    await storage.createAccount(account('alice'), device('alice', 'device-a1'));
    const first = await directory.lookup('alice');
    expect(verifyTreeHead(server.publicKey, first.proof.head)).toBe(true);
    expect(first.proof.head.size).toBe(2);
    expect(verifyInclusion(leafHash(first.proof.leaf), first.proof.index, first.proof.head.size, first.proof.path, first.proof.head.rootHash)).toBe(true);

    for (let i = 0; i < 20; i++) await storage.createAccount(account(`user-${i}`), device(`user-${i}`, 'device-u1'));
    await storage.addDevice(device('alice', 'device-a2'));
    const second = await directory.lookup('alice');
    expect(second.devices.map((d) => d.deviceId)).toEqual(['device-a1', 'device-a2']);
    expect(second.proof.head.size).toBe(43);
    expect(second.proof.index).toBe(42);
    expect(second.proof.path.length).toBeLessThanOrEqual(Math.ceil(Math.log2(43)));
    expect(verifyInclusion(leafHash(second.proof.leaf), second.proof.index, 43, second.proof.path, second.proof.head.rootHash)).toBe(true);

    const proof = await log.consistency(2, 43);
    expect(verifyConsistency(2, 43, proof, first.proof.head.rootHash, second.proof.head.rootHash)).toBe(true);
    await expect(log.consistency(0, 43)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(log.consistency(2, 44)).rejects.toMatchObject({ code: 'BAD_REQUEST' });

    // Another node over the same database builds the same tree from the stored leaf hashes.
    const otherNode = new TransparencyLog(storage, server.privateKey);
    expect((await otherNode.prove(0)).head.rootHash).toEqual(second.proof.head.rootHash);
  });

  it('answers with the latest leaf even when the keys were changed behind the log, for clients to refuse', async () => {
    await storage.createAccount(account('alice'), device('alice', 'device-a1'));
    await storage.close();
    const raw = new Database(join(dir, 'db.sqlite'));
    raw.prepare('update accounts set identity_key = ? where username = ?').run(Buffer.alloc(32, 9), 'alice');
    raw.close();
    storage = await openSqliteStorage(join(dir, 'db.sqlite'));
    const answer = await new DirectoryService(storage, new TransparencyLog(storage, server.privateKey)).lookup('alice');
    expect(answer.identityKey).toEqual(new Uint8Array(32).fill(9));
    expect(decodeKeyLogLeaf(answer.proof.leaf).entry).not.toEqual(directoryEntryDigest(answer));
  });

  it('logs the keys of an account from before the log on its first lookup', async () => {
    await storage.createAccount(account('alice'), device('alice', 'device-a1'));
    // As a database migrated from before 0010_key_log: the account, but no leaf.
    await storage.close();
    const raw = new Database(join(dir, 'db.sqlite'));
    raw.exec("delete from key_log; update counters set value = 0 where name = 'key_log'");
    raw.close();
    storage = await openSqliteStorage(join(dir, 'db.sqlite'));
    const log = new TransparencyLog(storage, server.privateKey);
    const directory = new DirectoryService(storage, log);
    await expect(directory.lookup('nobody')).rejects.toMatchObject({ code: 'UNKNOWN_USER' });
    const answer = await directory.lookup('alice');
    expect(answer.proof.head.size).toBe(1);
    expect(answer.proof.index).toBe(0);
    expect((await directory.lookup('alice')).proof.head.size).toBe(1);
  });

  it('recovers from a failed catch-up: one storage error fails one lookup, not every later one', async () => {
    await storage.createAccount(account('alice'), device('alice', 'device-a1'));
    const failing: Storage = Object.create(storage) as Storage;
    let failures = 1;
    failing.keyLogSize = () => (failures-- > 0 ? Promise.reject(new Error('database unavailable')) : storage.keyLogSize());
    const log = new TransparencyLog(failing, server.privateKey);
    await expect(log.prove(0)).rejects.toThrow('database unavailable');
    expect((await log.prove(0)).head.size).toBe(2);
  });
});
