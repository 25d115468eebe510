/**
 * Scale-out end to end (DESIGN §12): two `parley serve` processes on different ports over one
 * PostgreSQL database and one Redis, sharing one key file, driven by real SDK clients. One node
 * is then killed outright (SIGKILL) in the middle of traffic.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ParleyClient } from '@parley/client';
import { weriftLinkFactory } from '@parley/client/node';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServeProcess, type ServeProcess } from '../support/cli.js';
import { TestDevice } from '../support/device.js';
import { startFront, type Front } from '../support/front.js';
import { tempDir } from '../support/harness.js';

const postgresUrl = process.env.PARLEY_TEST_POSTGRES_URL;
const redisUrl = process.env.PARLEY_TEST_REDIS_URL;
if (!postgresUrl || !redisUrl) throw new Error('scale-out.pg-redis.test.ts needs PARLEY_TEST_POSTGRES_URL and PARLEY_TEST_REDIS_URL (vitest.config.ts includes it only then)');

const PASSWORD = 'scale out test password';
/** Presence TTL given to the nodes: a killed node's users go offline within this plus a third of it. */
const PRESENCE_TTL_S = 2;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** What one client was pushed: messages (`sender: text`) and presence changes (`user online|offline`). */
function watch(client: ParleyClient) {
  const seen = { messages: [] as string[], presence: [] as string[] };
  client.onMessage((message) => seen.messages.push(`${message.sender}: ${message.text}`));
  client.onEvent((event) => {
    if (event.kind === 'presence') seen.presence.push(`${event.body.username} ${event.body.online ? 'online' : 'offline'}`);
  });
  return seen;
}

