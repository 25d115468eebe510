import { join } from 'node:path';
import { groupMetadata, processMessage } from '@parley/crypto';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDevice } from '../support/device.js';
import { startTestServer, type TestServer } from '../support/harness.js';
import { swapIdentityKeyAndLog } from '../support/key-log.js';

const PASSWORD = 'devices test password';

describe('accounts across devices', () => {
  let server: TestServer;
  const devices: TestDevice[] = [];
  async function device(username: string, how: 'register' | 'login', name: string): Promise<TestDevice> {
    const signedIn = await TestDevice.signIn(server, username, how, { password: PASSWORD, deviceName: name });
    devices.push(signedIn);
    return signedIn;
  }
  const titles = async (d: TestDevice) => (await d.messages.listConversations()).filter((c) => c.active).map((c) => c.title).sort();

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    for (const d of devices) d.close();
    await server.close();
  });

  it('a laptop that logs in after the chats exist joins all of them and gets new messages in each', async () => {
    const phone = await device('alice', 'register', 'phone');
    const bob = await device('bob', 'register', 'bob');
    const carol = await device('carol', 'register', 'carol');
    await (await phone.messenger()).sendDirect('bob', 'hi bob');
    await (await phone.messenger()).createGroup('book club', ['bob', 'carol']);
    await bob.acceptRequests();
    await carol.acceptRequests();

    const laptop = await device('alice', 'login', 'laptop');
    await laptop.receive(); // joins by external commit into every group of the account
    await phone.receive(); // the phone, as creator, shares the group title with the laptop
    await laptop.receive();
    expect(await titles(laptop)).toEqual(['bob', 'book club']);

    await (await bob.messenger()).sendDirect('alice', 'hello both alices');
    await (await carol.messenger()).sendToGroup('book club', 'chapter one');
    expect((await laptop.receive()).sort()).toEqual(['bob: hello both alices', 'carol: chapter one']);
    expect((await phone.receive()).sort()).toEqual(['bob: hello both alices', 'carol: chapter one']);
    // And what the laptop sends, everyone (the phone included) reads.
    await (await laptop.messenger()).sendToGroup('book club', 'from the laptop');
    for (const d of [phone, bob, carol]) expect(await d.receive()).toContain('alice: from the laptop');

    // History transfer: the phone sends what it has; the laptop then shows the old messages too.
    const laptopId = (await (await laptop.open()).whoami()).deviceId;
    const progress: string[] = [];
    const sent = await (await phone.messenger()).sendHistory(laptopId, (done, total) => progress.push(`${done}/${total}`));
    expect(sent.messages).toBeGreaterThanOrEqual(4);
    expect(progress.at(-1)).toBe(`${sent.chunks}/${sent.chunks}`);
    // Queued on the server, the history is sealed: no text appears in its database.
    const db = new Database(join(server.dataDir, 'parley.db'), { readonly: true });
    const queued = db.prepare("select payload from mailbox where kind = 'transfer'").all() as { payload: Buffer }[];
    db.close();
    expect(queued.length).toBe(sent.chunks);
    for (const row of queued) expect(row.payload.includes(Buffer.from('hello both alices'))).toBe(false);
    const { history } = await (await laptop.messenger()).sync();
    expect(history.at(-1)).toMatchObject({ received: sent.chunks, total: sent.chunks });
    const direct = (await laptop.messages.listConversations()).find((c) => c.peer === 'bob');
    expect((await laptop.messages.listMessages(direct?.groupId ?? '')).map((m) => m.text)).toEqual(['hi bob', 'hello both alices']);
  });

  it('an online device adds a new sibling to its chats before the new one looks', async () => {
    const tablet = await device('grace', 'register', 'tablet');
    const heidi = await device('heidi', 'register', 'heidi');
    await (await tablet.messenger()).sendDirect('heidi', 'first');
    await heidi.receive();
    const watch = await device('grace', 'login', 'watch'); // logs in, does not sync yet
    await tablet.receive(); // sees a device of its account missing from the group: adds it (Welcome)
    // The tablet's tree already holds the watch, before the watch has done anything.
    const watchId = (await watch.profile.load()).account?.deviceId;
    const tabletState = (await tablet.messages.listConversations())[0]?.state ?? new Uint8Array();
    expect(groupMetadata(tabletState).members.map((leaf) => new TextDecoder().decode(leaf.identity)).some((identity) => identity.includes(watchId ?? 'missing'))).toBe(true);
    const joined = await watch.receive();
    expect(joined).toEqual([]);
    const conversation = (await watch.messages.listConversations())[0];
    expect(conversation).toMatchObject({ peer: 'heidi', active: true });
    await (await heidi.messenger()).sendDirect('grace', 'to both of you');
    expect(await watch.receive()).toEqual(['heidi: to both of you']);
    expect(await tablet.receive()).toEqual(['heidi: to both of you']);
  });

  it('a revoked device is removed from every group and cannot decrypt what is sent after', async () => {
    const phone = await device('dave', 'register', 'phone');
    const erin = await device('erin', 'register', 'erin');
    await (await phone.messenger()).sendDirect('erin', 'before');
    await erin.receive();
    const stolen = await device('dave', 'login', 'stolen');
    await stolen.receive();
    await (await erin.messenger()).sendDirect('dave', 'the stolen one still reads this');
    expect(await stolen.receive()).toEqual(['erin: the stolen one still reads this']);
    const stolenState = (await stolen.messages.listConversations())[0]?.state ?? new Uint8Array();
    const stolenId = (await (await stolen.open()).whoami()).deviceId;
    stolen.close();

    await (await phone.open()).revokeDevice(stolenId);
    await phone.receive(); // commits the removal of the revoked device's leaf (re-key)
    await erin.receive();
    await (await erin.messenger()).sendDirect('dave', 'after revocation');
    const db = new Database(join(server.dataDir, 'parley.db'), { readonly: true });
    const rows = db.prepare("select payload from group_log where kind = 'message' order by created_at desc limit 1").all() as { payload: Buffer }[];
    db.close();
    expect(rows).toHaveLength(1);
    await expect(processMessage(stolenState, new Uint8Array(rows[0]?.payload ?? []), async () => true)).rejects.toMatchObject({ name: 'CryptoError' });
    expect(await phone.receive()).toEqual(['erin: after revocation']);
    await expect((await stolen.open()).whoami()).rejects.toMatchObject({ code: 'DEVICE_REVOKED' });
  });
});

