/**
 * A login flood without proof of work (DESIGN §10): refused with POW_REQUIRED while the difficulty
 * rises one bit a second up to its cap; an honest client solves and gets in within a few seconds;
 * when the flood stops the difficulty falls back to zero. Bans and the per-account price are off
 * here (high limits) to watch the load's proof of work alone: with them on, the flood's abandoned
 * logins would ban its addresses and raise the flooded account's own difficulty.
 */
import { MemoryProfileStore, type PowProgress } from '@parley/client';
import { opaqueClient, opaqueReady } from '@parley/crypto';
import { defaultConfig } from '@parley/server';
import { encodeRequest } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metric, report, round, timed, waitFor } from '../support/abuse.js';
import { connectClient } from '../support/harness.js';
import { openRawChannel, type RawChannel } from '../support/raw-channel.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';

const FLOODERS = 8;
const FLOOD_SECONDS = 24;
const PASSWORD = 'login flood test password';

describe('a login flood without proof of work', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    await opaqueReady;
    server = await startServerProcess({ strikeLimit: 1_000_000_000, accountFailureLimit: 1_000_000_000, connectionRequestsPerSecond: 1_000_000 });
    const owner = await connectClient(server);
    await owner.register('flooded', PASSWORD);
    owner.close();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('is refused with POW_REQUIRED as difficulty rises; an honest client solves and logs in within seconds', async () => {
    // OPAQUE login requests made once and replayed: the server cannot tell, and the flood stays cheap for us.
    const requests = Array.from({ length: 64 }, () => opaqueClient.startLogin('a guess').request);
    const tally = { sent: 0, accepted: 0, powRequired: 0, other: 0 };
    let flooding = true;
    const channels: RawChannel[] = await Promise.all(Array.from({ length: FLOODERS }, (_, i) => openRawChannel(server.url, 1, { localAddress: `127.0.0.${150 + i}` })));
    const floods = channels.map(async (channel, index) => {
      for (let id = 1; flooding; id++) {
        channel.send(encodeRequest('login.start', id, { username: 'flooded', request: requests[(id + index) % requests.length] as Uint8Array }));
        tally.sent++;
        const reply = await channel.next(10_000);
        if (reply.type === 'reply' && reply.ok) tally.accepted++;
        else if (reply.type === 'reply' && reply.error.code === 'POW_REQUIRED') tally.powRequired++;
        else tally.other++;
      }
    });

    const timeline: string[] = [];
    const started = performance.now();
    let last = { ...tally };
    const sampler = setInterval(() => {
      void server.metrics().then((text) => {
        const second = round((performance.now() - started) / 1000);
        const done = { ...tally };
        timeline.push(`t=${second}s difficulty ${metric(text, 'parley_pow_difficulty', { context: 'login' })}: +${done.accepted - last.accepted} accepted, +${done.powRequired - last.powRequired} POW_REQUIRED`);
        last = done;
      });
    }, 1_000);

    // Once the difficulty has had time to climb, an honest user logs in, solving what it is asked.
    await waitFor(async () => metric(await server.metrics(), 'parley_pow_difficulty', { context: 'login' }) >= defaultConfig.powMaxDifficulty, 'the difficulty to reach its cap', 30_000);
    const honest: { ms: number; difficulty: number; hashes: number }[] = [];
    for (let i = 0; i < 3; i++) {
      const progress: PowProgress[] = [];
      const client = await connectClient(server, new MemoryProfileStore());
      const login = await timed(() => client.login('flooded', PASSWORD, { onPowProgress: (update) => progress.push(update) }));
      expect(login.value.username).toBe('flooded');
      const final = progress.at(-1);
      honest.push({ ms: round(login.ms), difficulty: final?.difficulty ?? 0, hashes: final?.tried ?? 0 });
      client.close();
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, FLOOD_SECONDS * 1000 - (performance.now() - started))));
    flooding = false;
    await Promise.all(floods);
    const floodSeconds = (performance.now() - started) / 1000;

    // Quiet again: the difficulty halves every second back to zero.
    const quiet = performance.now();
    await waitFor(async () => metric(await server.metrics(), 'parley_pow_difficulty', { context: 'login' }) === 0, 'the difficulty to fall to zero', 20_000);
    const backToZeroMs = performance.now() - quiet;
    clearInterval(sampler);
    for (const channel of channels) channel.ws.close();
    const metrics = await server.metrics();
    report('login flood without proof of work', {
      flood: `${FLOODERS} connections, ${tally.sent} login.start in ${round(floodSeconds)} s (${round(tally.sent / floodSeconds)}/s)`,
      outcome: `${tally.accepted} accepted while difficulty was 0, ${tally.powRequired} POW_REQUIRED, ${tally.other} other`,
      timeline: `\n    ${timeline.join('\n    ')}`,
      'difficulty cap': `${defaultConfig.powMaxDifficulty} bits (2^${defaultConfig.powMaxDifficulty} = ${2 ** defaultConfig.powMaxDifficulty} hashes on average)`,
      'honest logins': honest,
      'back to zero after the flood': `${round(backToZeroMs)} ms`,
      'server verdicts': `ok ${metric(metrics, 'parley_pow_verdicts_total', { context: 'login', result: 'ok' })}, missing ${metric(metrics, 'parley_pow_verdicts_total', { context: 'login', result: 'missing' })}`,
    });

    expect(tally.powRequired).toBeGreaterThan(tally.accepted);
    expect(tally.other).toBe(0);
    for (const login of honest) {
      expect(login.difficulty).toBeGreaterThanOrEqual(defaultConfig.powMaxDifficulty - 2);
      expect(login.ms).toBeLessThan(8_000);
    }
    expect(backToZeroMs).toBeLessThan(10_000);
  });
});
