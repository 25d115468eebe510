/**
 * Issue #11 §6: a drained user's last-resort KeyPackage. Once the one-time KeyPackages are gone
 * (here deleted from the server's database, as a drain over time would leave them), claims get
 * the last-resort one, which the server hands out again and again. The victim's client notices
 * when a Welcome used it and uploads a new one with a fresh batch; a Welcome to the old one that
 * was already on its way still opens.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDevice } from '../support/device.js';
import { startTestServer, type TestServer } from '../support/harness.js';
import { Attacker, honestUser } from './kit.js';

describe('the last-resort KeyPackage', () => {
  let server: TestServer;
  let victim: TestDevice;
  let mallory: Attacker;
  const db = () => new Database(join(server.dataDir, 'parley.db'));
  /** The victim's KeyPackages on the server: one-time ones, and the last-resort one's bytes. */
  const stock = (): { oneTime: number; lastResort: Buffer | undefined } => {
    const handle = db();
    try {
      const { n } = handle.prepare("select count(*) as n from key_packages where username = 'victim' and last_resort = 0").get() as { n: number };
      const row = handle.prepare("select key_package as kp from key_packages where username = 'victim' and last_resort = 1").get() as { kp: Buffer } | undefined;
      return { oneTime: n, lastResort: row?.kp };
    } finally {
      handle.close();
    }
  };

  beforeAll(async () => {
    server = await startTestServer();
    [victim, mallory] = await Promise.all([honestUser(server, 'victim'), Attacker.register(server, 'mallory')]);
  });
  afterAll(async () => {
    victim.close();
    mallory.close();
    await server.close();
  });

  it('is replaced as soon as a Welcome used it, and a Welcome to the old one still opens', async () => {
    const drained = db();
    drained.prepare("delete from key_packages where username = 'victim' and last_resort = 0").run();
    drained.close();
    const before = stock();
    expect(before).toEqual({ oneTime: 0, lastResort: expect.any(Buffer) });

    // Two claims, both answered with the last-resort KeyPackage, for two groups.
    const claims = [await mallory.request('keys.claim', { username: 'victim' }), await mallory.request('keys.claim', { username: 'victim' })];
    for (const { devices } of claims) {
      const group = await mallory.createGroup();
      await group.addClaimed('victim', devices);
    }

    expect((await (await victim.messenger()).sync()).errors).toEqual([]);
    expect((await victim.messages.listConversations()).filter((c) => c.active)).toHaveLength(2);
    const after = stock();
    expect(after.oneTime).toBe(20);
    expect(after.lastResort).toBeDefined();
    expect(after.lastResort?.equals(before.lastResort ?? Buffer.alloc(0))).toBe(false);
  });
});
