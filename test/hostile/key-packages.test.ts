/**
 * Issue #11 §6: a KeyPackage drain. Claiming a user's KeyPackages over and over, from one account
 * or several, would use up the one-time ones and leave everyone the reused last-resort one. Claims
 * against one user are limited per claimer and in total per minute, with a clear RATE_LIMITED.
 */
import { join } from 'node:path';
import { defaultKeyPackageServiceOptions } from '@parley/server';
import Database from 'better-sqlite3';
import { ErrorCode } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDevice } from '../support/device.js';
import { startTestServer, type TestServer } from '../support/harness.js';
import { Attacker, honestUser } from './kit.js';

const { claimsPerTargetPerClaimer, claimsPerTarget } = defaultKeyPackageServiceOptions;

describe('a KeyPackage drain', () => {
  let server: TestServer;
  let bob: TestDevice;
  let stock: number;
  /** Bob's one-time KeyPackages on the server, read from its database. */
  const bobsKeyPackages = (): number => {
    const db = new Database(join(server.dataDir, 'parley.db'), { readonly: true });
    const { n } = db.prepare("select count(*) as n from key_packages where username = 'bob' and last_resort = 0").get() as { n: number };
    db.close();
    return n;
  };
  const attackers: Attacker[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    bob = await honestUser(server, 'bob');
    stock = bobsKeyPackages();
    attackers.push(...(await Promise.all(['mallory', 'mallory2', 'mallory3'].map((name) => Attacker.register(server, name)))));
  });
  afterAll(async () => {
    bob.close();
    for (const attacker of attackers) attacker.close();
    await server.close();
  });

  /** Claims bob `times` times; how many got a KeyPackage, and the first refusal. */
  async function drain(attacker: Attacker, times: number): Promise<{ claimed: number; refusal: Error | undefined }> {
    let claimed = 0;
    for (let i = 0; i < times; i++) {
      try {
        claimed += (await attacker.request('keys.claim', { username: 'bob' })).devices.length;
      } catch (error) {
        return { claimed, refusal: error as Error };
      }
    }
    return { claimed, refusal: undefined };
  }

  it('is cut off per claimer, then for everyone, with RATE_LIMITED and a time to retry', async () => {
    const [mallory, mallory2, mallory3] = attackers as [Attacker, Attacker, Attacker];
    const first = await drain(mallory, stock);
    expect(first.claimed).toBe(claimsPerTargetPerClaimer);
    expect(first.refusal).toMatchObject({ code: ErrorCode.RATE_LIMITED, message: expect.stringMatching(/for bob from this account/), details: { retryAfterMs: expect.any(Number) } });
    // More accounts get bob's total allowance for the minute, and no more.
    const second = await drain(mallory2, stock);
    const third = await drain(mallory3, stock);
    expect(first.claimed + second.claimed + third.claimed).toBe(claimsPerTarget);
    expect(third.refusal).toMatchObject({ code: ErrorCode.RATE_LIMITED, message: expect.stringMatching(/for bob right now/) });
    expect(stock).toBeGreaterThan(claimsPerTarget);
    expect(bobsKeyPackages()).toBe(stock - claimsPerTarget);
  });
});
