/**
 * Issue #11: a stranger who puts the victim in many groups must not multiply the victim's
 * requests. A new device of the victim finds groups of its account it holds no state for; each
 * with no contact of the victim's is left alone (DESIGN §6 consent), which takes asking the
 * server for the contact list: once per sync, not once per group.
 */
import type { OpName } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/harness.js';
import { TestDevice } from '../support/device.js';
import { Attacker, HONEST_PASSWORD, honestUser } from './kit.js';

const GROUPS = 6;

describe("a stranger's many groups and the victim's new device", () => {
  let server: TestServer;
  let victim: TestDevice;
  let mallory: Attacker;

  beforeAll(async () => {
    server = await startTestServer();
    victim = await honestUser(server, 'victim');
    mallory = await Attacker.register(server, 'mallory');
    // Mallory adds the victim's first device to group after group, with one KeyPackage (the device never opens the Welcomes).
    const [device] = (await mallory.request('keys.claim', { username: 'victim' })).devices;
    if (!device) throw new Error('no KeyPackage of the victim');
    for (let i = 0; i < GROUPS; i++) {
      const group = await mallory.createGroup();
      await group.commit(await group.adding([device.keyPackage]), { add: [{ username: 'victim', deviceId: device.deviceId }] });
    }
  });
  afterAll(async () => {
    victim.close();
    mallory.close();
    await server.close();
  });

  it('asks for the contact list once in a sync, and joins none of the groups', async () => {
    const laptop = new TestDevice(server);
    const client = await laptop.open();
    await client.login('victim', HONEST_PASSWORD, { deviceName: 'victim-laptop' });
    const ops: OpName[] = [];
    client.onRequest((op) => ops.push(op));
    const messenger = await laptop.messenger();
    await messenger.sync();
    expect(ops.filter((op) => op === 'contacts.list')).toHaveLength(1);
    expect(ops.filter((op) => op === 'group.rejoin')).toEqual([]);
    expect(await messenger.conversations()).toEqual([]);
    laptop.close();
  });
});
