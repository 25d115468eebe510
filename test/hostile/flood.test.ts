/**
 * Issue #11 §3, light: one account floods group.commit with a thousand made-up removes, over four
 * connections, while an honest user pings. The server must refuse each one after a few cheap
 * checks, not after a thousand queries (on main this stalled the honest pings for seconds).
 * The heavy version, with every service and printed figures, is test/dos/flood.test.ts.
 */
import { encodeRequest, ErrorCode } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawChannel } from '../support/raw-channel.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { Attacker } from './kit.js';

const CONNECTIONS = 4;
const REQUESTS_PER_CONNECTION = 20;
const MADE_UP_REMOVES = 1000;

describe('a flood of commits with made-up lists', () => {
  let server: ServerProcess;
  let mallory: Attacker;
  let honest: Attacker;
  const channels: RawChannel[] = [];

  beforeAll(async () => {
    // Its own process, so the flood's own encoding work does not delay the pings it measures.
    server = await startServerProcess();
    [mallory, honest] = await Promise.all([Attacker.register(server, 'mallory'), Attacker.register(server, 'honest')]);
    for (let i = 0; i < CONNECTIONS; i++) channels.push(await mallory.rawChannel());
  });
  afterAll(async () => {
    for (const channel of channels) channel.ws.close();
    mallory.close();
    honest.close();
    await server.stop();
  });

  it("is refused request by request while an honest user's pings keep being answered", async () => {
    const group = await mallory.createGroup();
    const update = await group.updating();
    const madeUp = Array.from({ length: MADE_UP_REMOVES }, (_, i) => ({ username: `nobody${i % 100}`, deviceId: `made-up-device-${i}` }));
    const body = group.bundle(update, { remove: madeUp });
    // Encoded beforehand, so the flood costs this process nothing while the pings are timed.
    const envelopes = Array.from({ length: REQUESTS_PER_CONNECTION }, (_, i) => encodeRequest('group.commit', i + 1, body));

    const pings: number[] = [];
    let flooding = true;
    const pinger = (async () => {
      while (flooding) {
        const started = performance.now();
        await honest.request('ping', {});
        pings.push(performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    const codes = (
      await Promise.all(
        channels.map(async (channel) => {
          for (const envelope of envelopes) channel.send(envelope);
          const replies = [];
          for (let i = 0; i < REQUESTS_PER_CONNECTION; i++) {
            const reply = await channel.next(30_000);
            replies.push(reply.type === 'reply' && !reply.ok ? reply.error.code : 'accepted');
          }
          return replies;
        }),
      )
    ).flat();
    flooding = false;
    await pinger;

    expect(new Set(codes)).toEqual(new Set([ErrorCode.BAD_REQUEST]));
    expect(pings.length).toBeGreaterThan(0);
    // Generous on a shared machine: each request now costs a few cheap checks; on main the
    // pings waited for eighty times a thousand queries.
    expect(Math.max(...pings)).toBeLessThan(1_000);
  });
});
