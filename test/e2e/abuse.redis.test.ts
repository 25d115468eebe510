/**
 * Abuse state shared between nodes through Redis (DESIGN §10, §12): an address banned on one
 * node is refused by the other, a proof-of-work solution spent on one cannot be spent again on
 * the other, and failed proofs for an account on one make the other ask proof of work for it.
 * Two in-process nodes share a Redis namespace and a key file.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { opaqueClient, opaqueReady, powBinding, solvePow } from '@parley/crypto';
import { encodeRequest } from '@parley/protocol';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metric, scrapeMetrics, waitFor } from '../support/abuse.js';
import { startTestServer, tempDir, type TestServer } from '../support/harness.js';
import { openRawChannel, openSocket } from '../support/raw-channel.js';

const redisUrl = process.env.PARLEY_TEST_REDIS_URL;
if (!redisUrl) throw new Error('abuse.redis.test.ts needs PARLEY_TEST_REDIS_URL (vitest.config.ts includes it only then)');

describe('abuse state shared through Redis', () => {
  const dir = tempDir('abuse-redis');
  const shared = { redisUrl, redisNamespace: `parley-e2e-abuse-${randomBytes(6).toString('hex')}:`, keyFile: join(dir.path, 'server-keys.json'), strikeLimit: 3, accountFailureLimit: 2 };
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    await opaqueReady;
    a = await startTestServer({ ...shared, dataDir: join(dir.path, 'a') });
    b = await startTestServer({ ...shared, dataDir: join(dir.path, 'b') });
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
    dir.remove();
  });

  it('refuses on one node an address the other banned, at the upgrade, with 403 and Retry-After', async () => {
    for (let i = 0; i < 3; i++) {
      const { ws, closed } = await openSocket(a.url, { localAddress: '127.0.0.40' });
      ws.send(Buffer.from('not a handshake'));
      await closed;
    }
    const response = await new Promise<{ status: number; retryAfter: string | undefined; error: string | undefined }>((resolve, reject) => {
      const ws = new WebSocket(`${b.url.replace('http', 'ws')}/v1/ws`, { localAddress: '127.0.0.40' });
      ws.on('unexpected-response', (_request, res) => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], error: res.headers['x-parley-error'] as string | undefined }));
      ws.on('open', () => reject(new Error('node b let a banned address in')));
      ws.on('error', () => undefined);
    });
    expect(response).toMatchObject({ status: 403, error: 'BANNED' });
    expect(Number(response.retryAfter)).toBeGreaterThan(500);
    expect(metric(await scrapeMetrics(b.url), 'parley_connections_refused_total', { stage: 'upgrade', reason: 'banned' })).toBe(1);
    // And once it knows, node b cuts that address at accept.
    await expect(openSocket(b.url, { localAddress: '127.0.0.40' })).rejects.toThrow();
  });

  it('takes a proof-of-work solution from either node once', async () => {
    const onA = await openRawChannel(a.url, 1, { localAddress: '127.0.0.41' });
    const onB = await openRawChannel(b.url, 1, { localAddress: '127.0.0.41' });
    onA.send(encodeRequest('pow.challenge', 1, { context: 'login' }));
    const reply = await onA.next();
    if (reply.type !== 'reply' || !reply.ok) throw new Error('no challenge');
    const { challenge } = reply.body as { challenge: Parameters<typeof solvePow>[0] & { context: 'login' } };
    const { request } = opaqueClient.startLogin('a password');
    const pow = { ...challenge, counter: await solvePow(challenge, powBinding('login.start', 'nobody', request)) };
    onB.send(encodeRequest('login.start', 2, { username: 'nobody', request, pow }));
    expect(await onB.next()).toMatchObject({ ok: true });
    onA.send(encodeRequest('login.start', 3, { username: 'nobody', request, pow }));
    expect(await onA.next()).toMatchObject({ ok: false, error: { code: 'POW_REQUIRED', message: expect.stringMatching(/already used/) as string } });
    onA.ws.close();
    onB.ws.close();
  });

  it("prices an account's proofs on one node after failed ones on the other", async () => {
    // Three addresses, one abandoned guess each on node a: no address reaches the strike limit.
    for (let host = 42; host < 45; host++) {
      const guesser = await openRawChannel(a.url, 1, { localAddress: `127.0.0.${host}` });
      guesser.send(encodeRequest('login.start', 1, { username: 'shared-victim', request: opaqueClient.startLogin(`guess ${host}`).request }));
      expect(await guesser.next()).toMatchObject({ ok: true });
      guesser.ws.close();
      await guesser.closed;
    }
    // The failures are counted as the guessers' connections close: ask from a fresh address until then.
    let host = 45;
    await waitFor(async () => {
      const onB = await openRawChannel(b.url, 1, { localAddress: `127.0.0.${host++}` });
      onB.send(encodeRequest('recover.start', 1, { username: 'shared-victim', request: opaqueClient.startRegistration('x').request }));
      const reply = await onB.next();
      onB.ws.close();
      return reply.type === 'reply' && !reply.ok && reply.error.code === 'POW_REQUIRED' && (reply.error.pow?.difficulty ?? 0) >= 10;
    }, "node b to ask proof of work for the account's proofs");
  });
});
