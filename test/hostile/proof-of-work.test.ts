/**
 * Proof of work against a client that games it (issue #11 §6): challenges farmed while the server
 * is quiet must not pass once it is under load; asking for challenges must not itself raise the
 * difficulty for everyone; and recovery and password checks sit behind the same gate as login.
 */
import { MemoryProfileStore } from '@parley/client';
import { opaqueClient, opaqueReady, powBinding, solvePow } from '@parley/crypto';
import type { PowChallengeWire } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metric, scrapeMetrics, waitFor } from '../support/abuse.js';
import { TestDevice } from '../support/device.js';
import { connectClient, startTestServer, type TestServer } from '../support/harness.js';
import { openDeviceSession, openRawSession, type RawSession } from '../support/raw-requests.js';

const PASSWORD = 'proof of work password';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('proof of work against a client that games it', () => {
  let server: TestServer;
  let flooder: RawSession;
  let recoveryKey: string;
  const owner = { device: undefined as TestDevice | undefined };
  let floods = 0;

  /** Unsolved login.starts, each for a name of its own, until the login difficulty is at least `bits`. */
  async function loadUntil(bits: number): Promise<void> {
    await waitFor(async () => {
      const replies = await Promise.all(
        Array.from({ length: 6 }, () => flooder.request('login.start', { username: `nobody-${floods++}`, request: opaqueClient.startLogin('x').request })),
      );
      return replies.some((reply) => !reply.ok && 'error' in reply && (reply.error.pow?.difficulty ?? 0) >= bits);
    }, `the login difficulty to reach ${bits} bits`);
  }
  const difficulty = async () => metric(await scrapeMetrics(server.url), 'parley_pow_difficulty', { context: 'login' });

  beforeAll(async () => {
    await opaqueReady;
    server = await startTestServer({ powTargetPerSecond: 2, powMaxDifficulty: 8, connectionRequestsPerSecond: 1_000, strikeLimit: 1_000 });
    flooder = await openRawSession(server.url, '127.0.0.70');
    owner.device = new TestDevice(server);
    ({ recoveryKey } = await (await owner.device.open()).register('pow-owner', PASSWORD));
  });
  afterAll(async () => {
    owner.device?.close();
    flooder.close();
    await server.close();
  });

  it('asking for challenges does not raise the difficulty', async () => {
    const asker = await openRawSession(server.url, '127.0.0.71');
    for (let second = 0; second < 3; second++) {
      const replies = await Promise.all(Array.from({ length: 20 }, () => asker.request('pow.challenge', { context: 'login' })));
      for (const reply of replies) expect(reply).toMatchObject({ ok: true, body: { challenge: { difficulty: 0 } } });
      await sleep(1_050);
    }
    expect(await difficulty()).toBe(0);
    asker.close();
  });

  it('refuses a solution to a challenge farmed while quiet once the difficulty has risen', async () => {
    await waitFor(async () => (await difficulty()) === 0, 'a quiet server');
    const farmed: PowChallengeWire[] = [];
    for (let i = 0; i < 3; i++) {
      const reply = await flooder.request('pow.challenge', { context: 'login' });
      if (!reply.ok) throw new Error('no challenge');
      farmed.push(reply.body.challenge);
    }
    expect(farmed.every((challenge) => challenge.difficulty === 0)).toBe(true);
    await loadUntil(3);
    const login = opaqueClient.startLogin('a guess');
    const counter = await solvePow(farmed[0] as PowChallengeWire, powBinding('login.start', 'pow-owner', login.request));
    const replay = await flooder.request('login.start', { username: 'pow-owner', request: login.request, pow: { ...(farmed[0] as PowChallengeWire), counter } });
    expect(replay).toMatchObject({ ok: false, error: { code: 'POW_REQUIRED', message: expect.stringMatching(/difficulty/) as string } });
    expect(('error' in replay && replay.error.pow?.difficulty) || 0).toBeGreaterThanOrEqual(2);
  });

  it('puts recover.start and password.verify.start behind the same proof of work as login', async () => {
    await loadUntil(2);
    const stranger = await openRawSession(server.url, '127.0.0.72');
    const recovery = await stranger.request('recover.start', { username: 'pow-owner', request: opaqueClient.startRegistration('new password here').request });
    expect(recovery).toMatchObject({ ok: false, error: { code: 'POW_REQUIRED', pow: { context: 'login' } } });
    stranger.close();

    if (!owner.device) throw new Error('no owner');
    const signedIn = await openDeviceSession(server.url, owner.device.profile, '127.0.0.73');
    const check = await signedIn.request('password.verify.start', { request: opaqueClient.startLogin(PASSWORD).request });
    expect(check).toMatchObject({ ok: false, error: { code: 'POW_REQUIRED', pow: { context: 'login' } } });
    signedIn.close();

    // The SDK solves both by itself.
    await loadUntil(2);
    await expect((await owner.device.open()).changePassword(PASSWORD, 'a changed password')).resolves.toMatchObject({ username: 'pow-owner' });
    await loadUntil(2);
    const replacement = await connectClient(server, new MemoryProfileStore());
    await expect(replacement.recover('pow-owner', recoveryKey, 'a recovered password')).resolves.toMatchObject({ username: 'pow-owner' });
    replacement.close();
    expect(metric(await scrapeMetrics(server.url), 'parley_pow_verdicts_total', { context: 'login', result: 'ok' })).toBeGreaterThanOrEqual(2);
  });
});
