/** The consent service over real SQLite: unknown users, caps, rate limit, and block checks. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { account, device } from '../storage/conformance.testkit.js';
import { openSqliteStorage, type Storage } from '../storage/index.js';
import { ConsentService } from './consent.js';

const alice = { username: 'alice', deviceId: 'alice-d1' };

describe('ConsentService', () => {
  let dir: string;
  let storage: Storage;
  let now: number;
  let consent: ConsentService;
  let mutual: string[];
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-consent-'));
    storage = await openSqliteStorage(join(dir, 'db'));
    for (const name of ['alice', 'bob', 'carol', 'dave']) await storage.createAccount(account(name), device(name, `${name}-d1`));
    now = 1_000_000;
    mutual = [];
    const presence = { mutualChanged: async (a: string, b: string, now: boolean) => void mutual.push(`${a}+${b} ${now ? 'mutual' : 'not mutual'}`) };
    consent = new ConsentService(storage, createLogger('silent'), presence, { maxContacts: 2, maxBlocks: 1, changesPerMinute: 8 }, () => now);
  });
  afterEach(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses unknown users and oneself, and caps both lists with LIMIT_REACHED', async () => {
    await expect(consent.add(alice, { username: 'nobody' })).rejects.toMatchObject({ code: 'UNKNOWN_USER' });
    await expect(consent.block(alice, { username: 'alice' })).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await consent.add(alice, { username: 'bob' });
    await consent.add(alice, { username: 'carol' });
    await expect(consent.add(alice, { username: 'dave' })).rejects.toMatchObject({ code: 'LIMIT_REACHED', message: /at most 2 contacts/ });
    await consent.block(alice, { username: 'dave' });
    await expect(consent.block(alice, { username: 'carol' })).rejects.toMatchObject({ code: 'LIMIT_REACHED', message: /at most 1 users/ });
    expect(await consent.list(alice)).toEqual({ contacts: ['bob', 'carol'], blocked: ['dave'] });
  });

  it('rate-limits changes per account, and lets them through again a minute later', async () => {
    for (let i = 0; i < 4; i++) {
      await consent.add(alice, { username: 'bob' });
      await consent.remove(alice, { username: 'bob' });
    }
    await expect(consent.add(alice, { username: 'bob' })).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    now += 60_000;
    await consent.add(alice, { username: 'bob' });
  });

  it('says who blocked a sender among the recipients, and whether two users are mutual contacts', async () => {
    await consent.block({ username: 'bob', deviceId: 'bob-d1' }, { username: 'alice' });
    await expect(consent.requireNotBlocked('alice', ['carol', 'bob', 'alice'])).rejects.toMatchObject({ code: 'BLOCKED', message: 'bob has blocked you' });
    await consent.requireNotBlocked('alice', ['carol', 'alice']);
    await consent.requireNotBlocked('bob', ['alice']);
    expect(await consent.blockersOf('alice')).toEqual(new Set(['bob']));
    await consent.add(alice, { username: 'carol' });
    expect(await consent.areMutualContacts('alice', 'carol')).toBe(false);
    await consent.add({ username: 'carol', deviceId: 'carol-d1' }, { username: 'alice' });
    expect(await consent.areMutualContacts('carol', 'alice')).toBe(true);
    // Presence hears when a pair becomes mutual and when it stops (a block ends it too), once each.
    await consent.add({ username: 'carol', deviceId: 'carol-d1' }, { username: 'alice' });
    await consent.block(alice, { username: 'carol' });
    await consent.remove(alice, { username: 'carol' });
    expect(mutual).toEqual(['carol+alice mutual', 'alice+carol not mutual']);
  });
});