describe('safety numbers and key changes', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('are the same on both sides; a swapped identity key in the directory is detected, not trusted', async () => {
    const alice = new TestDevice(server);
    const bob = new TestDevice(server);
    await (await alice.open()).register('alice', PASSWORD);
    await (await bob.open()).register('bob', PASSWORD);
    await (await alice.messenger()).sendDirect('bob', 'hello');
    await bob.receive();
    const fromAlice = await (await alice.open()).safety('bob');
    const fromBob = await (await bob.open()).safety('alice');
    expect(fromAlice.safetyNumber).toBe(fromBob.safetyNumber);
    expect(fromAlice).toMatchObject({ verified: false, keyChanged: false });
    await (await alice.open()).markVerified('bob');
    expect(await (await alice.open()).safety('bob')).toMatchObject({ verified: true, keyChanged: false });

    // A malicious server swaps bob's identity key in its directory, behind its key log's back:
    // the log does not vouch for the new key, so the lookup is refused.
    alice.close();
    bob.close();
    await server.close();
    const db = new Database(join(server.dataDir, 'parley.db'));
    db.prepare('update accounts set identity_key = ? where username = ?').run(Buffer.alloc(32, 7), 'bob');
    server = await startTestServer({ dataDir: server.dataDir, port: server.port });
    await expect((await alice.open()).safety('bob')).rejects.toMatchObject({ code: 'TRANSPARENCY_PROOF_INVALID' });

    // So it logs the swap too (for everyone to see): then the pinned key catches it.
    swapIdentityKeyAndLog(db, 'bob', new Uint8Array(32).fill(7));
    db.close();

    const after = await (await alice.open()).safety('bob');
    expect(after).toMatchObject({ verified: false, keyChanged: true });
    expect(after.safetyNumber).not.toBe(fromAlice.safetyNumber);
    await expect((await alice.messenger()).sendDirect('bob', 'must not be sent')).rejects.toMatchObject({ code: 'IDENTITY_KEY_CHANGED' });
    await expect((await alice.open()).markVerified('bob')).rejects.toMatchObject({ code: 'IDENTITY_KEY_CHANGED' });
    alice.close();
  });
});
