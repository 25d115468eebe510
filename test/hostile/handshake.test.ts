/**
 * Clients that break the handshake (issue #11 §6): a first message with an ephemeral key no
 * honest client would send, and a WebSocket that upgrades and then never speaks nor answers.
 */
import { encodeCbor, CloseCode } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedAfter, metric, rawConnect, scrapeMetrics, waitFor } from '../support/abuse.js';
import { startTestServer, type TestServer } from '../support/harness.js';
import { openSocket } from '../support/raw-channel.js';

/** The server's log lines (JSON) that say `event`. */
function logLines(server: TestServer): { level: number; event?: string; err?: unknown; msg: string }[] {
  return server
    .logs()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { level: number; event?: string; err?: unknown; msg: string });
}

describe('hostile handshakes', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ handshakeTimeoutMs: 300, strikeLimit: 100 });
  });
  afterAll(async () => {
    await server.close();
  });

  it('closes a first message with an invalid ephemeral key with BAD_HANDSHAKE, a strike and one warning', async () => {
    const { ws, closed } = await openSocket(server.url, { localAddress: '127.0.0.80' });
    // X25519 u = 0 is a low-order point: every Diffie-Hellman with it is all zeros.
    ws.send(new Uint8Array([...new Uint8Array(32), ...encodeCbor({ v: 1 })]));
    expect((await closed).code).toBe(CloseCode.BAD_HANDSHAKE);
    await waitFor(async () => metric(await scrapeMetrics(server.url), 'parley_strikes_total', { reason: 'bad_handshake' }) === 1, 'a bad_handshake strike');
    const lines = logLines(server);
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    const warnings = lines.filter((line) => line.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ event: 'handshake.rejected' });
    expect(warnings[0]?.err).toBeUndefined(); // no stack trace
  });

  it('destroys an upgraded WebSocket that stays silent past the handshake deadline at once', async () => {
    const socket = await rawConnect(server.url, '127.0.0.81');
    const { host } = new URL(server.url);
    socket.write(
      `GET /v1/ws HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    // Reads what the server sends (the 101, then a close frame) but never writes again, so it
    // never answers the close handshake.
    const upgraded = new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.resume();
    await upgraded;
    const closedMs = await Promise.race([closedAfter(socket), new Promise<number>((resolve) => setTimeout(() => resolve(Infinity), 5_000))]);
    socket.destroy();
    expect(closedMs).toBeGreaterThan(200);
    expect(closedMs).toBeLessThan(1_500);
    expect(metric(await scrapeMetrics(server.url), 'parley_connections_closed_total', { reason: 'handshake_timeout' })).toBeGreaterThanOrEqual(1);
  });
});
