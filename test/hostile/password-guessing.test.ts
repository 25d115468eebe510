/**
 * Online password guessing (issue #11 §5), by a client of the attacker's own over raw requests.
 * With OPAQUE the guesser learns from a start's reply whether its guess was right, and never has
 * to finish: so every proof that is replaced, abandoned or failed counts as a failed attempt,
 * against the address (strikes, then a ban) and against the account (its proofs then need proof
 * of work that grows with each failure, so guessing gets dear while the owner still gets in).
 */
import { MemoryProfileStore, type PowProgress } from '@parley/client';
import { opaqueClient, opaqueReady } from '@parley/crypto';
import { CloseCode } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metric, scrapeMetrics, waitFor } from '../support/abuse.js';
import { TestDevice } from '../support/device.js';
import { connectClient, startTestServer, type TestServer } from '../support/harness.js';
import { openDeviceSession, openRawSession, requestSolving } from '../support/raw-requests.js';

const PASSWORD = 'correct horse battery';
const STRIKE_LIMIT = 10;

/** Guess `n` of a list in which only number `rightAt` is the password. */
const guess = (n: number, rightAt: number) => (n === rightAt ? PASSWORD : `wrong guess ${n}`);

/** Whether an OPAQUE start's reply says the guess was right: the client-side check a guesser makes. */
function guessedRight(state: string, password: string, username: string, response: Uint8Array): boolean {
  try {
    opaqueClient.finishLogin(state, password, username, response);
    return true;
  } catch {
    return false;
  }
}

describe('online password guessing', () => {
  let server: TestServer;
  const devices: TestDevice[] = [];
  async function registered(username: string): Promise<TestDevice> {
    const device = new TestDevice(server);
    devices.push(device);
    await (await device.open()).register(username, PASSWORD);
    return device;
  }

  beforeAll(async () => {
    await opaqueReady;
    // Load-based proof of work stays off (a high target): these tests are about the per-account
    // escalation, and the guessing bursts above would otherwise raise the whole server's difficulty
    // for as long as a loaded machine takes to let it decay.
    server = await startTestServer({ strikeLimit: STRIKE_LIMIT, banMs: 60_000, accountFailureLimit: 5, powAccountMaxDifficulty: 12, powTargetPerSecond: 10_000 });
  });
  afterAll(async () => {
    for (const device of devices) device.close();
    await server.close();
  });

  it('alternating a wrong-password login.start with recover.start is banned within the strike limit', async () => {
    await registered('victim-one');
    const attacker = await openRawSession(server.url, '127.0.0.50');
    let guesses = 0;
    let found = false;
    for (let n = 1; n <= 60 && attacker.closedWith === undefined && !found; n++) {
      const login = opaqueClient.startLogin(guess(n, 40));
      const reply = await requestSolving(attacker, 'login.start', 'victim-one', { username: 'victim-one', request: login.request });
      if (!reply.ok) break;
      guesses++;
      found = guessedRight(login.state, guess(n, 40), 'victim-one', reply.body.response);
      // A recovery started in between used to wipe the pending login without a trace.
      await requestSolving(attacker, 'recover.start', 'victim-one', { username: 'victim-one', request: opaqueClient.startRegistration('whatever').request });
    }
    await waitFor(() => attacker.closedWith !== undefined, 'the guesser to be cut off', 2_000).catch(() => undefined);
    expect(found).toBe(false);
    expect(attacker.closedWith).toBe(CloseCode.BANNED);
    expect(guesses).toBeLessThanOrEqual(STRIKE_LIMIT);
    expect(metric(await scrapeMetrics(server.url), 'parley_strikes_total', { reason: 'auth_failed' })).toBeGreaterThanOrEqual(STRIKE_LIMIT);
  });

  it('replacing password.verify.start on a signed-in connection counts every guess', async () => {
    const victim = await registered('victim-two');
    // Someone holding the victim's unlocked device tries to learn the password, to take the account for good.
    const thief = await openDeviceSession(server.url, victim.profile, '127.0.0.51');
    let guesses = 0;
    let found = false;
    for (let n = 1; n <= 40 && thief.closedWith === undefined && !found; n++) {
      const proof = opaqueClient.startLogin(guess(n, 39));
      const reply = await requestSolving(thief, 'password.verify.start', 'victim-two', { request: proof.request });
      if (!reply.ok) break;
      guesses++;
      found = guessedRight(proof.state, guess(n, 39), 'victim-two', reply.body.response);
    }
    await waitFor(() => thief.closedWith !== undefined, 'the guesser to be cut off', 2_000).catch(() => undefined);
    expect(found).toBe(false);
    expect(thief.closedWith).toBe(CloseCode.BANNED);
    // The ban lands while the reply to the guess that reached the limit is on its way.
    expect(guesses).toBeLessThanOrEqual(STRIKE_LIMIT + 1);
  });

  it('failures from many addresses make proofs for that account cost proof of work, and the owner still logs in', async () => {
    await registered('victim-three');
    const failedBefore = metric(await scrapeMetrics(server.url), 'parley_strikes_total', { reason: 'auth_failed' });
    // Six addresses, one wrong guess each: far below any address's strike limit.
    for (let host = 60; host < 66; host++) {
      const guesser = await openRawSession(server.url, `127.0.0.${host}`);
      const login = opaqueClient.startLogin(`guess from host ${host}`);
      const reply = await requestSolving(guesser, 'login.start', 'victim-three', { username: 'victim-three', request: login.request });
      expect(reply.ok).toBe(true);
      guesser.close(); // the guess was wrong: give up without login.finish
      await guesser.raw.closed;
    }
    await waitFor(async () => metric(await scrapeMetrics(server.url), 'parley_strikes_total', { reason: 'auth_failed' }) >= failedBefore + 6, 'six failed logins');

    // A seventh address must now pay before the server does any OPAQUE work for this account.
    const fresh = await openRawSession(server.url, '127.0.0.66');
    const unsolved = await fresh.request('login.start', { username: 'victim-three', request: opaqueClient.startLogin('next guess').request });
    expect(unsolved).toMatchObject({ ok: false, error: { code: 'POW_REQUIRED', pow: { context: 'login' } } });
    const asked = 'error' in unsolved ? (unsolved.error.pow?.difficulty ?? 0) : 0;
    expect(asked).toBeGreaterThanOrEqual(10);
    expect(asked).toBeLessThanOrEqual(12);
    // Other accounts are untouched.
    await registered('bystander');
    expect(await fresh.request('login.start', { username: 'bystander', request: opaqueClient.startLogin('x').request })).toMatchObject({ ok: true });
    fresh.close();

    // The owner is never locked out: the SDK pays the proof of work and logs in.
    const progress: PowProgress[] = [];
    const owner = await connectClient(server, new MemoryProfileStore());
    await expect(owner.login('victim-three', PASSWORD, { onPowProgress: (update) => progress.push(update) })).resolves.toMatchObject({ username: 'victim-three' });
    expect(progress.at(-1)).toMatchObject({ context: 'login', done: true });
    expect(progress.at(-1)?.difficulty).toBeGreaterThanOrEqual(10);
    owner.close();
  });
});
