/**
 * How many requests the message path costs (issue #10's targets), counted at the connection of a
 * real client against a real server: a pushed message needs none to show and one acknowledgement;
 * a hole before a pushed entry costs one ranged fetch; a one-shot send to an existing
 * conversation needs at most three requests after the handshake. The counts are printed.
 */
import type { Message, ParleyClient } from '@parley/client';
import type { OpName } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDevice } from '../support/device.js';
import { startTestServer, type TestServer } from '../support/harness.js';

const PASSWORD = 'request counts password';

/** Every request `client` sends from now on, by op. */
function countRequests(client: ParleyClient): { ops: OpName[]; report(what: string): string } {
  const ops: OpName[] = [];
  client.onRequest((op) => ops.push(op));
  return { ops, report: (what) => `${what}: ${ops.length} requests ${JSON.stringify(ops)}` };
}

/** Resolves with each of the next `count` messages pushed to `client`, and the requests it had sent when each arrived. */
function nextMessages(client: ParleyClient, count: number, ops: OpName[]): Promise<{ message: Message; requestsBefore: OpName[] }[]> {
  const arrived: { message: Message; requestsBefore: OpName[] }[] = [];
  return new Promise((resolve, reject) => {
    const stop = client.onMessage((message) => {
      arrived.push({ message, requestsBefore: [...ops] });
      if (arrived.length === count) {
        stop();
        resolve(arrived);
      }
    }, reject);
  });
}

describe('requests on the message path', () => {
  let server: TestServer;
  const devices: TestDevice[] = [];
  let alice: TestDevice;
  let bob: TestDevice;

  beforeAll(async () => {
    server = await startTestServer();
    alice = new TestDevice(server);
    bob = new TestDevice(server);
    devices.push(alice, bob);
    await (await alice.open()).register('alice', PASSWORD);
    await (await bob.open()).register('bob', PASSWORD);
    await (await alice.messenger()).sendDirect('bob', 'hello bob');
    await bob.receive();
    await (await bob.messenger()).sendDirect('alice', 'hello alice');
    await alice.receive();
  });
  afterAll(async () => {
    for (const device of devices) device.close();
    await server.close();
  });

  it('a pushed message takes no request to show and one acknowledgement, also right after an own message', async () => {
    const client = await bob.open();
    const messenger = await bob.messenger();
    // Bob's app listens all along, so bob is live: pushes keep him current.
    const stopListening = client.onConversationEvent(() => undefined);
    const counted = countRequests(client);
    const first = nextMessages(client, 1, counted.ops);
    await (await alice.messenger()).sendDirect('bob', 'pushed');
    const [arrival] = await first;
    expect(arrival?.message).toMatchObject({ sender: 'alice', text: 'pushed' });
    expect(arrival?.requestsBefore).toEqual([]);
    await messenger.settled();
    console.info(counted.report('a pushed message, shown and acknowledged'));
    expect(counted.ops).toEqual(['sync.ack']);

    // Bob answers (live: no catching up first); alice's reply comes right after bob's own entry.
    counted.ops.length = 0;
    await messenger.sendDirect('alice', 'an answer');
    expect(counted.ops).toEqual(['group.send']);
    counted.ops.length = 0;
    const reply = nextMessages(client, 1, counted.ops);
    await (await alice.messenger()).sendDirect('bob', 'a reply');
    expect((await reply)[0]?.requestsBefore).toEqual([]);
    await messenger.settled();
    expect(counted.ops).toEqual(['sync.ack']);
    stopListening();
  });

  it('fills a hole before a pushed entry with one ranged fetch, and shows both messages in order', async () => {
    // A second device of bob, not listening yet: the push of the first message goes unheeded.
    const laptop = new TestDevice(server);
    devices.push(laptop);
    await (await laptop.open()).login('bob', PASSWORD);
    await laptop.receive();
    await alice.receive();
    await (await alice.messenger()).sendDirect('bob', 'while not listening');
    const client = await laptop.open();
    const counted = countRequests(client);
    const both = nextMessages(client, 2, counted.ops);
    await (await alice.messenger()).sendDirect('bob', 'while listening');
    const arrived = await both;
    expect(arrived.map(({ message }) => message.text)).toEqual(['while not listening', 'while listening']);
    await (await laptop.messenger()).settled();
    console.info(counted.report('a pushed message after a hole, shown and acknowledged'));
    expect(counted.ops).toEqual(['sync.fetch', 'sync.ack']);
    expect(await laptop.receive()).toEqual([]);
  });

  it('a one-shot send to an existing conversation takes at most 3 requests after the handshake', async () => {
    // A fresh connection over the same stores, as a new run of `parley send` has.
    alice.close();
    const client = await alice.open();
    const counted = countRequests(client);
    await (await alice.messenger()).sendDirect('bob', 'one shot');
    console.info(counted.report('a one-shot send to an existing conversation'));
    expect(counted.ops).toEqual(['device.auth', 'sync.fetch', 'group.send']);
    expect((await bob.receive()).at(-1)).toEqual('alice: one shot');
  });
});
