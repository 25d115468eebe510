/**
 * 2,000 WebSockets that upgrade and then never speak (DESIGN §10): all closed by the handshake
 * deadline, their addresses banned, while an honest client registers, logs in and chats with
 * normal latency.
 */
import { execFileSync } from 'node:child_process';
import { CloseCode } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metric, openIdleSocket, percentile, refused, report, round, timed, type IdleSocket } from '../support/abuse.js';
import { TestDevice } from '../support/device.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

const SOCKETS = 2_000;
const ADDRESSES = 20; // 127.0.0.100 .. 127.0.0.119, 100 sockets each
const DEADLINE_MS = 3_000;
const PASSWORD = 'idle sockets test password';

/** Register, log in a second device, and exchange a message both ways: the latencies of each step. */
async function honestSession(server: { url: string }, name: string) {
  const phone = new TestDevice(server);
  const laptop = new TestDevice(server);
  const friend = new TestDevice(server);
  const register = await timed(async () => (await phone.open()).register(name, PASSWORD));
  await (await friend.open()).register(`${name}-friend`, PASSWORD);
  const login = await timed(async () => (await laptop.open()).login(name, PASSWORD));
  const roundTrips: number[] = [];
  for (let i = 0; i < 5; i++) {
    const trip = await timed(async () => {
      const arrived = new Promise<void>((resolve) => {
        void friend.open().then((client) => {
          const stop = client.onMessage(() => {
            stop();
            resolve();
          });
        });
      });
      await (await phone.messenger()).sendDirect(`${name}-friend`, `hello ${i}`);
      await arrived;
    });
    roundTrips.push(trip.ms);
  }
  for (const device of [phone, laptop, friend]) device.close();
  return { registerMs: round(register.ms), loginMs: round(login.ms), messageMs: roundTrips.map((ms) => round(ms)) };
}

describe('2,000 sockets that upgrade and never speak', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    const limit = Number(execFileSync('sh', ['-c', 'ulimit -n']).toString().trim());
    if (limit < SOCKETS + 500) throw new Error(`ulimit -n is ${limit}: run through npm run test:dos (test/dos/run.sh raises it to 8192)`);
    server = await startServerProcess({ handshakeTimeoutMs: DEADLINE_MS, maxConnectionsPerIp: 200 });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('closes all of them at the deadline, bans their addresses, and keeps serving an honest client', async () => {
    const baseline = await honestSession(server, 'before');
    const rssBefore = await server.rss();

    const opening = performance.now();
    const sockets: IdleSocket[] = [];
    for (let batch = 0; batch < SOCKETS / 100; batch++) {
      const address = `127.0.0.${100 + (batch % ADDRESSES)}`;
      sockets.push(...(await Promise.all(Array.from({ length: 100 }, () => openIdleSocket(server.url, address)))));
    }
    const openedInMs = performance.now() - opening;
    const rssWithSockets = await server.rss();
    const openMetric = metric(await server.metrics(), 'parley_websocket_connections');

    // Meanwhile, an honest client does everything a user does.
    const during = await honestSession(server, 'during');
    const closes = await Promise.all(sockets.map((socket) => socket.closed));
    const byCode: Record<number, number> = {};
    for (const { code } of closes) byCode[code] = (byCode[code] ?? 0) + 1;
    const afterMs = closes.map(({ afterMs }) => afterMs);

    const stillRefused: boolean[] = [];
    for (let i = 0; i < ADDRESSES; i++) stillRefused.push(await refused(server.url, `127.0.0.${100 + i}`));
    const metrics = await server.metrics();
    const rssAfter = await server.rss();
    report('2,000 idle sockets', {
      'sockets opened': `${sockets.length} from ${ADDRESSES} addresses in ${round(openedInMs)} ms (server counted ${openMetric} open)`,
      'handshake deadline': `${DEADLINE_MS} ms`,
      'close codes': JSON.stringify(byCode),
      'closed after (ms)': `min ${round(Math.min(...afterMs))}, median ${round(percentile(afterMs, 50))}, p99 ${round(percentile(afterMs, 99))}, max ${round(Math.max(...afterMs))}`,
      'addresses banned': `${metric(metrics, 'parley_bans_total')} (refused on reconnect: ${stillRefused.filter(Boolean).length}/${ADDRESSES})`,
      strikes: metric(metrics, 'parley_strikes_total', { reason: 'handshake_timeout' }),
      'honest, before': baseline,
      'honest, during': during,
      'server RSS (MB)': `before ${round(rssBefore / 2 ** 20)}, with 2,000 sockets ${round(rssWithSockets / 2 ** 20)}, after ${round(rssAfter / 2 ** 20)}`,
    });

    expect(sockets).toHaveLength(SOCKETS);
    for (const { code } of closes) expect([CloseCode.HANDSHAKE_TIMEOUT, CloseCode.BANNED]).toContain(code);
    // Closed by the deadline: none later than the deadline plus a second of slack.
    expect(Math.max(...afterMs)).toBeLessThan(DEADLINE_MS + 1_000 + openedInMs);
    expect(metric(metrics, 'parley_bans_total')).toBe(ADDRESSES);
    expect(stillRefused.every(Boolean)).toBe(true);
    expect(await refused(server.url, '127.0.0.1')).toBe(false);
    // Normal latency: a message round trip during the flood within a small multiple of before.
    expect(percentile(during.messageMs, 50)).toBeLessThan(Math.max(200, 5 * percentile(baseline.messageMs, 50)));
    expect(during.loginMs).toBeLessThan(Math.max(5_000, 3 * baseline.loginMs));
  });
});
