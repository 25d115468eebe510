/**
 * Issue #11 §1: one group's trouble never breaks the others. A hostile member adds a device of
 * its own whose leaf shows the certificate of another of its devices (same key, certified twice),
 * one the group does not route. Honest members see a leaf of an unrouted device and tidy it away,
 * declaring no routing change, which the server (that knows the leaf as the routed device) refuses.
 * The victim's sync still succeeds: the refusal is one error of that group, shown once.
 */
import { ErrorCode } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDevice } from '../support/device.js';
import { startTestServer, type TestServer } from '../support/harness.js';
import { Attacker, honestUser, parleyCredential } from './kit.js';

describe('a leaf that names another device than the one it was added as', () => {
  let server: TestServer;
  let victim: TestDevice;
  let friend: TestDevice;
  const attackers: Attacker[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    [victim, friend] = await Promise.all([honestUser(server, 'victim'), honestUser(server, 'friend')]);
  });
  afterAll(async () => {
    for (const attacker of attackers) attacker.close();
    victim.close();
    friend.close();
    await server.close();
  });

  it('costs the victim one error of that group, not its sync', async () => {
    const mallory = await Attacker.register(server, 'mallory');
    const ghost = await mallory.addDevice('mallory-ghost');
    const twin = await mallory.addDevice('mallory-twin', { keys: ghost.device.keys, identity: parleyCredential(ghost.device) });
    attackers.push(mallory, ghost, twin);
    const group = await mallory.createGroup();
    await group.addUser('victim');
    // The victim accepts Mallory's group (a stranger's is a request, into which it commits nothing): a member turned hostile.
    expect((await (await victim.messenger()).sync()).errors).toEqual([]);
    await (await victim.messenger()).acceptRequest('mallory');
    const [keyPackage] = await twin.uploadKeyPackages(1);
    await group.commit(await group.adding([keyPackage?.keyPackage ?? new Uint8Array()]), { add: [twin.ref] });

    const first = await (await victim.messenger()).sync();
    expect(first.errors).toEqual([expect.objectContaining({ code: ErrorCode.INVALID_COMMIT, message: expect.stringMatching(/mallory-twin/) })]);
    // Shown once: while the group stays as it is, later syncs do not try again.
    expect((await (await victim.messenger()).sync()).errors).toEqual([]);
    await (await victim.messenger()).sendDirect('friend', 'my sync still works');
    expect(await friend.receive()).toEqual(['victim: my sync still works']);
  });
});
