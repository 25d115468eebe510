import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ConversationEvent } from '@parley/client';
import { groupMetadata, processMessage } from '@parley/crypto';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDevice } from '../support/device.js';
import { startTestServer, type TestServer } from '../support/harness.js';

const PASSWORD = 'messaging test password';

describe('end-to-end encrypted conversations', () => {
  let server: TestServer;
  const devices: TestDevice[] = [];
  const texts: string[] = [];

  async function account(username: string): Promise<TestDevice> {
    const device = new TestDevice(server);
    devices.push(device);
    await (await device.open()).register(username, PASSWORD, { deviceName: `${username}-1` });
    await device.messenger();
    return device;
  }
  /** Register several accounts at once, typed as a tuple so each is known to exist. */
  async function accounts<const N extends readonly string[]>(...names: N): Promise<{ -readonly [K in keyof N]: TestDevice }> {
    return (await Promise.all(names.map(account))) as { -readonly [K in keyof N]: TestDevice };
  }
  async function state(device: TestDevice, groupId: string): Promise<Uint8Array> {
    const conversation = await device.messages.getConversation(groupId);
    if (!conversation) throw new Error(`no conversation ${groupId}`);
    return conversation.state;
  }
  async function secondDevice(username: string): Promise<TestDevice> {
    const device = new TestDevice(server);
    devices.push(device);
    await (await device.open()).login(username, PASSWORD, { deviceName: `${username}-2` });
    await device.messenger();
    return device;
  }
  const say = (text: string) => {
    texts.push(text);
    return text;
  };

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    for (const device of devices) device.close();
    await server.close();
  });

  it('alice and bob chat both ways; offline bob gets everything on reconnect, once each, in order', async () => {
    const alice = await account('alice');
    const bob = await account('bob');
    await (await alice.messenger()).sendDirect('bob', say('hi bob'));
    expect(await bob.receive()).toEqual(['alice: hi bob']);
    await (await bob.messenger()).sendDirect('alice', say('hi alice'));
    expect(await alice.receive()).toEqual(['bob: hi alice']);

    bob.close();
    const sent = Array.from({ length: 12 }, (_, i) => say(`while you were away ${i}`));
    for (const text of sent) await (await alice.messenger()).sendDirect('bob', text);
    expect(await bob.receive()).toEqual(sent.map((text) => `alice: ${text}`));
    expect(await bob.receive()).toEqual([]);
    const history = await bob.messages.listMessages((await bob.messages.listConversations())[0]?.groupId ?? '');
    expect(history.map((m) => m.text)).toEqual(['hi bob', 'hi alice', ...sent]);
    expect(new Set(history.map((m) => m.seq)).size).toBe(history.length);
  });

  it('pushes messages to online devices without polling', async () => {
    const carol = await account('carol');
    const dave = await account('dave');
    const arrived = new Promise<string>((resolve) => {
      void dave.open().then((client) => client.onMessage((message) => resolve(`${message.sender}: ${message.text}`)));
    });
    await (await carol.messenger()).sendDirect('dave', say('pushed to dave'));
    await expect(arrived).resolves.toBe('carol: pushed to dave');
  });

  it('a group of four with one user on two devices: every device gets every message', async () => {
    const [erin, frank, grace, heidi] = await accounts('erin', 'frank', 'grace', 'heidi');
    const heidi2 = await secondDevice('heidi');
    const all = [erin, frank, grace, heidi, heidi2] as TestDevice[];
    const group = await (await erin.messenger()).createGroup('four', ['frank', 'grace', 'heidi']);
    // Erin is a stranger to them: each accepts her request; heidi's second device learns of heidi's acceptance at its sync.
    for (const device of [frank, grace, heidi]) expect(await device.acceptRequests()).toEqual(['erin']);
    for (const device of all.slice(1)) await device.receive();
    const lines: string[] = [];
    for (const [index, device] of all.entries()) {
      const text = say(`hello from device ${index}`);
      await (await device.messenger()).sendToGroup(group.groupId, text);
      lines.push(`${['erin', 'frank', 'grace', 'heidi', 'heidi'][index]}: ${text}`);
    }
    for (const [index, device] of all.entries()) {
      const received = await device.receive();
      const history = await device.messages.listMessages(group.groupId);
      expect(history.map((m) => `${m.sender}: ${m.text}`)).toEqual(lines);
      expect(received.length).toBeLessThanOrEqual(lines.length - (index === 0 ? 1 : 0));
    }
    const conversation = await heidi2.messages.getConversation(group.groupId);
    expect(conversation?.title).toBe('four');
  });

  it('after a removal the removed member cannot read later messages and is no longer routed to', async () => {
    const [ivan, judy, mallory] = await accounts('ivan', 'judy', 'mallory');
    const group = await (await ivan.messenger()).createGroup('secret', ['judy', 'mallory']);
    await judy.receive();
    await mallory.receive();
    const before = await mallory.messages.getConversation(group.groupId);
    await (await ivan.messenger()).removeFromGroup('secret', ['mallory']);
    const after = say('mallory must not read this');
    await (await ivan.messenger()).sendToGroup('secret', after);
    // Even with the ciphertext in hand (taken from the server's database before judy acknowledges it),
    // mallory's state from before the removal cannot open it.
    const db = new Database(join(server.dataDir, 'parley.db'), { readonly: true });
    const rows = db.prepare("select payload from group_log where group_id = ? and kind = 'message' order by seq desc limit 1").all(Buffer.from(group.groupId, 'base64url')) as { payload: Buffer }[];
    db.close();
    expect(rows.length).toBe(1);
    await expect(processMessage(before?.state ?? new Uint8Array(), new Uint8Array(rows[0]?.payload ?? []), async () => true)).rejects.toMatchObject({ name: 'CryptoError' });
    expect(await judy.receive()).toEqual([`ivan: ${after}`]);
    expect(await mallory.receive()).toEqual([]);
    const malloryView = await mallory.messages.getConversation(group.groupId);
    expect(malloryView?.active).toBe(false);
    expect(await mallory.messages.listMessages(group.groupId)).toEqual([]);
    const { summary } = await (await ivan.messenger()).groupSummary('secret');
    expect(summary.members.map((m) => m.username)).not.toContain('mallory');
  });

  it('a member leaves: no longer routed, removed from the tree by the others, who keep talking', async () => {
    const [yara, zack, abel] = await accounts('yara', 'zack', 'abel');
    const group = await (await yara.messenger()).createGroup('leavers', ['zack', 'abel']);
    await zack.acceptRequests();
    await abel.acceptRequests();
    const before = await state(abel, group.groupId);
    await (await abel.messenger()).leaveGroup(group.groupId);
    expect((await abel.messages.getConversation(group.groupId))?.active).toBe(false);
    // Zack (not an admin) processes the notice and commits abel's removal; yara follows.
    await zack.receive();
    await yara.receive();
    const members = async (device: TestDevice) => groupMetadata(await state(device, group.groupId)).members.length;
    expect([await members(yara), await members(zack)]).toEqual([2, 2]);
    await (await yara.messenger()).sendToGroup(group.groupId, say('just us now'));
    // Read the ciphertext before zack acknowledges it (acknowledged entries are deleted).
    const db = new Database(join(server.dataDir, 'parley.db'), { readonly: true });
    const rows = db.prepare("select payload from group_log where group_id = ? and kind = 'message' order by seq desc limit 1").all(Buffer.from(group.groupId, 'base64url')) as { payload: Buffer }[];
    db.close();
    expect(rows).toHaveLength(1);
    await expect(processMessage(before, new Uint8Array(rows[0]?.payload ?? []), async () => true)).rejects.toMatchObject({ name: 'CryptoError' });
    expect(await zack.receive()).toEqual(['yara: just us now']);
    expect(await abel.receive()).toEqual([]);
  });

  it('reports what a commit changed in membership (by whom, which devices) and who announced leaving', async () => {
    const [pia, quin, rolf, sven, tove] = await accounts('pia', 'quin', 'rolf', 'sven', 'tove');
    const group = await (await pia.messenger()).createGroup('roster', ['quin', 'rolf', 'sven']);
    await Promise.all([quin.receive(), rolf.receive(), sven.receive()]);
    // Members of a group they accepted: leaving a request that was never accepted says nothing.
    for (const device of [quin, rolf, sven]) expect(await device.acceptRequests()).toEqual(['pia']);
    const changes: Extract<ConversationEvent, { kind: 'changed' }>[] = [];
    (await quin.messenger()).onEvent((event) => {
      if (event.kind === 'changed' && event.conversation === group.groupId) changes.push(event);
    });

    await (await pia.messenger()).removeFromGroup(group.groupId, ['rolf']);
    await quin.receive();
    expect(changes.at(-1)).toMatchObject({ membership: { by: 'pia', added: [], removed: [{ username: 'rolf' }] }, seq: expect.any(Number) });

    await (await pia.messenger()).addToGroup(group.groupId, ['tove']);
    await quin.receive();
    const toveDevice = (await tove.open()).currentSession?.deviceId;
    expect(changes.at(-1)).toMatchObject({ membership: { by: 'pia', added: [{ username: 'tove', deviceId: toveDevice }], removed: [] } });

    await (await sven.messenger()).leaveGroup(group.groupId);
    await quin.receive();
    expect(changes.some((event) => event.departed === 'sven')).toBe(true);
  });

  it('two admins commit at once: one wins, the other retries; all end in the same epoch and can talk', async () => {
    const [kim, leo, mia, ned] = await accounts('kim', 'leo', 'mia', 'ned');
    const group = await (await kim.messenger()).createGroup('race', ['leo']);
    await leo.acceptRequests();
    await (await kim.messenger()).promote('race', 'leo');
    await Promise.all([(await kim.messenger()).addToGroup(group.groupId, ['mia']), (await leo.messenger()).addToGroup(group.groupId, ['ned'])]);
    for (const device of [kim, leo, mia, ned]) await device.acceptRequests();
    const epochs = await Promise.all([kim, leo, mia, ned].map(async (device) => groupMetadata(await state(device, group.groupId)).epoch));
    expect(new Set(epochs).size).toBe(1);
    await (await ned.messenger()).sendToGroup(group.groupId, say('ned made it'));
    for (const device of [kim, leo, mia]) expect(await device.receive()).toContain('ned: ned made it');
  });

  it("refuses a non-admin's add", async () => {
    const [olga, pete] = await accounts('olga', 'pete');
    await account('quinn');
    const group = await (await olga.messenger()).createGroup('closed', ['pete']);
    // Until pete accepts, his client refuses to commit anything into olga's request.
    await pete.receive();
    await expect((await pete.messenger()).addToGroup(group.groupId, ['quinn'])).rejects.toMatchObject({ code: 'REQUEST_PENDING' });
    await pete.acceptRequests();
    await expect((await pete.messenger()).addToGroup(group.groupId, ['quinn'])).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('a device that lost its group state rejoins by external commit and receives new messages', async () => {
    const [rita, sam] = await accounts('rita', 'sam');
    await (await rita.messenger()).sendDirect('sam', say('before the loss'));
    await sam.acceptRequests();
    sam.close();
    sam.messages = new (sam.messages.constructor as new () => typeof sam.messages)();
    expect(await sam.receive()).toEqual([]);
    const conversations = await sam.messages.listConversations();
    expect(conversations.map((c) => c.peer)).toEqual(['rita']);
    await (await rita.messenger()).sendDirect('sam', say('after the loss'));
    expect(await sam.receive()).toEqual(['rita: after the loss']);
  });

  it('reports what a device missed past its backlog quota, then catches up and keeps reading', async () => {
    const quotaServer = await startTestServer({ deviceBacklogQuota: 3 });
    try {
      const sender = new TestDevice(quotaServer);
      const reader = new TestDevice(quotaServer);
      devices.push(sender, reader);
      await (await sender.open()).register('quota-sender', PASSWORD);
      await (await reader.open()).register('quota-reader', PASSWORD);
      const group = await (await sender.messenger()).createGroup('busy', ['quota-reader']);
      await reader.acceptRequests();
      reader.close();
      for (let i = 0; i < 6; i++) await (await sender.messenger()).sendToGroup(group.groupId, say(`busy ${i}`));
      const { messages, gaps } = await (await reader.messenger()).sync();
      expect(gaps).toHaveLength(1);
      expect(gaps[0]).toMatchObject({ reason: 'quota' });
      expect(messages.map((m) => m.text)).toEqual(['busy 3', 'busy 4', 'busy 5']);
      expect((await (await reader.messenger()).sync()).gaps).toEqual([]);
      await (await sender.messenger()).sendToGroup(group.groupId, say('after the gap'));
      expect(await reader.receive()).toEqual(['quota-sender: after the gap']);

      // This time the dropped entries include a commit: the reader's state falls behind an epoch
      // it can never reach, so it rejoins by external commit and reads on.
      const third = new TestDevice(quotaServer);
      devices.push(third);
      await (await third.open()).register('quota-third', PASSWORD);
      reader.close();
      await (await sender.messenger()).addToGroup(group.groupId, ['quota-third']);
      for (let i = 0; i < 5; i++) await (await sender.messenger()).sendToGroup(group.groupId, say(`busier ${i}`));
      const after = await (await reader.messenger()).sync();
      expect(after.gaps.map((gap) => gap.reason)).toEqual(['quota']);
      await (await sender.messenger()).sendToGroup(group.groupId, say('after the rejoin'));
      expect(await reader.receive()).toEqual(['quota-sender: after the rejoin']);
    } finally {
      await quotaServer.close();
    }
  });

  it('shows online users who are mutual contacts: not before the other accepts', async () => {
    const [tina, uma] = await accounts('tina', 'uma');
    await account('victor');
    await (await tina.messenger()).sendDirect('uma', say('are you there'));
    await uma.receive();
    expect(await (await tina.open()).onlineUsers()).toEqual(['tina']);
    await uma.acceptRequests();
    const online = await (await tina.open()).onlineUsers();
    expect(online).toContain('uma');
    expect(online).not.toContain('victor');
  });

  it('loses nothing across a server restart', async () => {
    const [wade, xena] = await accounts('wade', 'xena');
    await (await wade.messenger()).sendDirect('xena', say('before restart'));
    xena.close();
    const port = server.port;
    await server.close();
    server = await startTestServer({ dataDir: server.dataDir, port });
    for (const device of devices) device.close();
    await (await wade.messenger()).sendDirect('xena', say('after restart'));
    expect(await xena.receive()).toEqual(['wade: before restart', 'wade: after restart']);
  });

  it('the database and logs contain none of the texts', async () => {
    expect(texts.length).toBeGreaterThan(20);
    const files = readdirSync(server.dataDir).filter((name) => name.startsWith('parley.db'));
    const stored = Buffer.concat(files.map((name) => readFileSync(join(server.dataDir, name))));
    const logs = Buffer.from(server.logs());
    for (const text of texts) {
      expect(stored.includes(Buffer.from(text))).toBe(false);
      expect(logs.includes(Buffer.from(text))).toBe(false);
    }
  });
});
