/**
 * DESIGN §2, §11: a malicious server that serves a wrong directory entry is caught by the key
 * log, even on the very first lookup of a user (where pinning has nothing to compare with). The
 * server here is real, with its directory answers rewritten by a test hook, and its operator
 * holds the database and the server key file, so it can sign tree heads of a log of its own.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deviceCertificateMessage, directoryEntryDigest, generateSigningKeyPair, inclusionProof, leafHash, nodeHash, rangeHash, sign, signTreeHead, type SubtreeHashes } from '@parley/crypto';
import { encodeKeyLogLeaf, ErrorCode, fromBase64Url, type DirectoryEntry, type ResponseOf } from '@parley/protocol';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDevice } from '../support/device.js';
import { startTestServer, type TestServer } from '../support/harness.js';
import { honestUser } from './kit.js';

type Answer = ResponseOf<'directory.lookup'>;

/** Keys the server makes up for `username`: an identity key and a device it certified itself. */
function forgedEntry(username: string): DirectoryEntry {
  const identity = generateSigningKeyPair();
  const device = generateSigningKeyPair();
  const unsigned = { deviceId: `${username}-forged1`, name: 'phone', publicKey: device.publicKey };
  return { username, identityKey: identity.publicKey, devices: [{ ...unsigned, signature: sign(identity.privateKey, deviceCertificateMessage({ username, ...unsigned })) }], revokedDevices: [] };
}

describe('a server that lies about keys', () => {
  let server: TestServer;
  let victim: TestDevice;
  const users = new Map<string, TestDevice>();
  let tamper: (answer: Answer) => Answer = (answer) => answer;

  beforeAll(async () => {
    server = await startTestServer({ directoryTamper: (answer) => tamper(answer) });
    victim = await honestUser(server, 'victim');
    for (const name of ['bob', 'carol', 'friend']) users.set(name, await honestUser(server, name));
    // The victim has seen the honest log once: the head it will hold the server to.
    await (await victim.messenger()).sendDirect('friend', 'hello');
  });
  afterAll(async () => {
    victim.close();
    for (const user of users.values()) user.close();
    await server.close();
  });

  const nothingReached = async (name: string) => {
    const messenger = await users.get(name)?.messenger();
    await messenger?.sync();
    expect(await messenger?.requests()).toEqual([]);
  };

  it('swapping keys on the first lookup, without a log entry for them, is refused and nothing is sent', async () => {
    const forged = forgedEntry('bob');
    tamper = (answer) => (answer.username === 'bob' ? { ...forged, proof: answer.proof } : answer);
    const error = await (await victim.messenger()).sendDirect('bob', 'for bob only').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: ErrorCode.TRANSPARENCY_PROOF_INVALID });
    expect((error as Error).message).toMatch(/does not vouch for the keys of bob/);
    // Bob's own client would refuse the lie about his keys too; it syncs once the server is honest again.
    tamper = (answer) => answer;
    await nothingReached('bob');

    // With honest answers, the same lookup passes its checks and the message goes.
    await (await victim.messenger()).sendDirect('bob', 'for bob only');
    expect(await users.get('bob')?.acceptRequests()).toEqual(['victim']);
  });

  it('a forked log that vouches for swapped keys, signed with the real server key, is caught against the head seen before', async () => {
    // The operator's copy of the log with carol's latest leaf replaced by one for forged keys.
    const db = new Database(join(server.dataDir, 'parley.db'), { readonly: true });
    const rows = db.prepare('select idx, username, leaf_hash from key_log order by idx').all() as { idx: number; username: string; leaf_hash: Buffer }[];
    db.close();
    const hashes: Uint8Array[] = rows.map((row) => new Uint8Array(row.leaf_hash));
    const index = Math.max(...rows.filter((row) => row.username === 'carol').map((row) => row.idx));
    const forged = forgedEntry('carol');
    const device = forged.devices[0];
    const leaf = encodeKeyLogLeaf({ v: 1, username: 'carol', event: 'device.added', deviceId: device?.deviceId, key: device?.publicKey ?? new Uint8Array(32), at: Date.now(), entry: directoryEntryDigest(forged) });
    hashes[index] = leafHash(leaf);
    const tree: SubtreeHashes = { perfect: (level, i) => (level === 0 ? (hashes[i] as Uint8Array) : nodeHash(tree.perfect(level - 1, 2 * i), tree.perfect(level - 1, 2 * i + 1))) };
    const keyFile = JSON.parse(readFileSync(join(server.dataDir, 'server-keys.json'), 'utf8')) as { noisePrivateKey: string };
    const head = signTreeHead(fromBase64Url(keyFile.noisePrivateKey), { size: hashes.length, rootHash: rangeHash(tree, 0, hashes.length), timestamp: Date.now() });
    tamper = (answer) => (answer.username === 'carol' ? { ...forged, proof: { leaf, index, path: inclusionProof(tree, index, hashes.length), head } } : answer);

    const error = await (await victim.messenger()).sendDirect('carol', 'for carol only').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: ErrorCode.TRANSPARENCY_FORKED });
    tamper = (answer) => answer;
    await nothingReached('carol');
  });

  it('once the server answers honestly again, honest use goes on', async () => {
    const friend = users.get('friend') as TestDevice;
    await (await friend.messenger()).sendDirect('victim', 'hi back');
    expect(await victim.receive()).toEqual(['friend: hi back']);
  });
});
