import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryProfileStore, type ParleyClient } from '@parley/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, startTestServer, tempDir, type TestServer } from '../support/harness.js';

const PASSWORD = 'correct horse battery';

describe('accounts and devices over the SDK', () => {
  let server: TestServer;
  const open: ParleyClient[] = [];
  const connect = async (store = new MemoryProfileStore()) => {
    const client = await connectClient(server, store);
    open.push(client);
    return client;
  };

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    for (const client of open) client.close();
    await server.close();
  });

  it('registers, then logs in from a second profile as a second device; whoami on both', async () => {
    const phone = new MemoryProfileStore();
    const first = await connect(phone);
    const registration = await first.register('Alice', PASSWORD, { deviceName: 'phone' });
    expect(registration.username).toBe('alice');
    expect(registration.recoveryKey).toMatch(/^([0-9A-Z]{4}-){7}[0-9A-Z]{4}$/);

    const laptop = new MemoryProfileStore();
    const second = await connect(laptop);
    const login = await second.login('alice', PASSWORD, { deviceName: 'laptop' });
    expect(login.deviceId).not.toBe(registration.deviceId);

    const phoneAgain = await connect(phone);
    const laptopAgain = await connect(laptop);
    // Two calls at once on a fresh connection share one device authentication.
    const [a, b, again] = await Promise.all([phoneAgain.whoami(), laptopAgain.whoami(), phoneAgain.whoami()]);
    expect(again).toEqual(a);
    expect(a).toMatchObject({ username: 'alice', deviceId: registration.deviceId });
    expect(b).toMatchObject({ username: 'alice', deviceId: login.deviceId });
    expect(a.identityKey).toEqual(b.identityKey);
    const devices = await laptopAgain.devices();
    expect(devices.map((d) => [d.name, d.current])).toEqual([['phone', false], ['laptop', true]]);
  });

  it('answers a wrong password and an unknown user with the same AUTH_FAILED; a duplicate with USERNAME_TAKEN', async () => {
    await (await connect()).register('bob', PASSWORD);
    const wrong = (await connect()).login('bob', 'not the password');
    await expect(wrong).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    const unknown = (await connect()).login('nobody-here', PASSWORD);
    await expect(unknown).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    await expect((await connect()).register('BOB', PASSWORD)).rejects.toMatchObject({ code: 'USERNAME_TAKEN' });
    await expect((await connect()).register('b', PASSWORD)).rejects.toMatchObject({ code: 'INVALID_USERNAME' });
  });

  it('a logged-out or revoked device can no longer reconnect', async () => {
    const phone = new MemoryProfileStore();
    await (await connect(phone)).register('carol', PASSWORD, { deviceName: 'phone' });
    const laptop = new MemoryProfileStore();
    const laptopDevice = await (await connect(laptop)).login('carol', PASSWORD, { deviceName: 'laptop' });
    const tablet = new MemoryProfileStore();
    await (await connect(tablet)).login('carol', PASSWORD, { deviceName: 'tablet' });

    // A stolen copy of the laptop's keys, taken before it is revoked.
    const stolen = new MemoryProfileStore();
    await stolen.saveAccount((await laptop.load()).account, await laptop.loadSecrets());

    const live = await connect(laptop);
    await live.whoami();
    const closed = new Promise((resolve) => live.onClose(resolve));
    await (await connect(phone)).revokeDevice(laptopDevice.deviceId);
    await expect(closed).resolves.toMatchObject({ code: 'DEVICE_REVOKED' });
    await expect((await connect(stolen)).whoami()).rejects.toMatchObject({ code: 'DEVICE_REVOKED' });

    const tabletCopy = new MemoryProfileStore();
    await tabletCopy.saveAccount((await tablet.load()).account, await tablet.loadSecrets());
    await (await connect(tablet)).logout();
    await expect((await connect(tablet)).whoami()).rejects.toMatchObject({ code: 'NOT_LOGGED_IN' });
    await expect((await connect(tabletCopy)).whoami()).rejects.toMatchObject({ code: 'DEVICE_REVOKED' });

    await (await connect(phone)).logout({ all: true });
    await expect((await connect(new MemoryProfileStore())).login('carol', PASSWORD)).resolves.toMatchObject({ username: 'carol' });
  });

  it('refuses a changed server key for a pinned profile unless told the new fingerprint', async () => {
    const store = new MemoryProfileStore();
    await (await connect(store)).register('dave', PASSWORD);
    const other = await startTestServer({ dataDir: tempDir('other').path });
    try {
      // Same origin, different key: simulate by pinning the first server's key under the second's origin.
      const pins = (await store.load()).pins;
      await store.savePins({ [new URL(other.url).origin]: pins[new URL(server.url).origin] as string });
      await expect(connectClient(other, store)).rejects.toMatchObject({ code: 'SERVER_KEY_CHANGED' });
      const accepted = await connectClient(other, store, { serverKey: other.fingerprint });
      expect(accepted.serverFingerprint).toBe(other.fingerprint);
      accepted.close();
      const again = await connectClient(other, store);
      again.close();
    } finally {
      await other.close();
    }
  });

  it('resumes at another address of the same server (same key), but not at a different server', async () => {
    const dataDir = tempDir('moving').path;
    const first = await startTestServer({ dataDir });
    const store = new MemoryProfileStore();
    const registering = await connectClient(first, store);
    await registering.register('frank-moves', PASSWORD);
    registering.close();
    await first.close();
    const second = await startTestServer({ dataDir }); // same data and key, another port
    try {
      const moved = await connectClient(second, store, { serverKey: second.fingerprint });
      expect((await moved.whoami()).username).toBe('frank-moves');
      moved.close();
      const stranger = await connectClient(server, store);
      await expect(stranger.whoami()).rejects.toMatchObject({ code: 'NOT_LOGGED_IN' });
      stranger.close();
    } finally {
      await second.close();
    }
  });

  it('keeps neither passwords nor private keys in the database or the logs', async () => {
    const store = new MemoryProfileStore();
    await (await connect(store)).register('erin', 'erins very secret password');
    const secrets = await store.loadSecrets();
    expect(secrets).toBeDefined();
    const needles = [
      Buffer.from('erins very secret password'),
      Buffer.from(secrets?.identityPrivateKey ?? []),
      Buffer.from(secrets?.devicePrivateKey ?? []),
    ];
    const files = readdirSync(server.dataDir).filter((name) => name.startsWith('parley.db'));
    expect(files.length).toBeGreaterThan(0);
    for (const name of files) {
      const bytes = readFileSync(join(server.dataDir, name));
      for (const needle of needles) expect(bytes.includes(needle)).toBe(false);
    }
    const logs = Buffer.from(server.logs());
    for (const needle of needles) {
      expect(logs.includes(needle)).toBe(false);
      expect(logs.includes(Buffer.from(needle.toString('base64url')))).toBe(false);
    }
  });
});
