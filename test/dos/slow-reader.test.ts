/**
 * Clients that never read their socket (DESIGN §10: "a slow reader is dropped, not buffered
 * forever"): 20 connections of one device ask for 256 KiB replies sixty times each and read
 * none. Each is dropped once 4 MiB wait for it; server memory stays bounded; others are served.
 */
import { channelAuthMessage, sign } from '@parley/crypto';
import { encodeRequest } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metric, percentile, report, round, timed, waitFor } from '../support/abuse.js';
import { TestDevice } from '../support/device.js';
import { openRawChannel, type RawChannel } from '../support/raw-channel.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

const READERS = 20;
const FETCHES = 60;

describe('clients that never read', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    // Slow readers are the subject here, not the fetch budget: let the fetches fill the buffers.
    server = await startServerProcess({ connectionRequestsPerSecond: 1_000, fetchBytesPerSecond: 1024 * 1024 * 1024 });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('are dropped when their send buffer passes the limit, with memory bounded and others served', async () => {
    const writer = new TestDevice(server);
    const reader = new TestDevice(server);
    await (await writer.open()).register('writer', 'slow reader test password');
    await (await reader.open()).register('reader', 'slow reader test password');
    const text = 'x'.repeat(15_000);
    for (let i = 0; i < 60; i++) await (await writer.messenger()).sendDirect('reader', `${i} ${text}`);
    reader.close();
    const { account } = await reader.profile.load();
    const secrets = await reader.profile.loadSecrets();
    if (!account || !secrets) throw new Error('reader has no device');

    const rssBefore = await server.rss();
    const rss: number[] = [rssBefore];
    const sampler = setInterval(() => void server.rss().then((bytes) => rss.push(bytes)), 250);
    const started = performance.now();
    const readers: RawChannel[] = [];
    for (let i = 0; i < READERS; i++) {
      const raw = await openRawChannel(server.url, 1, { localAddress: `127.0.0.${60 + i}` });
      const signature = sign(secrets.devicePrivateKey, channelAuthMessage(raw.channel.handshakeHash, account.username, account.deviceId));
      raw.send(encodeRequest('device.auth', 1, { username: account.username, deviceId: account.deviceId, signature }));
      expect(await raw.next()).toMatchObject({ ok: true });
      (raw.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      for (let id = 2; id < 2 + FETCHES; id++) raw.send(encodeRequest('sync.fetch', id, {}));
      readers.push(raw);
    }
    // Meanwhile the writer keeps chatting with someone who reads.
    const friend = new TestDevice(server);
    await (await friend.open()).register('friend', 'slow reader test password');
    const latencies: number[] = [];
    let dropped = 0;
    const droppedAll = waitFor(async () => (dropped = metric(await server.metrics(), 'parley_connections_closed_total', { reason: 'slow_reader' })) >= READERS, 'every slow reader to be dropped', 120_000);
    let done = false;
    void droppedAll.finally(() => (done = true));
    for (let i = 0; !done || i < 5; i++) {
      latencies.push((await timed(async () => (await writer.messenger()).sendDirect('friend', `still here ${i}`))).ms);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await droppedAll;
    const droppedAfterMs = performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    clearInterval(sampler);
    const received = await friend.receive();
    const rssAfter = await server.rss();
    report('clients that never read', {
      readers: `${READERS} connections, each asking ${FETCHES} sync.fetch (256 KiB replies) and reading none`,
      'send buffer limit': '4 MiB (maxBufferedBytes)',
      dropped: `${dropped} of ${READERS}, the last ${round(droppedAfterMs)} ms after the first reader connected (each is served until its buffer passes the limit)`,
      'server RSS (MB)': `before ${round(rssBefore / 2 ** 20)}, peak ${round(Math.max(...rss) / 2 ** 20)}, after ${round(rssAfter / 2 ** 20)}`,
      'honest sends meanwhile': `${latencies.length}, p50 ${round(percentile(latencies, 50))} ms, max ${round(Math.max(...latencies))} ms; ${received.length} received`,
    });

    expect(dropped).toBe(READERS);
    // Unbounded buffering would hold 20 × 60 × 256 KiB ≈ 300 MiB.
    expect(Math.max(...rss) - rssBefore).toBeLessThan(200 * 2 ** 20);
    expect(received).toHaveLength(latencies.length);
    for (const raw of readers) raw.ws.terminate();
    for (const device of [writer, friend]) device.close();
  });
});
