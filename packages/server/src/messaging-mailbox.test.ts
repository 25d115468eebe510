/**
 * The MLS Delivery Service end to end, delivery: an offline member catching up from its mailbox
 * and the group's log, deletion once everyone acknowledged, paging large entries, keeping all
 * across a restart, and logs that never hold a payload (DESIGN §6, §7).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { addMembers } from '@parley/crypto';
import { toBase64Url, toHex, type LogEntry } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anyCredential, MessagingKit, type Member } from './messaging.testkit.js';

describe('messaging over the wire: mailbox, log and restart', () => {
  const kit = new MessagingKit();
  const { groupId, payloads } = kit;
  let alice: Member;
  let bob: Member;
  let carol: Member;

  // Alice and Bob share the group at epoch 1; Carol has KeyPackages to be added with.
  beforeAll(async () => {
    await kit.start();
    [alice, bob, carol] = (await kit.users('alice', 'bob', 'carol')) as [Member, Member, Member];
    await kit.upload(bob, 2);
    await kit.upload(carol, 2);
    await kit.createGroup(alice);
    await kit.add(alice, bob, 0);
  });
  afterAll(() => kit.close());

  it('lets an offline member catch up in order after reconnecting; entries everyone acknowledged are deleted', async () => {
    carol.client.close();
    await carol.client.closed;
    const carols = await kit.claimOne(alice, 'carol');
    const add = await addMembers(alice.state, alice.device.member, [carols.keyPackage], anyCredential);
    const { seq: addedAt } = await alice.client.request('group.commit', {
      groupId,
      epoch: 1,
      commit: add.commit,
      groupInfo: add.groupInfo,
      welcome: add.welcome,
      add: [{ username: 'carol', deviceId: carol.device.deviceId }],
      remove: [],
    });
    alice.state = add.pendingState;
    await kit.receive(bob, await bob.client.nextEvent('message'));
    const sent = [];
    for (const message of ['one', 'two', 'three']) sent.push(await kit.send(alice, message, 2));

    await kit.reconnect(carol);
    const fetched = await carol.client.request('sync.fetch', {});
    expect(fetched.mailbox.map((m) => [m.kind, m.seq])).toEqual([['welcome', addedAt]]);
    expect(fetched.entries.map((e) => e.seq)).toEqual(sent);
    await kit.joinFrom(carol, fetched.mailbox[0]?.payload as Uint8Array);
    const texts = [];
    for (const entry of fetched.entries) texts.push(await kit.receive(carol, entry));
    expect(texts).toEqual(['one', 'two', 'three']);

    const last = sent[2] as number;
    await carol.client.request('sync.ack', { mailbox: fetched.mailbox.map((m) => m.id), cursors: [{ groupId, seq: last }] });
    expect(await carol.client.request('sync.fetch', {})).toEqual({ mailbox: [], entries: [], gaps: [], more: false });
    for (const entry of bob.client.takeEvents('message')) await kit.receive(bob, entry);
    for (const member of [alice, bob]) {
      const { mailbox } = await member.client.request('sync.fetch', {});
      await member.client.request('sync.ack', { mailbox: mailbox.map((m) => m.id), cursors: [{ groupId, seq: last }] });
    }
    const db = new Database(join(kit.dataDir, 'parley.db'), { readonly: true });
    const remaining = db.prepare('select count(*) as n from group_log where group_id = ?').get(Buffer.from(groupId)) as { n: number };
    const mailboxRows = db.prepare('select count(*) as n from mailbox').get() as { n: number };
    db.close();
    expect(remaining.n).toBe(0);
    expect(mailboxRows.n).toBe(0);
  });

  it('pages large entries over several fetches, each reply within one envelope', async () => {
    const big = [];
    for (let i = 0; i < 3; i++) {
      const seq = await kit.send(alice, `${i}`.repeat(300_000), 2);
      big.push(seq);
      const pushed = await bob.client.nextEvent('message');
      expect(pushed.seq).toBe(seq);
      expect(await kit.receive(bob, pushed)).toHaveLength(300_000);
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
    const seq = await kit.send(alice, 'before the restart', 2);
    await bob.client.nextEvent('message');
    const before = await alice.client.request('group.get', { groupId });
    await kit.server.close();
    await kit.start();
    await kit.reconnect(alice);
    await kit.reconnect(bob);
    expect(await alice.client.request('group.get', { groupId })).toEqual(before);
    const fetched = await bob.client.request('sync.fetch', {});
    expect(fetched.entries.at(-1)).toMatchObject({ seq, kind: 'message' });
    expect(await kit.receive(bob, fetched.entries.at(-1) as LogEntry)).toBe('before the restart');
  });

  it('logs ids and counts, never message payloads', () => {
    expect(kit.logs).toContain('"event":"group.commit"');
    for (const payload of payloads) {
      for (const encoded of [toBase64Url(payload), Buffer.from(payload).toString('base64'), toHex(payload)]) expect(kit.logs.includes(encoded.slice(0, 40))).toBe(false);
    }
  });
});