describe('two server nodes sharing PostgreSQL, Redis and a key file', () => {
  const dir = tempDir('scale-out');
  const suffix = randomBytes(6).toString('hex');
  // A database of its own for this run (migrations included), and a Redis namespace of its own.
  const database = `parley_e2e_${suffix}`;
  const namespace = `parley-e2e-${suffix}:`;
  const root = new pg.Pool({ connectionString: postgresUrl, max: 1 });
  root.on('error', () => undefined); // a backend ended by the teardown's forced drop is expected
  const nodes: ServeProcess[] = [];
  const fronts: Front[] = [];
  const devices: TestDevice[] = [];
  let node1: ServeProcess;
  let node2: ServeProcess;

  const serve = (name: string, databaseUrl: string) =>
    startServeProcess([
      ...['--port', '0', '--data', join(dir.path, name)],
      ...['--key-file', join(dir.path, 'shared', 'server-keys.json')],
      ...['--postgres', databaseUrl, '--redis', redisUrl, '--redis-namespace', namespace],
      ...['--presence-ttl', String(PRESENCE_TTL_S)],
    ]);

  async function account(username: string, server: { url: string }): Promise<TestDevice> {
    const device = new TestDevice(server);
    devices.push(device);
    await (await device.open()).register(username, PASSWORD, { deviceName: `${username}-1` });
    await device.messenger();
    return device;
  }

  async function front(node: ServeProcess): Promise<Front> {
    const started = await startFront(node);
    fronts.push(started);
    return started;
  }

  beforeAll(async () => {
    await root.query(`create database ${pg.escapeIdentifier(database)}`);
    const databaseUrl = new URL(postgresUrl);
    databaseUrl.pathname = `/${database}`;
    // Both at once: one creates the shared key file, the other uses it; one migrates, the other waits.
    [node1, node2] = await Promise.all([serve('node1', databaseUrl.href), serve('node2', databaseUrl.href)]);
    nodes.push(node1, node2);
  });

  afterAll(async () => {
    for (const device of devices) device.close();
    await Promise.all(fronts.map((started) => started.close()));
    await Promise.all(nodes.map((node) => (node.child.exitCode === null && node.child.signalCode === null ? node.stop() : undefined)));
    await root.query(`drop database if exists ${pg.escapeIdentifier(database)} with (force)`);
    await root.end();
    const redis = new Redis(redisUrl);
    const keys = await redis.keys(`${namespace}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    dir.remove();
  });

  let alice: TestDevice;
  let bob: TestDevice;
  let carol: TestDevice;
  let dave: TestDevice;
  let aliceFront: Front;
  let groupId: string;

  it('serves the same key from both nodes, from the one key file', () => {
    expect(node1.url).not.toBe(node2.url);
    expect(node1.fingerprint).toBe(node2.fingerprint);
  });

  it('alice on node 1 and bob on node 2 chat both ways, pushed live across nodes, and see each other online', async () => {
    // Alice reaches node 1 through a front door that can later move her; bob is on node 2.
    aliceFront = await front(node1);
    alice = await account('alice', aliceFront);
    bob = await account('bob', await front(node2));
    const aliceSees = watch(await alice.open());
    const bobSees = watch(await bob.open());

    await (await alice.messenger()).sendDirect('bob', 'hi bob, from node 1');
    await until('bob to be pushed alice’s message', () => bobSees.messages.length === 1);
    await (await bob.messenger()).sendDirect('alice', 'hi alice, from node 2');
    await until('alice to be pushed bob’s message', () => aliceSees.messages.length === 1);
    expect(bobSees.messages).toEqual(['alice: hi bob, from node 1']);
    expect(aliceSees.messages).toEqual(['bob: hi alice, from node 2']);

    expect(await (await alice.open()).onlineUsers()).toEqual(['alice', 'bob']);
    expect(await (await bob.open()).onlineUsers()).toEqual(['alice', 'bob']);

    // Bob's coming and going on node 2 is pushed to alice on node 1.
    bob.close();
    await until('alice to see bob go offline', () => aliceSees.presence.includes('bob offline'));
    expect(await (await alice.open()).onlineUsers()).toEqual(['alice']);
    await (await bob.open()).resume();
    await until('alice to see bob come back', () => aliceSees.presence.at(-1) === 'bob online');
    expect(await (await alice.open()).onlineUsers()).toEqual(['alice', 'bob']);
  });

  it('alice on node 1 and bob on node 2 go direct: the session set up on one node is answered and signalled through the other', async () => {
    const bobSessions = await (await bob.open()).direct({ links: weriftLinkFactory });
    const answered: string[] = [];
    bobSessions.answer(
      () => true,
      (session) => void answered.push(session.peer),
    );
    const session = await (await (await alice.open()).direct({ links: weriftLinkFactory })).open('bob');
    await session.opened;
    expect(answered).toEqual(['alice']);
    const bobSees = watch(await bob.open());
    expect((await session.send('over the channel, across nodes')).via).toBe('direct');
    await until('bob to get the direct message', () => bobSees.messages.length === 1);
    expect(bobSees.messages).toEqual(['alice: over the channel, across nodes']);
    await session.end();
  });

  it('a group spread over both nodes works', async () => {
    carol = await account('carol', node1);
    dave = await account('dave', node2);
    const daveSees = watch(await dave.open());
    const group = await (await alice.messenger()).createGroup('both nodes', ['bob', 'carol', 'dave']);
    groupId = group.groupId;
    // Alice is a stranger to carol and dave: they accept, which makes the members their contacts;
    // bob, her contact already, joined without a request and adds the others himself.
    for (const member of [carol, dave]) expect(await member.acceptRequests()).toEqual(['alice']);
    await (await bob.messenger()).addContacts(['carol', 'dave']);
    await bob.receive();

    const lines: string[] = [];
    for (const [name, member] of [['alice', alice], ['bob', bob], ['carol', carol], ['dave', dave]] as const) {
      const text = `${name} in the group`;
      await (await member.messenger()).sendToGroup(groupId, text);
      lines.push(`${name}: ${text}`);
    }
    // Carol's message went from node 1 to dave on node 2 as a push.
    await until('dave to be pushed carol’s message', () => daveSees.messages.includes('carol: carol in the group'));
    for (const member of [alice, bob, carol, dave]) {
      await member.receive();
      const history = await member.messages.listMessages(groupId);
      expect(history.map((m) => `${m.sender}: ${m.text}`)).toEqual(lines);
    }
    expect(await (await carol.open()).onlineUsers()).toEqual(['alice', 'bob', 'carol', 'dave']);
  });

  it('node 1 is killed mid-conversation: alice reconnects to node 2 and loses nothing; carol, left behind, goes offline', async () => {
    const bobClient = await bob.open();
    const bobSees = watch(bobClient);
    const directId = (await alice.messages.listConversations()).find((c) => c.kind === 'direct')?.groupId ?? '';
    const bobAcked: string[] = [];
    const aliceAcked: string[] = [];
    const aliceUnacked: string[] = [];
    /** Each side goes on sending until it has sent this many after the kill. */
    const AFTER_KILL = 6;
    let killed = false;

    // Bob (node 2) and alice (node 1, then node 2) send at the same time.
    const bobSends = (async () => {
      for (let i = 0, after = 0; after < AFTER_KILL; i++) {
        if (killed) after++;
        const text = `bob ${i}`;
        await (await bob.messenger()).sendDirect('alice', text);
        bobAcked.push(text);
        await sleep(20);
      }
    })();
    const aliceSends = (async () => {
      for (let i = 0, after = 0; after < AFTER_KILL; i++) {
        if (killed) after++;
        const text = `alice ${i}`;
        try {
          // After a loss, a fresh connection: the front door leads to node 2 by then.
          await (await alice.messenger()).sendDirect('bob', text);
          aliceAcked.push(text);
        } catch {
          // Not acknowledged: it may or may not have been stored, so it must arrive at most once.
          aliceUnacked.push(text);
          alice.close();
        }
        await sleep(20);
      }
    })();

    await until('some traffic', () => bobAcked.length >= 6 && aliceAcked.length >= 6);
    const killedAt = Date.now();
    expect(await node1.stop('SIGKILL')).toBeNull(); // killed by the signal, no exit code
    aliceFront.route(node2);
    killed = true;
    await Promise.all([bobSends, aliceSends]);

    // Carol was on node 1 only: node 2 expires node 1 and tells bob, within TTL + a heartbeat.
    await until('bob to see carol go offline', () => bobSees.presence.includes('carol offline'), 15_000);
    const latencyMs = Date.now() - killedAt;
    expect(latencyMs).toBeLessThan(PRESENCE_TTL_S * 1000 * (1 + 1 / 3) + 2_000);
    expect(await bobClient.onlineUsers()).toEqual(['alice', 'bob', 'dave']);
    expect(bobSees.presence).not.toContain('alice offline'); // she moved to node 2 before node 1 expired

    // Everything acknowledged arrives exactly once, in order; nothing unacknowledged twice.
    await alice.receive();
    await bob.receive();
    const aliceHistory = (await alice.messages.listMessages(directId)).map((m) => m.text ?? '<locked>');
    const bobHistory = (await bob.messages.listMessages(directId)).map((m) => m.text ?? '<locked>');
    expect(aliceHistory.filter((text) => text.startsWith('bob '))).toEqual(bobAcked);
    const fromAlice = bobHistory.filter((text) => text.startsWith('alice '));
    expect(fromAlice.filter((text) => aliceAcked.includes(text))).toEqual(aliceAcked);
    expect(new Set(fromAlice).size).toBe(fromAlice.length);
    for (const text of fromAlice) expect([...aliceAcked, ...aliceUnacked]).toContain(text);
    expect(aliceAcked.length).toBeGreaterThan(aliceUnacked.length);

    // Alice, now on node 2, still talks to the group; bob and dave (node 2) get it.
    await (await alice.messenger()).sendToGroup(groupId, 'alice, now on node 2');
    for (const member of [bob, dave]) {
      await member.receive();
      expect((await member.messages.listMessages(groupId)).at(-1)?.text).toBe('alice, now on node 2');
    }
  });
});
