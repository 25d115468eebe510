/**
 * A user's new device learns a group's title from another device of theirs (issue #15): the
 * creator is offline, the new device joined by external commit, and the user's first device is
 * online. A device that was never told the title does not hand out its stand-in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDevice } from '../support/device.js';
import { startTestServer, type TestServer } from '../support/harness.js';

const PASSWORD = 'titles test password';

describe("a group's title on a new device", () => {
  let server: TestServer;
  const devices: TestDevice[] = [];

  async function device(username: string, how: 'register' | 'login'): Promise<TestDevice> {
    const created = await TestDevice.signIn(server, username, how, { password: PASSWORD, deviceName: `${username}-${devices.length + 1}` });
    devices.push(created);
    await created.messenger();
    return created;
  }
  const titles = async (of: TestDevice) => (await (await of.messenger()).conversations()).filter((c) => c.kind === 'group').map((c) => c.title);

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    for (const each of devices) each.close();
    await server.close();
  });

  it('comes from another device of the same user while the creator is offline, never as its stand-in', async () => {
    const carol = await device('carol', 'register');
    const alice = await device('alice', 'register');
    await (await carol.messenger()).createGroup('Book club', ['alice']);
    carol.close();
    await alice.receive();
    // Carol is a stranger to alice: her group is a message request until alice accepts it.
    expect(await alice.acceptRequests()).toEqual(['carol']);
    expect(await titles(alice)).toEqual(['Book club']);
    alice.close();

    // Two new devices join while every device that knows the title is offline.
    const second = await device('alice', 'login');
    await second.receive();
    expect(await titles(second)).toEqual(['group by carol']);
    const third = await device('alice', 'login');
    await third.receive();
    // The second sees the third join, but it was never told the title: it must not hand out its stand-in.
    await second.receive();

    // Alice's first device comes back, sees both join, and tells them the title.
    await alice.receive();
    expect(await titles(alice)).toEqual(['Book club']);
    await second.receive();
    await third.receive();
    expect(await titles(second)).toEqual(['Book club']);
    expect(await titles(third)).toEqual(['Book club']);
  });
});
