/** Delivery and key services over real SQLite storage, with a clock the test moves. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPackage, generateSigningKeyPair } from '@parley/crypto';
import { equalBytes } from '@parley/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '../bus/index.js';
import { createLogger } from '../logger.js';
import { openSqliteStorage, type Storage } from '../storage/index.js';
import { ConsentService } from './consent.js';
import { DeliveryService } from './delivery.js';
import { KeyPackageService } from './key-packages.js';
import { Push } from './push.js';

const DAY = 24 * 60 * 60_000;
const log = createLogger('silent');
const groupId = new Uint8Array(16).fill(7);
const alice = { username: 'alice', deviceId: 'alice-dev1' };
const bob = { username: 'bob', deviceId: 'bob-dev-1' };
const bobKeys = generateSigningKeyPair();

describe('delivery and keys services', () => {
  let dir: string;
  let storage: Storage;
  let now: number;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-services-'));
    storage = await openSqliteStorage(join(dir, 'db'));
    now = Date.UTC(2030, 0, 1);
    for (const device of [alice, bob]) {
      const key = new Uint8Array(32).fill(1);
      await storage.createAccount(
        { username: device.username, identityKey: key, recoveryKey: key, opaqueRecord: key, backup: key, recoveryBackup: key, createdAt: now },
        { ...device, name: 'phone', publicKey: device === bob ? bobKeys.publicKey : key, certificate: new Uint8Array(64), createdAt: now },
      );
    }
  });
  afterEach(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('deletes entries past retention on a sweep and reports them to the device as a gap', async () => {
    const delivery = new DeliveryService(storage, new ConsentService(storage, log), new Push(new MemoryBus(), log), log, { retentionMs: 30 * DAY, deviceBacklogQuota: 10_000 }, () => now);
    await storage.createGroup({ groupId, kind: 'group', groupInfo: new Uint8Array(8), creator: alice, creatorLeaf: { leafIndex: 0, signatureKey: new Uint8Array(32), device: alice }, createdAt: now });
    await storage.acceptCommit({ groupId, epoch: 0, sender: alice, commit: new Uint8Array(8), groupInfo: new Uint8Array(8), createdAt: now, add: [bob], remove: [], leaves: { removed: [], added: [] }, welcome: new Uint8Array(8) }, () => undefined);
    for (const day of [0, 10, 40]) {
      await storage.appendMessage({ groupId, epoch: 1, sender: alice, payload: new Uint8Array([day]), createdAt: now + day * DAY }, () => undefined);
    }
    now += 45 * DAY;
    expect(await delivery.sweep()).toEqual({ entries: 3, keyPackages: 0 }); // the commit and days 0 and 10
    const fetched = await delivery.fetch(bob, {});
    expect(fetched.entries.map((e) => e.seq)).toEqual([4]);
    expect(fetched.gaps).toEqual([{ groupId, fromSeq: 2, toSeq: 3, reason: 'retention' }]);
    await delivery.ack(bob, { mailbox: fetched.mailbox.map((m) => m.id), cursors: [{ groupId, seq: 4 }] });
    expect(await delivery.fetch(bob, { limit: 10 })).toEqual({ mailbox: [], entries: [], gaps: [], more: false });
  });

  it("fetches one group's range: only unacknowledged entries within it, that group's gaps, no mailbox; refuses bad ranges", async () => {
    const delivery = new DeliveryService(storage, new ConsentService(storage, log), new Push(new MemoryBus(), log), log, { retentionMs: 30 * DAY, deviceBacklogQuota: 10_000 }, () => now);
    const other = new Uint8Array(16).fill(8);
    for (const id of [groupId, other]) {
      await storage.createGroup({ groupId: id, kind: 'group', groupInfo: new Uint8Array(8), creator: alice, creatorLeaf: { leafIndex: 0, signatureKey: new Uint8Array(32), device: alice }, createdAt: now });
      await storage.acceptCommit({ groupId: id, epoch: 0, sender: alice, commit: new Uint8Array(8), groupInfo: new Uint8Array(8), createdAt: now, add: [bob], remove: [], leaves: { removed: [], added: [] }, welcome: new Uint8Array(8) }, () => undefined);
    }
    // seq 2..6 in the first group: alice, alice, bob (his own, never sent back to him), alice, alice.
    for (const sender of [alice, alice, bob, alice, alice]) await storage.appendMessage({ groupId, epoch: 1, sender, payload: new Uint8Array([1]), createdAt: now }, () => undefined);
    await storage.appendMessage({ groupId: other, epoch: 1, sender: alice, payload: new Uint8Array([2]), createdAt: now }, () => undefined);
    await delivery.ack(bob, { mailbox: [], cursors: [{ groupId, seq: 2 }] });

    const seqs = async (range: { fromSeq: number; toSeq?: number }, limit?: number) => {
      const fetched = await delivery.fetch(bob, { range: { groupId, ...range }, ...(limit ? { limit } : {}) });
      expect(fetched.mailbox).toEqual([]); // the Welcomes wait for a full fetch
      expect(fetched.entries.every((entry) => equalBytes(entry.groupId, groupId))).toBe(true);
      return { seqs: fetched.entries.map((entry) => entry.seq), more: fetched.more };
    };
    expect(await seqs({ fromSeq: 1 })).toEqual({ seqs: [3, 5, 6], more: false }); // from the cursor on, not bob's own 4
    expect(await seqs({ fromSeq: 4, toSeq: 5 })).toEqual({ seqs: [5], more: false });
    expect(await seqs({ fromSeq: 3 }, 2)).toEqual({ seqs: [3, 5], more: true });
    expect(await seqs({ fromSeq: 7 })).toEqual({ seqs: [], more: false });
    expect((await delivery.fetch(bob, {})).mailbox).toHaveLength(2);

    await expect(delivery.fetch(bob, { range: { groupId, fromSeq: 5, toSeq: 4 } })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: /ends .* before it starts/ });
    await expect(delivery.fetch(bob, { range: { groupId: new Uint8Array(16).fill(9), fromSeq: 1 } })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: /not in group/ });
    // Alice gets only what others wrote: bob's entry, not her own.
    expect((await delivery.fetch(alice, { range: { groupId, fromSeq: 1 } })).entries.map((entry) => entry.seq)).toEqual([4]);
  });

  it('charges fetches by the bytes they return, per account, and refuses duplicated acknowledgements', async () => {
    const delivery = new DeliveryService(storage, new ConsentService(storage, log), new Push(new MemoryBus(), log), log, { retentionMs: 30 * DAY, deviceBacklogQuota: 10_000, fetchBytesPerSecond: 100 }, () => now);
    await storage.createGroup({ groupId, kind: 'group', groupInfo: new Uint8Array(8), creator: alice, creatorLeaf: { leafIndex: 0, signatureKey: new Uint8Array(32), device: alice }, createdAt: now });
    await storage.acceptCommit({ groupId, epoch: 0, sender: alice, commit: new Uint8Array(8), groupInfo: new Uint8Array(8), createdAt: now, add: [bob], remove: [], leaves: { removed: [], added: [] }, welcome: new Uint8Array(8) }, () => undefined);
    for (let i = 0; i < 3; i++) await storage.appendMessage({ groupId, epoch: 1, sender: alice, payload: new Uint8Array(300), createdAt: now }, () => undefined);
    // A burst of two seconds' worth (200 bytes) goes at once; this fetch overspends it by 708.
    const fetched = await delivery.fetch(bob, {});
    expect(fetched.entries).toHaveLength(3);
    await expect(delivery.fetch(bob, {})).rejects.toMatchObject({ code: 'RATE_LIMITED', details: { retryAfterMs: 7090 } });
    await expect(delivery.fetch(alice, {})).resolves.toMatchObject({ entries: [] }); // her own budget, a different account
    now += 7090;
    await expect(delivery.fetch(bob, {})).resolves.toMatchObject({ more: false });
    await expect(delivery.ack(bob, { mailbox: [], cursors: [{ groupId, seq: 2 }, { groupId, seq: 4 }] })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: /twice/ });
    await expect(delivery.ack(bob, { mailbox: [1, 1], cursors: [] })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: /twice/ });
    await delivery.ack(bob, { mailbox: fetched.mailbox.map((m) => m.id), cursors: [{ groupId, seq: 4 }] });
  });

  it('rate-limits KeyPackage claims per claiming account', async () => {
    const keys = new KeyPackageService(storage, new ConsentService(storage, log), log, { maxOneTimePerDevice: 2, claimsPerMinute: 2, claimsPerTargetPerClaimer: 2, claimsPerTarget: 3 }, () => now);
    const member = { identity: new Uint8Array([1]), signaturePrivateKey: bobKeys.privateKey, signaturePublicKey: bobKeys.publicKey };
    const packages = await Promise.all([1, 2, 3].map(() => generateKeyPackage(member, { now: Math.floor(now / 1000) })));
    await expect(keys.upload(bob, { keyPackages: packages.map((p) => p.keyPackage) })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: /at most 2/ });
    expect(await keys.upload(bob, { keyPackages: packages.slice(0, 2).map((p) => p.keyPackage) })).toEqual({ count: 2 });
    expect((await keys.claim(alice, { username: 'bob' })).devices).toHaveLength(1);
    expect((await keys.claim(alice, { username: 'bob' })).devices).toHaveLength(1);
    await expect(keys.claim(alice, { username: 'bob' })).rejects.toMatchObject({ code: 'RATE_LIMITED', details: { retryAfterMs: 30_000 } });
    await expect(keys.claim(bob, { username: 'bob' })).resolves.toEqual({ devices: [] }); // only his own device
    now += 30_000;
    await expect(keys.claim(alice, { username: 'bob' })).rejects.toMatchObject({ code: 'NO_KEY_PACKAGES' });
  });

  it('limits claims against one user per claimer and from all claimers together', async () => {
    const keys = new KeyPackageService(storage, new ConsentService(storage, log), log, { maxOneTimePerDevice: 10, claimsPerMinute: 100, claimsPerTargetPerClaimer: 2, claimsPerTarget: 3 }, () => now);
    const member = { identity: new Uint8Array([1]), signaturePrivateKey: bobKeys.privateKey, signaturePublicKey: bobKeys.publicKey };
    const packages = await Promise.all(Array.from({ length: 6 }, () => generateKeyPackage(member, { now: Math.floor(now / 1000) })));
    await keys.upload(bob, { keyPackages: packages.map((p) => p.keyPackage) });
    const mallory = (n: number) => ({ username: `mallory${n}`, deviceId: `mallory-dev${n}` });
    for (let i = 0; i < 2; i++) expect((await keys.claim(mallory(1), { username: 'bob' })).devices).toHaveLength(1);
    await expect(keys.claim(mallory(1), { username: 'bob' })).rejects.toMatchObject({ code: 'RATE_LIMITED', message: /for bob from this account/, details: { retryAfterMs: 30_000 } });
    // The refused claim used none of bob's allowance: a second account still gets one, a third none.
    expect((await keys.claim(mallory(2), { username: 'bob' })).devices).toHaveLength(1);
    await expect(keys.claim(mallory(3), { username: 'bob' })).rejects.toMatchObject({ code: 'RATE_LIMITED', message: /for bob right now/ });
    expect(await keys.count(bob)).toEqual({ count: 3, lastResort: false });
    // Claims against anyone else are not held back by bob's limit.
    await expect(keys.claim(mallory(3), { username: 'alice' })).rejects.toMatchObject({ code: 'NO_KEY_PACKAGES' });
    now += 20_000;
    expect((await keys.claim(mallory(3), { username: 'bob' })).devices).toHaveLength(1);
  });
});
