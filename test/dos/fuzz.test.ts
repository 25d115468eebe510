/**
 * 100,000 random and mutated frames against a live server (DESIGN §4, §10): no crash, every
 * message answered or its connection closed, other clients unaffected, memory bounded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metric, percentile, report, round, timed } from '../support/abuse.js';
import { TestDevice } from '../support/device.js';
import { fuzz } from '../support/fuzz.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

const FRAMES = 100_000;
const SEED = Number(process.env.PARLEY_FUZZ_SEED ?? 20_251_123);

describe('100,000 random and mutated frames', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    // No bans or request limits: every frame reaches the parser and the handlers.
    server = await startServerProcess({ maxBadFrames: 50, strikeLimit: 1_000_000_000, connectionRequestsPerSecond: 1_000_000 });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('answers every frame or closes its connection, never crashes, and keeps serving others in bounded memory', async () => {
    const alice = new TestDevice(server);
    const bob = new TestDevice(server);
    await (await alice.open()).register('alice', 'fuzz test password');
    await (await bob.open()).register('bob', 'fuzz test password');
    const rss: number[] = [await server.rss()];
    const progress: string[] = [];
    let fuzzing = true;
    const sampler = setInterval(() => void server.rss().then((bytes) => rss.push(bytes)), 1_000);
    const run = fuzz({
      url: server.url,
      frames: FRAMES,
      concurrency: 16,
      seed: SEED,
      localAddress: '127.0.0.50',
      onProgress: (frames) => progress.push(`${frames} frames, RSS ${round((rss.at(-1) ?? 0) / 2 ** 20)} MB`),
    }).finally(() => (fuzzing = false));

    // Honest clients chat throughout, and we time it.
    const latencies: number[] = [];
    const received: string[] = [];
    let sent = 0;
    while (fuzzing) {
      const trip = await timed(async () => {
        await (await alice.messenger()).sendDirect('bob', `message ${sent++}`);
        received.push(...(await bob.receive()));
      });
      latencies.push(trip.ms);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const result = await run;
    clearInterval(sampler);
    const health = (await (await fetch(`${server.url}/healthz`)).json()) as { status: string };
    const metrics = await server.metrics();
    const errorLines = server.stderr().split('\n').filter((line) => line.includes('"level":50'));
    const topErrors = Object.entries(result.errorCodes).sort(([, a], [, b]) => b - a);
    report('fuzzing', {
      seed: SEED,
      frames: `${result.frames} in ${round(result.seconds, 1)} s (${round(result.frames / result.seconds)}/s) over ${result.connections} connections`,
      kinds: result.kinds,
      answered: `${result.answered} replies, ${result.closedOn} closes, ${result.unanswered} unanswered`,
      'close codes': result.closeCodes,
      'error codes': Object.fromEntries(topErrors),
      progress: `\n    ${progress.join('\n    ')}`,
      'server RSS (MB)': `start ${round((rss[0] ?? 0) / 2 ** 20)}, peak ${round(Math.max(...rss) / 2 ** 20)}, end ${round((rss.at(-1) ?? 0) / 2 ** 20)}`,
      'honest chat': `${sent} messages, ${received.length} received; round trip p50 ${round(percentile(latencies, 50))} ms, p95 ${round(percentile(latencies, 95))} ms, max ${round(Math.max(...latencies))} ms`,
      'server errors logged': errorLines.length,
      'strikes counted': metric(metrics, 'parley_strikes_total'),
    });

    expect(result.unanswered).toBe(0);
    expect(result.frames).toBeGreaterThanOrEqual(FRAMES);
    expect(health.status).toBe('ok');
    expect(errorLines).toEqual([]);
    expect(result.errorCodes.INTERNAL ?? 0).toBe(0);
    expect(received).toEqual(Array.from({ length: sent }, (_, i) => `alice: message ${i}`));
    expect(Math.max(...rss)).toBeLessThan((rss[0] ?? 0) + 300 * 2 ** 20);
    alice.close();
    bob.close();
  });
});
