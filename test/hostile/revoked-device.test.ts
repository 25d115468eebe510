/**
 * Issue #11 §6: clients refuse a device certificate that the directory shows as revoked. The owner
 * of an account revokes a device, then certifies its key again under a new device id and adds
 * that new device to a group with a leaf that still carries the revoked device's certificate. The
 * server sees an active device's key; honest clients see a revoked credential and refuse it.
 */
import { ErrorCode } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDevice } from '../support/device.js';
import { startTestServer, type TestServer } from '../support/harness.js';
import { Attacker, honestUser, parleyCredential } from './kit.js';

describe('a revoked device’s credential', () => {
  let server: TestServer;
  let victim: TestDevice;
  let friend: TestDevice;
  const attackers: Attacker[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    [victim, friend] = await Promise.all([honestUser(server, 'victim'), honestUser(server, 'friend')]);
    await (await victim.messenger()).sendDirect('friend', 'hello');
    expect(await friend.receive()).toEqual(['victim: hello']);
  });
  afterAll(async () => {
    for (const attacker of attackers) attacker.close();
    victim.close();
    friend.close();
    await server.close();
  });

  it('in a new commit is refused; the victim cannot follow that group, and everything else works', async () => {
    const mallory = await Attacker.register(server, 'mallory');
    const old = await mallory.addDevice('mallory-old');
    attackers.push(mallory, old);
    await mallory.request('device.revoke', { deviceId: 'mallory-old' });

    const group = await mallory.createGroup();
    await group.addUser('victim');
    expect((await (await victim.messenger()).sync()).errors).toEqual([]);
    // The victim accepts Mallory's group (a stranger's is a request, never rejoined): a member turned hostile.
    await (await victim.messenger()).acceptRequest('mallory');

    // The revoked device's key, certified again; its leaf shows the revoked device's certificate.
    const revenant = await mallory.addDevice('mallory-revenant', { keys: old.device.keys, identity: parleyCredential(old.device) });
    attackers.push(revenant);
    const [keyPackage] = await revenant.uploadKeyPackages(1);
    await group.commit(await group.adding([keyPackage?.keyPackage ?? new Uint8Array()]), { add: [revenant.ref] });

    const { errors } = await (await victim.messenger()).sync();
    expect(errors.map((error) => error.code)).toEqual([ErrorCode.UNREADABLE_ENTRY, ErrorCode.GROUP_BROKEN]);
    expect(errors[0]?.message).toMatch(/credential was rejected/);
    await (await victim.messenger()).sendDirect('friend', 'still fine');
    expect(await friend.receive()).toEqual(['victim: still fine']);
  });
});
