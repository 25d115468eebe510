/**
 * The MLS Delivery Service end to end: a real server on a free port, driven over the real channel
 * with genuine MLS KeyPackages, commits, Welcomes and messages (DESIGN §6, §7).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import {
  addMembers,
  createGroup,
  encrypt,
  generateKeyPackage,
  inspectMessage,
  joinExternal,
  joinFromWelcome,
  processMessage,
  removeMembers,
  selfUpdate,
  type MlsGeneratedKeyPackage,
} from '@parley/crypto';
import { toBase64Url, toHex, type LogEntry } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { startServer, type RunningServer } from './server.js';
import { addDevice, reconnect, register, type TestClient, type TestDevice } from './test-client.testkit.js';

const anyCredential = async () => true;
const utf8 = (value: string) => new TextEncoder().encode(value);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

interface Member {
  client: TestClient;
  device: TestDevice;
  /** This device's MLS state for the test group. */
  state: Uint8Array;
}

describe('messaging over the wire (the MLS Delivery Service)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-messaging-'));
  let logs = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs += chunk.toString('utf8');
      done();
    },
  });
  let server: RunningServer;
  const start = async () => {
    server = await startServer({ host: '127.0.0.1', port: 0, dataDir, logger: createLogger('debug', sink) });
  };
  const open: TestClient[] = [];
  const track = (client: TestClient) => {
    open.push(client);
    return client;
  };

  let alice: Member;
  let bob: Member;
  let bob2: Member;
  let carol: Member;
  const generated = new Map<string, MlsGeneratedKeyPackage[]>();
  const groupId = crypto.getRandomValues(new Uint8Array(16));
  const payloads: Uint8Array[] = [];

  async function upload(member: Member, count: number): Promise<number> {
    const keyPackages = await Promise.all(Array.from({ length: count }, () => generateKeyPackage(member.device.member)));
    const lastResort = await generateKeyPackage(member.device.member, { lastResort: true });
    generated.set(member.device.deviceId, [...(generated.get(member.device.deviceId) ?? []), ...keyPackages, lastResort]);
    const { count: stored } = await member.client.request('keys.upload', { keyPackages: keyPackages.map((k) => k.keyPackage), lastResort: lastResort.keyPackage });
    return stored;
  }

  /** Joins from a Welcome with whichever of the device's KeyPackages it is addressed to. */
  async function joinFrom(member: Member, welcome: Uint8Array): Promise<void> {
    const framing = inspectMessage(welcome);
    if (framing.kind !== 'welcome') throw new Error('not a welcome');
    const refs = framing.keyPackageRefs.map(toHex);
    const mine = generated.get(member.device.deviceId)?.find((k) => refs.includes(toHex(k.keyPackageRef)));
    if (!mine) throw new Error(`no KeyPackage of ${member.device.deviceId} in the welcome`);
    member.state = (await joinFromWelcome(welcome, mine.privateState, anyCredential)).state;
  }

  /** Processes a pushed or fetched log entry; returns the plaintext of an application message. */
  async function receive(member: Member, entry: LogEntry): Promise<string | undefined> {
    const processed = await processMessage(member.state, entry.payload, anyCredential);
    member.state = processed.state;
    return processed.kind === 'application' ? text(processed.plaintext) : undefined;
  }

  async function send(member: Member, message: string, epoch: number): Promise<number> {
    const encrypted = await encrypt(member.state, member.device.member, utf8(message));
    member.state = encrypted.state;
    payloads.push(encrypted.message);
    return (await member.client.request('group.send', { groupId, epoch, message: encrypted.message })).seq;
  }

  async function claimOne(by: Member, username: string): Promise<{ deviceId: string; keyPackage: Uint8Array }> {
    const { devices } = await by.client.request('keys.claim', { username });
    expect(devices).toHaveLength(1);
    return devices[0] as { deviceId: string; keyPackage: Uint8Array };
  }

  beforeAll(async () => {
    await start();
    const users = await Promise.all(['alice', 'bob', 'carol'].map((name) => register(server.url, name)));
    [alice, bob, carol] = users.map(({ client, device }) => ({ client: track(client), device, state: new Uint8Array(0) })) as [Member, Member, Member];
  });
  afterAll(async () => {
    for (const client of open) client.close();
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stores, counts and hands out KeyPackages, refusing any not signed by the uploading device', async () => {
    expect(await upload(bob, 3)).toBe(3);
    expect(await bob.client.request('keys.count', {})).toEqual({ count: 3, lastResort: true });
    const bobs = (generated.get(bob.device.deviceId) ?? [])[0]?.keyPackage as Uint8Array;
    await expect(alice.client.request('keys.upload', { keyPackages: [bobs] })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: /not signed with this device's key/ });
    await expect(alice.client.request('keys.upload', { keyPackages: [utf8('not a key package')] })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const oneTime = await generateKeyPackage(alice.device.member);
    await expect(alice.client.request('keys.upload', { keyPackages: [], lastResort: oneTime.keyPackage })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: /last_resort/ });
    await expect(alice.client.request('keys.claim', { username: 'carol' })).rejects.toMatchObject({ code: 'NO_KEY_PACKAGES' });
    await expect(alice.client.request('keys.claim', { username: 'nobody-here' })).rejects.toMatchObject({ code: 'UNKNOWN_USER' });
    expect(await upload(carol, 3)).toBe(3);
  });

  it('creates a group, adds a member with a Welcome that is queued and pushed, and messages flow both ways', async () => {
    const created = await createGroup(alice.device.member, groupId);
    alice.state = created.state;
    const summary = await alice.client.request('group.create', { groupId, kind: 'group', groupInfo: created.groupInfo });
    expect(summary).toEqual({ groupId, kind: 'group', epoch: 0, createdBy: 'alice', admins: ['alice'], members: [{ username: 'alice', deviceId: alice.device.deviceId }], lastSeq: 0 });

    const claimed = await claimOne(alice, 'bob');
    expect(claimed.deviceId).toBe(bob.device.deviceId);
    expect((await bob.client.request('keys.count', {})).count).toBe(2);
    const add = await addMembers(alice.state, alice.device.member, [claimed.keyPackage], anyCredential);
    const bobRef = { username: 'bob', deviceId: bob.device.deviceId };
    expect(await alice.client.request('group.commit', { groupId, epoch: 0, commit: add.commit, groupInfo: add.groupInfo, welcome: add.welcome, add: [bobRef], remove: [] })).toEqual({ seq: 1, epoch: 1 });
    alice.state = add.pendingState;

    const pushed = await bob.client.nextEvent('mailbox');
    expect(pushed).toMatchObject({ kind: 'welcome', groupId, seq: 1, sender: { username: 'alice' }, payload: add.welcome });
    const fetched = await bob.client.request('sync.fetch', {});
    expect(fetched).toEqual({ mailbox: [pushed], entries: [], gaps: [], more: false });
    await joinFrom(bob, add.welcome);
    await bob.client.request('sync.ack', { mailbox: [pushed.id], cursors: [] });

    expect(await send(alice, 'hello bob', 1)).toBe(2);
    const toBob = await bob.client.nextEvent('message');
    expect(toBob).toMatchObject({ groupId, seq: 2, kind: 'message', epoch: 1, sender: { username: 'alice', deviceId: alice.device.deviceId } });
    expect(await receive(bob, toBob)).toBe('hello bob');
    expect(await send(bob, 'hi alice', 1)).toBe(3);
    expect(await receive(alice, await alice.client.nextEvent('message'))).toBe('hi alice');

    expect(await bob.client.request('group.get', { groupId })).toMatchObject({ epoch: 1, admins: ['alice'], members: [{ username: 'alice' }, bobRef], lastSeq: 3 });
    expect((await bob.client.request('group.list', {})).groups.map((g) => g.groupId)).toEqual([groupId]);
    // Bob's fetch holds Alice's message, not his own; once acknowledged, nothing is left.
    expect((await bob.client.request('sync.fetch', {})).entries.map((e) => e.seq)).toEqual([2]);
    await bob.client.request('sync.ack', { mailbox: [], cursors: [{ groupId, seq: 3 }] });
    expect(await bob.client.request('sync.fetch', {})).toEqual({ mailbox: [], entries: [], gaps: [], more: false });
  });

  it('accepts exactly one of two commits for the same epoch; the other gets STALE_EPOCH with the current epoch', async () => {
    const [fromAlice, fromBob] = await Promise.all([selfUpdate(alice.state, alice.device.member), selfUpdate(bob.state, bob.device.member)]);
    const commit = (member: Member, update: typeof fromAlice) =>
      member.client.request('group.commit', { groupId, epoch: 1, commit: update.commit, groupInfo: update.groupInfo, add: [], remove: [] });
    const results = await Promise.allSettled([commit(alice, fromAlice), commit(bob, fromBob)]);
    const won = results.findIndex((result) => result.status === 'fulfilled');
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const lost = results[1 - won];
    expect(lost?.status === 'rejected' && lost.reason).toMatchObject({ code: 'STALE_EPOCH', details: { epoch: 2 } });
    const [winner, loser, winning] = won === 0 ? [alice, bob, fromAlice] : [bob, alice, fromBob];
    winner.state = winning.pendingState;
    // The loser catches up from the winner's commit, then its retry is refused the same way.
    const entry = await loser.client.nextEvent('message');
    expect(entry).toMatchObject({ kind: 'commit', epoch: 1 });
    await receive(loser, entry);
    await expect(commit(loser, won === 0 ? fromBob : fromAlice)).rejects.toMatchObject({ code: 'STALE_EPOCH', details: { epoch: 2 } });
    expect(await send(loser, 'after the race', 2)).toBeGreaterThan(entry.seq);
    expect(await receive(winner, await winner.client.nextEvent('message'))).toBe('after the race');
  });

  it("refuses a non-admin adding another user's device, but lets anyone add their own", async () => {
    const carols = await claimOne(bob, 'carol');
    const forbidden = await addMembers(bob.state, bob.device.member, [carols.keyPackage], anyCredential);
    await expect(
      bob.client.request('group.commit', { groupId, epoch: 2, commit: forbidden.commit, groupInfo: forbidden.groupInfo, welcome: forbidden.welcome, add: [{ username: 'carol', deviceId: carols.deviceId }], remove: [] }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });

    const second = await addDevice(server.url, bob.device, 'bob-device-2');
    bob2 = { client: track(second.client), device: second.device, state: new Uint8Array(0) };
    await upload(bob2, 2);
    // Claiming one's own username leaves out the claiming device.
    const own = await claimOne(bob, 'bob');
    expect(own.deviceId).toBe('bob-device-2');
    const add = await addMembers(bob.state, bob.device.member, [own.keyPackage], anyCredential);
    await bob.client.request('group.commit', { groupId, epoch: 2, commit: add.commit, groupInfo: add.groupInfo, welcome: add.welcome, add: [{ username: 'bob', deviceId: 'bob-device-2' }], remove: [] });
    bob.state = add.pendingState;
    await receive(alice, await alice.client.nextEvent('message'));
    await joinFrom(bob2, (await bob2.client.nextEvent('mailbox')).payload as Uint8Array);
    expect(await send(bob2, 'from my laptop', 3)).toBeGreaterThan(0);
    expect(await receive(alice, await alice.client.nextEvent('message'))).toBe('from my laptop');
    expect(await receive(bob, await bob.client.nextEvent('message'))).toBe('from my laptop');
  });

  it('lets an offline member catch up in order after reconnecting; entries everyone acknowledged are deleted', async () => {
    carol.client.close();
    await carol.client.closed;
    const carols = await claimOne(alice, 'carol');
    const add = await addMembers(alice.state, alice.device.member, [carols.keyPackage], anyCredential);
    const { seq: addedAt } = await alice.client.request('group.commit', {
      groupId,
      epoch: 3,
      commit: add.commit,
      groupInfo: add.groupInfo,
      welcome: add.welcome,
      add: [{ username: 'carol', deviceId: carol.device.deviceId }],
      remove: [],
    });
    alice.state = add.pendingState;
    for (const member of [bob, bob2]) await receive(member, await member.client.nextEvent('message'));
    const sent = [];
    for (const message of ['one', 'two', 'three']) sent.push(await send(alice, message, 4));

    carol.client = track(await reconnect(server.url, carol.device));
    const fetched = await carol.client.request('sync.fetch', {});
    expect(fetched.mailbox.map((m) => [m.kind, m.seq])).toEqual([['welcome', addedAt]]);
    expect(fetched.entries.map((e) => e.seq)).toEqual(sent);
    await joinFrom(carol, fetched.mailbox[0]?.payload as Uint8Array);
    const texts = [];
    for (const entry of fetched.entries) texts.push(await receive(carol, entry));
    expect(texts).toEqual(['one', 'two', 'three']);

    const last = sent[2] as number;
    await carol.client.request('sync.ack', { mailbox: fetched.mailbox.map((m) => m.id), cursors: [{ groupId, seq: last }] });
    expect(await carol.client.request('sync.fetch', {})).toEqual({ mailbox: [], entries: [], gaps: [], more: false });
    for (const member of [bob, bob2]) {
      for (const entry of member.client.takeEvents('message')) await receive(member, entry);
    }
    for (const member of [alice, bob, bob2]) {
      const { mailbox } = await member.client.request('sync.fetch', {});
      await member.client.request('sync.ack', { mailbox: mailbox.map((m) => m.id), cursors: [{ groupId, seq: last }] });
    }
    const db = new Database(join(dataDir, 'parley.db'), { readonly: true });
    const remaining = db.prepare('select count(*) as n from group_log where group_id = ?').get(Buffer.from(groupId)) as { n: number };
    const mailboxRows = db.prepare('select count(*) as n from mailbox').get() as { n: number };
    db.close();
    expect(remaining.n).toBe(0);
    expect(mailboxRows.n).toBe(0);
  });

  it('tells a removed device, lets it read up to its removal, then sends it nothing more', async () => {
    const removal = await removeMembers(alice.state, alice.device.member, [carol.device.keys.publicKey]);
    const carolRef = { username: 'carol', deviceId: carol.device.deviceId };
    const { seq: removedAt } = await alice.client.request('group.commit', { groupId, epoch: 4, commit: removal.commit, groupInfo: removal.groupInfo, add: [], remove: [carolRef] });
    alice.state = removal.pendingState;
    expect(await carol.client.nextEvent('mailbox')).toMatchObject({ kind: 'removed', groupId, seq: removedAt, sender: { username: 'alice' } });
    const processed = await processMessage(carol.state, (await carol.client.nextEvent('message')).payload, anyCredential);
    expect(processed).toMatchObject({ kind: 'commit', removedSelf: true });
    for (const member of [bob, bob2]) await receive(member, await member.client.nextEvent('message'));

    await send(alice, 'carol is gone', 5);
    expect(await receive(bob, await bob.client.nextEvent('message'))).toBe('carol is gone');
    expect(carol.client.takeEvents('message')).toEqual([]);
    const fetched = await carol.client.request('sync.fetch', {});
    expect(fetched.entries.map((e) => e.seq)).toEqual([removedAt]);
    await carol.client.request('sync.ack', { mailbox: fetched.mailbox.map((m) => m.id), cursors: [{ groupId, seq: removedAt }] });
    expect(await carol.client.request('sync.fetch', {})).toEqual({ mailbox: [], entries: [], gaps: [], more: false });
    expect(await carol.client.request('group.list', {})).toEqual({ groups: [] });
    await expect(carol.client.request('sync.ack', { mailbox: [], cursors: [{ groupId, seq: removedAt }] })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(carol.client.request('group.send', { groupId, epoch: 1, message: payloads[0] as Uint8Array })).rejects.toMatchObject({ code: 'NOT_A_MEMBER' });

    // Bob, not an admin, may remove his own laptop.
    await receive(bob2, await bob2.client.nextEvent('message'));
    const laptop = await removeMembers(bob.state, bob.device.member, [bob2.device.keys.publicKey]);
    await bob.client.request('group.commit', { groupId, epoch: 5, commit: laptop.commit, groupInfo: laptop.groupInfo, add: [], remove: [{ username: 'bob', deviceId: 'bob-device-2' }] });
    bob.state = laptop.pendingState;
    await receive(alice, await alice.client.nextEvent('message'));
    expect(await bob2.client.nextEvent('mailbox')).toMatchObject({ kind: 'removed' });
    bob2.client.close();
    const group = await alice.client.request('group.get', { groupId });
    expect(group.members.map((m) => m.deviceId)).toEqual([alice.device.deviceId, bob.device.deviceId]);
  });

  it('lets a member device that lost its state rejoin by external commit; not a removed user', async () => {
    const { epoch, groupInfo } = await bob.client.request('group.info', { groupId });
    expect(epoch).toBe(6);
    const rejoin = await joinExternal(groupInfo, bob.device.member, anyCredential);
    expect(await bob.client.request('group.rejoin', { groupId, epoch, commit: rejoin.commit, groupInfo: rejoin.groupInfo })).toMatchObject({ epoch: 7 });
    bob.state = rejoin.pendingState;
    await receive(alice, await alice.client.nextEvent('message'));
    await send(alice, 'welcome back', 7);
    expect(await receive(bob, await bob.client.nextEvent('message'))).toBe('welcome back');

    await expect(carol.client.request('group.info', { groupId })).rejects.toMatchObject({ code: 'NOT_A_MEMBER' });
    const info = await alice.client.request('group.info', { groupId });
    const intruder = await joinExternal(info.groupInfo, carol.device.member, anyCredential);
    await expect(carol.client.request('group.rejoin', { groupId, epoch: info.epoch, commit: intruder.commit, groupInfo: intruder.groupInfo })).rejects.toMatchObject({
      code: 'NOT_A_MEMBER',
    });
  });

  it('lists online mutual contacts in pages and pushes their coming and going, not to group peers or one-sided contacts', async () => {
    alice.client.takeEvents('presence');
    carol.client.takeEvents('presence');
    // Sharing a group shows nothing (DESIGN §7); a contact on one side only shows nothing either.
    expect(await alice.client.request('presence.list', {})).toEqual({ users: ['alice'] });
    await alice.client.request('contacts.add', { username: 'bob' });
    await carol.client.request('contacts.add', { username: 'alice' });
    expect(await alice.client.request('presence.list', {})).toEqual({ users: ['alice'] });
    expect(await carol.client.request('presence.list', {})).toEqual({ users: ['carol'] });
    await bob.client.request('contacts.add', { username: 'alice' });
    // Mutual now: each is told the other is online, at once.
    expect(await alice.client.nextEvent('presence')).toEqual({ username: 'bob', online: true });
    expect(await bob.client.nextEvent('presence')).toEqual({ username: 'alice', online: true });
    expect(await alice.client.request('presence.list', {})).toEqual({ users: ['alice', 'bob'] });
    expect(await alice.client.request('presence.list', { limit: 1 })).toEqual({ users: ['alice'], next: 'alice' });
    expect(await alice.client.request('presence.list', { after: 'alice', limit: 1 })).toEqual({ users: ['bob'] });
    // Carol is in alice's contacts only on her side: she sees herself only.
    expect(await carol.client.request('presence.list', {})).toEqual({ users: ['carol'] });

    bob.client.close();
    expect(await alice.client.nextEvent('presence')).toEqual({ username: 'bob', online: false });
    expect(await alice.client.request('presence.list', {})).toEqual({ users: ['alice'] });
    bob.client = track(await reconnect(server.url, bob.device));
    expect(await alice.client.nextEvent('presence')).toEqual({ username: 'bob', online: true });
    expect(carol.client.takeEvents('presence')).toEqual([]);
  });

  it('answers garbage and trespass with clear codes', async () => {
    const request = (client: TestClient, op: string, body: unknown) => (client.request as (op: string, body: unknown) => Promise<unknown>)(op, body);
    await expect(request(alice.client, 'group.send', { groupId: new Uint8Array(15), epoch: 7, message: utf8('x') })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: /groupId/ });
    await expect(alice.client.request('group.send', { groupId, epoch: 7, message: utf8('not mls') })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const otherGroup = crypto.getRandomValues(new Uint8Array(16));
    await expect(alice.client.request('group.send', { groupId: otherGroup, epoch: 7, message: payloads[0] as Uint8Array })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: /another group/,
    });
    await expect(alice.client.request('group.get', { groupId: otherGroup })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(carol.client.request('group.get', { groupId })).rejects.toMatchObject({ code: 'NOT_A_MEMBER' });
    await expect(carol.client.request('group.send', { groupId, epoch: 1, message: payloads[0] as Uint8Array })).rejects.toMatchObject({ code: 'NOT_A_MEMBER' });
    await expect(alice.client.request('group.commit', { groupId, epoch: 7, commit: utf8('garbage'), groupInfo: utf8('garbage'), add: [], remove: [] })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    const again = await createGroup(alice.device.member, groupId);
    await expect(alice.client.request('group.create', { groupId, kind: 'group', groupInfo: again.groupInfo })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: /exists/ });
    await expect(alice.client.request('group.create', { groupId: otherGroup, kind: 'group', groupInfo: again.groupInfo })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: /another group/,
    });
    await expect(alice.client.request('sync.ack', { mailbox: [], cursors: [{ groupId: otherGroup, seq: 1 }] })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(alice.client.request('sync.ack', { mailbox: [], cursors: [{ groupId, seq: 10_000 }] })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(bob.client.request('group.promote', { groupId, username: 'bob' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(alice.client.request('group.promote', { groupId, username: 'carol' })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect((await alice.client.request('group.promote', { groupId, username: 'bob' })).admins).toEqual(['alice', 'bob']);
    await expect(alice.client.request('directory.lookup', { username: 'nobody-here' })).rejects.toMatchObject({ code: 'UNKNOWN_USER' });
    const entry = await alice.client.request('directory.lookup', { username: 'bob' });
    expect(entry.devices.map((d) => [d.deviceId, d.publicKey])).toEqual([
      [bob.device.deviceId, bob.device.keys.publicKey],
      ['bob-device-2', bob2.device.keys.publicKey],
    ]);
  });

  it('pages large entries over several fetches, each reply within one envelope', async () => {
    const big = [];
    for (let i = 0; i < 3; i++) {
      const seq = await send(alice, `${i}`.repeat(300_000), 7);
      big.push(seq);
      const pushed = await bob.client.nextEvent('message');
      expect(pushed.seq).toBe(seq);
      expect(await receive(bob, pushed)).toHaveLength(300_000);
    }
    const seen: number[] = [];
    let pages = 0;
    for (let more = true; more; pages++) {
      const page = await bob.client.request('sync.fetch', {});
      const bytes = page.entries.reduce((sum, entry) => sum + entry.payload.length, 0);
      expect(bytes).toBeLessThan(1024 * 1024);
      seen.push(...page.entries.map((e) => e.seq));
      const last = page.entries.at(-1);
      if (last) await bob.client.request('sync.ack', { mailbox: page.mailbox.map((m) => m.id), cursors: [{ groupId, seq: last.seq }] });
      more = page.more;
    }
    expect(pages).toBeGreaterThanOrEqual(2);
    expect(seen.slice(-3)).toEqual(big);
  });

  it('keeps groups and unread entries across a restart', async () => {
    const seq = await send(alice, 'before the restart', 7);
    await bob.client.nextEvent('message');
    const before = await alice.client.request('group.get', { groupId });
    await server.close();
    await start();
    alice.client = track(await reconnect(server.url, alice.device));
    bob.client = track(await reconnect(server.url, bob.device));
    expect(await alice.client.request('group.get', { groupId })).toEqual(before);
    const fetched = await bob.client.request('sync.fetch', {});
    expect(fetched.entries.at(-1)).toMatchObject({ seq, kind: 'message' });
    expect(await receive(bob, fetched.entries.at(-1) as LogEntry)).toBe('before the restart');
  });

  it('logs ids and counts, never message payloads', () => {
    expect(logs).toContain('"event":"group.commit"');
    for (const payload of payloads) {
      for (const encoded of [toBase64Url(payload), Buffer.from(payload).toString('base64'), toHex(payload)]) expect(logs.includes(encoded.slice(0, 40))).toBe(false);
    }
  });
});
