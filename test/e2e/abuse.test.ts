/**
 * Abuse defences, light (DESIGN §10): deadlines, strikes and bans, limits, all counted in /metrics.
 * Attackers connect from other loopback addresses (127.0.0.x) than the honest clients (127.0.0.1),
 * so they are different hosts to the server. The heavy versions are in test/dos.
 */
import { MemoryProfileStore } from '@parley/client';
import { channelAuthMessage, sign } from '@parley/crypto';
import { CloseCode, encodeRequest } from '@parley/protocol';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedAfter, metric, openIdleSocket, rawConnect, refused, scrapeMetrics, waitFor } from '../support/abuse.js';
import { TestDevice } from '../support/device.js';
import { connectClient, socketFactoryFrom, startTestServer, type TestServer } from '../support/harness.js';
import { openRawChannel, openSocket } from '../support/raw-channel.js';

const PASSWORD = 'abuse test password';

describe('deadlines, strikes and bans', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ handshakeTimeoutMs: 400, upgradeTimeoutMs: 300, headersTimeoutMs: 300, strikeLimit: 5, banMs: 60_000 });
  });
  afterAll(async () => {
    await server.close();
  });

  it('closes sockets that upgrade and never speak at the handshake deadline, bans their address, and serves others meanwhile', async () => {
    const idle = await Promise.all(Array.from({ length: 12 }, () => openIdleSocket(server.url, '127.0.0.2')));
    const honest = connectClient(server).then(async (client) => {
      const registration = await client.register('honest-one', PASSWORD);
      client.close();
      return registration.username;
    });
    const closes = await Promise.all(idle.map((socket) => socket.closed));
    // The first strikes close sockets for the deadline; the ban closes the rest of that address's at once.
    for (const { code, afterMs } of closes) {
      expect([CloseCode.HANDSHAKE_TIMEOUT, CloseCode.BANNED]).toContain(code);
      expect(afterMs).toBeGreaterThan(300);
      expect(afterMs).toBeLessThan(2_000);
    }
    expect(closes.filter(({ code }) => code === CloseCode.HANDSHAKE_TIMEOUT).length).toBeGreaterThanOrEqual(5);
    expect(await honest).toBe('honest-one');
    expect(await refused(server.url, '127.0.0.2')).toBe(true);
    expect(await refused(server.url, '127.0.0.1')).toBe(false);
    const metrics = await scrapeMetrics(server.url);
    expect(metric(metrics, 'parley_connections_closed_total', { reason: 'handshake_timeout' })).toBeGreaterThanOrEqual(5);
    expect(metric(metrics, 'parley_strikes_total', { reason: 'handshake_timeout' })).toBeGreaterThanOrEqual(5);
    expect(metric(metrics, 'parley_bans_total')).toBe(1);
    expect(metric(metrics, 'parley_banned_addresses')).toBe(1);
    expect(metric(metrics, 'parley_connections_refused_total', { stage: 'tcp', reason: 'banned' })).toBeGreaterThanOrEqual(1);
  });

  it('cuts a TCP connection that sends nothing, or drips its headers, at the upgrade deadline', async () => {
    const silent = await rawConnect(server.url, '127.0.0.3');
    const dripping = await rawConnect(server.url, '127.0.0.3');
    const drip = setInterval(() => dripping.write('X-Slow: 1\r\n'), 50);
    dripping.write('GET /v1/ws HTTP/1.1\r\nHost: localhost\r\n');
    const [silentMs, drippingMs] = await Promise.all([closedAfter(silent), closedAfter(dripping)]);
    clearInterval(drip);
    expect(silentMs).toBeGreaterThan(250);
    expect(silentMs).toBeLessThan(1_500);
    expect(drippingMs).toBeLessThan(1_500);
    expect(metric(await scrapeMetrics(server.url), 'parley_connections_closed_total', { reason: 'upgrade_timeout' })).toBeGreaterThanOrEqual(2);
  });

  it('closes a connection that does the handshake but never authenticates', async () => {
    const quick = await startTestServer({ authTimeoutMs: 400 });
    const raw = await openRawChannel(quick.url, 1, { localAddress: '127.0.0.4' });
    const started = performance.now();
    raw.send(encodeRequest('ping', 1, {}));
    expect(await raw.next()).toMatchObject({ id: 1, ok: true });
    expect((await raw.closed).code).toBe(CloseCode.AUTH_TIMEOUT);
    expect(performance.now() - started).toBeGreaterThan(350);
    expect(metric(await scrapeMetrics(quick.url), 'parley_strikes_total', { reason: 'auth_timeout' })).toBe(1);
    await quick.close();
  });

  it('counts failed logins as strikes, whether the guess is left unfinished or repeated on one connection', async () => {
    const victim = new TestDevice(server);
    await (await victim.open()).register('victim', PASSWORD);
    victim.close();
    // OPAQUE tells the client its guess was wrong: it gives up without login.finish, and closes.
    const codes: string[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const client = await connectClient(server, new MemoryProfileStore(), { socketFactory: socketFactoryFrom('127.0.0.5') });
      codes.push(await client.login('victim', 'not the password').then(() => 'ok', (error: { code: string }) => error.code));
      client.close();
    }
    expect(codes).toEqual(['AUTH_FAILED', 'AUTH_FAILED', 'AUTH_FAILED']);
    // Or it keeps guessing on the same connection.
    const guesser = await connectClient(server, new MemoryProfileStore(), { socketFactory: socketFactoryFrom('127.0.0.5') });
    const banned = new Promise<string>((resolve) => guesser.onClose((error) => resolve(error.code)));
    for (let attempt = 0; attempt < 3; attempt++) await guesser.login('victim', `guess ${attempt}`).catch(() => undefined);
    expect(await banned).toBe('BANNED');
    await waitFor(async () => metric(await scrapeMetrics(server.url), 'parley_strikes_total', { reason: 'auth_failed' }) >= 5, 'five auth_failed strikes');
    expect(await refused(server.url, '127.0.0.5')).toBe(true);
    // The victim's own address is not touched.
    expect((await (await victim.open()).whoami()).username).toBe('victim');
    victim.close();
  });
});

