/**
 * Random and mutated frames against a live server, light (DESIGN §4, §10): every message is
 * answered or its connection closed, nothing crashes, and an honest client is served meanwhile.
 * The heavy version (100,000 frames) is test/dos/fuzz.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metric, scrapeMetrics } from '../support/abuse.js';
import { TestDevice } from '../support/device.js';
import { fuzz } from '../support/fuzz.js';
import { startTestServer, type TestServer } from '../support/harness.js';

describe('fuzzing a live server', () => {
  let server: TestServer;
  beforeAll(async () => {
    // No bans or rate limits: this is about every frame being handled, not about the defences.
    server = await startTestServer({ maxBadFrames: 50, strikeLimit: 1_000_000_000, connectionRequestsPerSecond: 1_000_000 });
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers or closes on every one of 2,000 random and mutated frames while serving an honest client', async () => {
    const alice = new TestDevice(server);
    const bob = new TestDevice(server);
    await (await alice.open()).register('alice', 'fuzz test password');
    await (await bob.open()).register('bob', 'fuzz test password');
    const run = fuzz({ url: server.url, frames: 2_000, concurrency: 4, seed: 20_251_123, localAddress: '127.0.0.30' });
    const chat: string[] = [];
    for (let i = 0; i < 3; i++) {
      await (await alice.messenger()).sendDirect('bob', `during the fuzz ${i}`);
      chat.push(...(await bob.receive()));
    }
    const result = await run;
    expect(result.unansweredKinds).toEqual({});
    expect(result.unanswered).toBe(0);
    expect(result.frames).toBeGreaterThanOrEqual(2_000);
    expect(result.answered + result.closedOn).toBe(result.frames - (result.kinds.fragmented ?? 0));
    expect(result.connections).toBeGreaterThan(4);
    expect(chat).toEqual(['alice: during the fuzz 0', 'alice: during the fuzz 1', 'alice: during the fuzz 2']);
    // Bad input is the client's error: never an internal error, never a handler crash.
    const failures = server.logs().split('\n').filter((line) => line.includes('"level":50'));
    expect([...new Set(failures.map((line) => { const parsed = JSON.parse(line) as { op?: string; err?: { message?: string } }; return `${parsed.op}: ${parsed.err?.message}`; }))]).toEqual([]);
    expect(result.errorCodes.INTERNAL ?? 0).toBe(0);
    expect(server.logs()).not.toMatch(/"level":50/);
    expect(metric(await scrapeMetrics(server.url), 'parley_strikes_total', { reason: 'bad_frame' })).toBeGreaterThan(100);
    alice.close();
    bob.close();
  });
});
