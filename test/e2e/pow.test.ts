/**
 * Adaptive proof of work before registration and login (DESIGN §10), light: a small flood of
 * login.start without proof of work raises the difficulty; unsolved starts get POW_REQUIRED with a
 * challenge; the SDK solves it, reporting progress; a solution is single-use and bound to its request.
 */
import { MemoryProfileStore, type PowProgress } from '@parley/client';
import { createHash } from 'node:crypto';
import { leadingZeroBits, opaqueClient, opaqueReady, powBinding, solvePow } from '@parley/crypto';
import { encodeCbor, encodeRequest, type PowChallengeWire, type ServerMessage } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metric, scrapeMetrics, waitFor } from '../support/abuse.js';
import { connectClient, startTestServer, type TestServer } from '../support/harness.js';
import { openRawChannel, type RawChannel } from '../support/raw-channel.js';

const PASSWORD = 'proof of work password';

function challengeOf(reply: ServerMessage): PowChallengeWire {
  if (reply.type !== 'reply' || reply.ok || reply.error.code !== 'POW_REQUIRED' || !reply.error.pow) throw new Error(`expected POW_REQUIRED with a challenge, got ${JSON.stringify(reply)}`);
  return reply.error.pow;
}

describe('adaptive proof of work', () => {
  let server: TestServer;
  let flood: RawChannel;
  let nextId = 1;
  const loginStart = (username: string, pow?: object) => {
    const { request } = opaqueClient.startLogin('whatever it is');
    flood.send(encodeRequest('login.start', nextId++, { username, request, ...(pow ? { pow } : {}) } as never));
    return { request, reply: flood.next() };
  };
  /**
   * Floods until an unsolved login.start is refused with at least `bits` of difficulty; returns
   * that challenge. Each start names another user: repeated failures for one account would make
   * that account's own proof of work rise instead.
   */
  const busy = async (bits: number): Promise<PowChallengeWire> => {
    let challenge: PowChallengeWire | undefined;
    await waitFor(async () => {
      const replies = await Promise.all(Array.from({ length: 6 }, () => loginStart(`flood-${nextId}`).reply));
      for (const reply of replies) if (reply.type === 'reply' && !reply.ok && (reply.error.pow?.difficulty ?? 0) >= bits) challenge = reply.error.pow;
      return challenge !== undefined;
    }, `the difficulty to reach ${bits} bits`);
    return challenge as PowChallengeWire;
  };

  beforeAll(async () => {
    await opaqueReady;
    server = await startTestServer({ powTargetPerSecond: 2, powMaxDifficulty: 10, connectionRequestsPerSecond: 1_000, strikeLimit: 1_000 });
    flood = await openRawChannel(server.url, 1, { localAddress: '127.0.0.20' });
    const setup = await connectClient(server);
    await setup.register('pow-user', PASSWORD);
    setup.close();
  });
  afterAll(async () => {
    flood.ws.close();
    await server.close();
  });

  it('asks nothing while quiet, then refuses unsolved logins with POW_REQUIRED as a flood raises the difficulty', async () => {
    expect(await loginStart('pow-user').reply).toMatchObject({ ok: true });
    expect((await busy(2)).context).toBe('login');
    const metrics = await scrapeMetrics(server.url);
    expect(metric(metrics, 'parley_pow_difficulty', { context: 'login' })).toBeGreaterThanOrEqual(2);
    expect(metric(metrics, 'parley_pow_difficulty', { context: 'register' })).toBe(0);
    expect(metric(metrics, 'parley_request_errors_total', { code: 'POW_REQUIRED' })).toBeGreaterThanOrEqual(1);
  });

  it('lets the SDK solve transparently and report progress', async () => {
    await busy(3); // at most halved (to 1 bit) by the time the SDK asks
    const progress: PowProgress[] = [];
    const client = await connectClient(server, new MemoryProfileStore());
    const session = await client.login('pow-user', PASSWORD, { onPowProgress: (update) => progress.push(update) });
    expect(session.username).toBe('pow-user');
    expect(progress[0]).toMatchObject({ context: 'login', tried: 0, done: false });
    expect(progress.at(-1)).toMatchObject({ context: 'login', done: true });
    expect(progress.at(-1)?.expected).toBe(2 ** (progress.at(-1)?.difficulty ?? 0));
    client.close();
    expect(metric(await scrapeMetrics(server.url), 'parley_pow_verdicts_total', { context: 'login', result: 'ok' })).toBeGreaterThanOrEqual(1);
  });

  it('takes a solution once, only for the request it was solved for', async () => {
    const challenge = await busy(1);
    const { request } = opaqueClient.startLogin('another guess');
    const counter = await solvePow(challenge, powBinding('login.start', 'pow-user', request));
    const pow = { ...challenge, counter };
    const send = (username: string) => {
      flood.send(encodeRequest('login.start', nextId++, { username, request, pow }));
      return flood.next();
    };
    expect(await send('pow-user')).toMatchObject({ ok: true });
    expect(await send('pow-user')).toMatchObject({ ok: false, error: { code: 'POW_REQUIRED', message: expect.stringMatching(/already used/) as string } });
    // The same solution for another username is not one: it was bound to the request it was solved for.
    const fresh = await busy(1);
    const solvedFor = { ...fresh, counter: await solvePow(fresh, powBinding('login.start', 'pow-user', request)) };
    // At a low difficulty a counter may happen to suit another request too: pick a username it does not suit.
    const suits = (username: string) => leadingZeroBits(createHash('sha256').update(encodeCbor([fresh.mac, powBinding('login.start', username, request), solvedFor.counter])).digest()) >= fresh.difficulty;
    let other = 0;
    while (suits(`someone-${other}`)) other++;
    flood.send(encodeRequest('login.start', nextId++, { username: `someone-${other}`, request, pow: solvedFor }));
    expect(challengeOf(await flood.next()).context).toBe('login');
    const metrics = await scrapeMetrics(server.url);
    expect(metric(metrics, 'parley_pow_verdicts_total', { result: 'replayed' })).toBe(1);
    expect(metric(metrics, 'parley_strikes_total', { reason: 'bad_pow' })).toBeGreaterThanOrEqual(1);
  });

  it('registration has its own difficulty, and the SDK answers it too', async () => {
    const raw = await openRawChannel(server.url, 1, { localAddress: '127.0.0.21' });
    let id = 1;
    await waitFor(async () => {
      const replies = await Promise.all(
        Array.from({ length: 6 }, () => {
          raw.send(encodeRequest('register.start', id, { username: `flood-${id++}`, request: opaqueClient.startRegistration('x'.repeat(12)).request }));
          return raw.next();
        }),
      );
      return replies.some((reply) => reply.type === 'reply' && !reply.ok && reply.error.code === 'POW_REQUIRED');
    }, 'registration to need proof of work');
    raw.ws.close();
    const progress: PowProgress[] = [];
    const client = await connectClient(server);
    const registration = await client.register('pow-newcomer', PASSWORD, { onPowProgress: (update) => progress.push(update) });
    expect(registration.username).toBe('pow-newcomer');
    expect(progress.at(-1)).toMatchObject({ context: 'register', done: true });
    client.close();
  });
});