describe('dead peers', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ pingIntervalMs: 100, pongTimeoutMs: 200, handshakeTimeoutMs: 60_000 });
  });
  afterAll(async () => {
    await server.close();
  });

  it('pings open WebSockets and cuts one that stops answering', async () => {
    const answering = await openIdleSocket(server.url, '127.0.0.6');
    const deaf = new WebSocket(`${server.url.replace('http', 'ws')}/v1/ws`, { autoPong: false, localAddress: '127.0.0.6' });
    let pings = 0;
    deaf.on('ping', () => pings++);
    const cut = new Promise<number>((resolve) => deaf.on('close', (code) => resolve(code)));
    expect(await cut).toBe(1006); // terminated, no close frame: the peer is presumed dead
    expect(pings).toBeGreaterThanOrEqual(1);
    expect(answering.ws.readyState).toBe(WebSocket.OPEN);
    answering.ws.terminate();
    expect(metric(await scrapeMetrics(server.url), 'parley_connections_closed_total', { reason: 'pong_timeout' })).toBe(1);
  });
});

describe('limits', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ connectionRequestsPerSecond: 5, accountRequestsPerSecond: 4, maxBufferedBytes: 1024 * 1024 });
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers requests over the connection rate with RATE_LIMITED and the time to wait', async () => {
    const raw = await openRawChannel(server.url, 1, { localAddress: '127.0.0.7' });
    for (let id = 1; id <= 20; id++) raw.send(encodeRequest('ping', id, {}));
    const replies = await Promise.all(Array.from({ length: 20 }, () => raw.next()));
    const limited = replies.filter((reply) => reply.type === 'reply' && !reply.ok && reply.error.code === 'RATE_LIMITED');
    expect(replies.length - limited.length).toBe(10); // a burst of two seconds' worth
    for (const reply of limited) expect(reply).toMatchObject({ error: { retryAfterMs: expect.any(Number) as number } });
    raw.ws.close();
    expect(metric(await scrapeMetrics(server.url), 'parley_rate_limited_total', { scope: 'connection' })).toBe(10);
  });

  it("limits an account's requests across its connections; the SDK waits out RATE_LIMITED by itself", async () => {
    const device = new TestDevice(server);
    await (await device.open()).register('busy', PASSWORD);
    const second = await connectClient(server, device.profile);
    const first = await device.open();
    await second.whoami(); // signs the second connection in
    await new Promise((resolve) => setTimeout(resolve, 2_000)); // a full bucket
    const started = performance.now();
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? second : first).whoami()));
    expect(results.every((result) => result.username === 'busy')).toBe(true);
    // A burst of 8 (two seconds at 4 a second), then 4 more at 4 a second.
    expect(performance.now() - started).toBeGreaterThan(800);
    device.close();
    second.close();
    expect(metric(await scrapeMetrics(server.url), 'parley_rate_limited_total', { scope: 'account' })).toBeGreaterThanOrEqual(1);
  });

  it('refuses connections over the per-address limit until one closes', async () => {
    const crowded = await startTestServer({ maxConnectionsPerIp: 3 });
    const open = await Promise.all([1, 2, 3].map(() => openSocket(crowded.url, { localAddress: '127.0.0.8' })));
    expect(await refused(crowded.url, '127.0.0.8')).toBe(true);
    expect(await refused(crowded.url, '127.0.0.9')).toBe(false);
    open[0]?.ws.close();
    await open[0]?.closed;
    await waitFor(async () => !(await refused(crowded.url, '127.0.0.8')), 'a free connection slot');
    for (const socket of open) socket.ws.close();
    expect(metric(await scrapeMetrics(crowded.url), 'parley_connections_refused_total', { reason: 'too_many_connections' })).toBeGreaterThanOrEqual(1);
    await crowded.close();
  });

});

