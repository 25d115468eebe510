/**
 * DESIGN §11 in normal use: registering, adding a device and revoking it each append to the key
 * log, and every directory lookup the SDK makes is proven against a signed head that extends
 * the one it saw before (the SDK refuses anything else), so each client's head follows the log.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDevice } from '../support/device.js';
import { startTestServer, type TestServer } from '../support/harness.js';

const PASSWORD = 'transparency test password';

describe('the key-transparency log in normal use', () => {
  let server: TestServer;
  const devices: TestDevice[] = [];
  async function device(username: string, how: 'register' | 'login', name: string): Promise<TestDevice> {
    const signedIn = await TestDevice.signIn(server, username, how, { password: PASSWORD, deviceName: name });
    devices.push(signedIn);
    return signedIn;
  }
  /** What the server's database holds: the log's leaves, by user and event. */
  function storedLog(): string[] {
    const db = new Database(join(server.dataDir, 'parley.db'), { readonly: true });
    const rows = db.prepare('select username from key_log order by idx').all() as { username: string }[];
    db.close();
    return rows.map((row) => row.username);
  }
  const headSize = async (d: TestDevice) => (await d.messages.getTreeHead())?.size;

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    for (const d of devices) d.close();
    await server.close();
  });

  it('register, add a device, revoke it: every change is logged and every lookup proven', async () => {
    const phone = await device('alice', 'register', 'phone');
    const bob = await device('bob', 'register', 'bob');
    // Registration logs the identity key and the first device.
    expect(storedLog()).toEqual(['alice', 'alice', 'bob', 'bob']);

    await (await bob.messenger()).sendDirect('alice', 'hi alice');
    expect(await headSize(bob)).toBe(4);
    expect(await phone.acceptRequests()).toEqual(['bob']);
    expect(await headSize(phone)).toBe(4);

    const laptop = await device('alice', 'login', 'laptop');
    expect(storedLog()).toHaveLength(5);
    // Every sync looks the account itself up afresh: the phone checks the log grew by the laptop's leaf.
    await (await phone.messenger()).sync();
    expect(await headSize(phone)).toBe(5);
    const laptopId = (await (await laptop.open()).whoami()).deviceId;
    expect((await (await phone.open()).devices()).map((d) => d.name).sort()).toEqual(['laptop', 'phone']);

    await (await phone.open()).revokeDevice(laptopId);
    expect(storedLog()).toHaveLength(6);
    await (await phone.messenger()).sync();
    expect(await headSize(phone)).toBe(6);

    // Bob's next sync proves 4 → 6, and his messages still reach Alice.
    await (await bob.messenger()).sendDirect('alice', 'still here?');
    await (await bob.messenger()).sync();
    expect(await headSize(bob)).toBe(6);
    expect(await phone.receive()).toContain('bob: still here?');
    expect((await (await bob.messenger()).sync()).errors).toEqual([]);
  });
});