describe('slow readers', () => {
  let server: TestServer;
  beforeAll(async () => {
    // Slow readers are the subject here, not the fetch budget: let the fetches fill the buffers.
    server = await startTestServer({ maxBufferedBytes: 1024 * 1024, fetchBytesPerSecond: 1024 * 1024 * 1024 });
  });
  afterAll(async () => {
    await server.close();
  });

  it('drops a client that never reads, instead of buffering for it', async () => {
    const writer = new TestDevice(server);
    const reader = new TestDevice(server);
    await (await writer.open()).register('writer', PASSWORD);
    await (await reader.open()).register('reader', PASSWORD);
    // Enough log for each sync.fetch reply to be full (256 KiB).
    const text = 'x'.repeat(15_000);
    for (let i = 0; i < 50; i++) await (await writer.messenger()).sendDirect('reader', `${i} ${text}`);
    reader.close();
    // The reader's device, on a hand-driven channel that stops reading after authenticating.
    const { account } = await reader.profile.load();
    const secrets = await reader.profile.loadSecrets();
    if (!account || !secrets) throw new Error('reader has no device');
    const raw = await openRawChannel(server.url, 1, { localAddress: '127.0.0.10' });
    const signature = sign(secrets.devicePrivateKey, channelAuthMessage(raw.channel.handshakeHash, account.username, account.deviceId));
    raw.send(encodeRequest('device.auth', 1, { username: account.username, deviceId: account.deviceId, signature }));
    expect(await raw.next()).toMatchObject({ ok: true });
    (raw.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const rssBefore = metric(await scrapeMetrics(server.url), 'process_resident_memory_bytes');
    for (let id = 2; id < 40; id++) raw.send(encodeRequest('sync.fetch', id, {}));
    await waitFor(async () => metric(await scrapeMetrics(server.url), 'parley_connections_closed_total', { reason: 'slow_reader' }) >= 1, 'the slow reader to be dropped', 20_000);
    const rssAfter = metric(await scrapeMetrics(server.url), 'process_resident_memory_bytes');
    expect(rssAfter - rssBefore).toBeLessThan(200 * 1024 * 1024);
    raw.ws.terminate();
    writer.close();
  });
});
