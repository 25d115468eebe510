/**
 * A server that tries to sit in the middle of a direct session (issue #13, DESIGN §9), and
 * abuse of direct-session signalling. The server relays the WebRTC offer and answer, so it can
 * rewrite the DTLS fingerprint in them; each device signed its own inside the 1:1 MLS group,
 * where the server cannot touch it, so both refuse the session. Strangers cannot make anyone's
 * device ring, floods are rate-limited, and malformed signalling gets clear errors while
 * everyone else carries on.
 */
import { ErrorCode, ParleyError, decodeServerMessage, encodeEvent, encodeRequest, type Event } from '@parley/protocol';
import { type DirectSession, type DirectStateChange } from '@parley/client';
import { weriftLinkFactory } from '@parley/client/node';
import { MemoryBus, type BusEvents, type BusTopic } from '@parley/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDevice } from '../support/device.js';
import { startTestServer, type TestServer } from '../support/harness.js';
import { Attacker, honestUser } from './kit.js';

/** Any fingerprint but the real one: what a relay in the middle would put there (its own certificate's). */
const FORGED = Array.from({ length: 32 }, (_, i) => (i * 7 + 3).toString(16).padStart(2, '0')).join(':');

/** The server's bus, rewriting the `a=fingerprint` line of the signals of one kind on their way to the other device. */
class FingerprintRewritingBus extends MemoryBus {
  rewrite: 'offer' | 'answer' | undefined;
  rewritten = 0;

  override publish<T extends BusTopic>(topic: T, message: BusEvents[T]): Promise<void> {
    const deliver = message as BusEvents['deliver'];
    if (topic === 'deliver' && deliver.kind === 'direct.signal' && this.rewrite) {
      const decoded = decodeServerMessage(deliver.envelope);
      if (decoded.type === 'event' && decoded.event.kind === 'direct.signal' && decoded.event.body.kind === this.rewrite) {
        const data = decoded.event.body.data.replace(/^a=fingerprint:(\S+) .*$/m, `a=fingerprint:$1 ${FORGED}`);
        this.rewritten++;
        return super.publish(topic, { ...deliver, envelope: encodeEvent('direct.signal', { ...decoded.event.body, data }) } as BusEvents[T]);
      }
    }
    return super.publish(topic, message);
  }
}

describe('direct sessions against a server in the middle, strangers and floods', () => {
  const bus = new FingerprintRewritingBus();
  let server: TestServer;
  let alice: TestDevice;
  let bob: TestDevice;
  const bobSessions: DirectSession[] = [];
  const bobEvents: Event[] = [];

  beforeAll(async () => {
    // Per-connection limits well above the flood's pace, so what stops it is signalling's own limit.
    server = await startTestServer({ bus, connectionRequestsPerSecond: 10_000, accountRequestsPerSecond: 10_000 });
    [alice, bob] = await Promise.all([honestUser(server, 'alice'), honestUser(server, 'bob')]);
    await (await alice.messenger()).sendDirect('bob', 'hello bob');
    expect(await bob.acceptRequests()).toEqual(['alice']);
    const bobClient = await bob.open();
    bobClient.onEvent((event) => bobEvents.push(event));
    (await bobClient.direct({ links: weriftLinkFactory, timeoutMs: 15_000 })).answer(
      () => true,
      (session) => void bobSessions.push(session),
    );
  });
  afterAll(async () => {
    alice.close();
    bob.close();
    await server.close();
  });

  /** Alice asks bob to go direct; resolves with how each side's session ended up. */
  async function attempt(): Promise<{ opened: unknown; aliceStates: DirectStateChange[]; bobStates: DirectStateChange[] }> {
    const before = bobSessions.length;
    const sessions = await (await alice.open()).direct({ links: weriftLinkFactory, timeoutMs: 15_000 });
    const session = await sessions.open('bob');
    const aliceStates: DirectStateChange[] = [];
    session.onState((change) => aliceStates.push(change));
    const opened = await session.opened.then(
      () => 'open',
      (error: unknown) => error,
    );
    // Bob's side has its own verdict; wait for it.
    for (let i = 0; i < 100 && (bobSessions.length === before || bobSessions.at(-1)?.state !== 'closed'); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    const bobSession = bobSessions.at(-1);
    const bobStates: DirectStateChange[] = bobSession && bobSession.state === 'closed' ? [{ peer: 'alice', state: 'closed', reason: bobSession.reason ?? '' }] : [];
    return { opened, aliceStates, bobStates };
  }

  it('opens when the server relays the signals untouched', async () => {
    bus.rewrite = undefined;
    const sessions = await (await alice.open()).direct({ links: weriftLinkFactory, timeoutMs: 15_000 });
    const session = await sessions.open('bob');
    await session.opened;
    expect((await session.send('straight through')).via).toBe('direct');
    await session.end();
    expect(session.reason).toBe('ended');
  });

  it('is refused by both sides when the server rewrites the fingerprint in the offer', async () => {
    bus.rewrite = 'offer';
    const { opened, aliceStates, bobStates } = await attempt();
    expect(bus.rewritten).toBe(1);
    // Bob saw a fingerprint alice never signed and refused; alice's session never opened either.
    expect(bobStates).toEqual([{ peer: 'alice', state: 'closed', reason: expect.stringMatching(/^refused: fingerprint mismatch/) }]);
    expect(opened).toBeInstanceOf(ParleyError);
    expect((opened as ParleyError).code).toBe(ErrorCode.DIRECT_REFUSED);
    expect(aliceStates).toEqual([{ peer: 'bob', state: 'closed', reason: expect.stringMatching(/^refused: fingerprint mismatch/) }]);
  });

  it('is refused by both sides when the server rewrites the fingerprint in the answer', async () => {
    bus.rewrite = 'answer';
    const { opened, aliceStates, bobStates } = await attempt();
    expect(bus.rewritten).toBe(2);
    // This time alice is the one who sees the mismatch; bob hears her refusal and never opens.
    expect((opened as ParleyError).code).toBe(ErrorCode.DIRECT_REFUSED);
    expect((opened as ParleyError).message).toMatch(/fingerprint mismatch/);
    expect(aliceStates).toEqual([{ peer: 'bob', state: 'closed', reason: expect.stringMatching(/^refused: fingerprint mismatch/) }]);
    expect(bobStates).toEqual([{ peer: 'alice', state: 'closed', reason: expect.stringMatching(/^refused: fingerprint mismatch/) }]);
    bus.rewrite = undefined;
  });

  it("refuses a stranger's request without bothering the user", async () => {
    const mallory = await Attacker.register(server, 'mallory');
    const heardBefore = bobEvents.filter((event) => event.kind === 'direct.incoming').length;
    const error = await mallory.refused('direct.request', { username: 'bob' });
    expect(error.code).toBe(ErrorCode.NOT_A_CONTACT);
    expect(error.message).toMatch(/not your contact/);
    // Nor can mallory slip into a session by guessing, answering or signalling.
    expect((await mallory.refused('direct.answer', { sessionId: new Uint8Array(16), accept: true })).code).toBe(ErrorCode.NOT_FOUND);
    expect((await mallory.refused('direct.signal', { sessionId: new Uint8Array(16), kind: 'offer', data: 'v=0' })).code).toBe(ErrorCode.NOT_FOUND);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(bobEvents.filter((event) => event.kind === 'direct.incoming').length).toBe(heardBefore);
    mallory.close();
  });

  it('rate-limits a signalling flood, answers malformed frames with clear errors, and others carry on', async () => {
    const mallory = await Attacker.register(server, 'mallory2');
    const errors: ParleyError[] = [];
    for (let i = 0; i < 300; i++) errors.push(await mallory.refused('direct.signal', { sessionId: new Uint8Array(16).fill(i % 256), kind: 'candidate', data: '{}' }));
    // A burst of 120 a minute goes through (to no session); then nearly all are refused, refilling at two a second.
    expect(errors.slice(0, 100).every((error) => error.code === ErrorCode.NOT_FOUND)).toBe(true);
    const limited = errors.filter((error) => error.code === ErrorCode.RATE_LIMITED);
    expect(limited.length).toBeGreaterThan(150);
    expect(limited.every((error) => /too many signalling messages from this device/.test(error.message) && (error.details.retryAfterMs ?? 0) > 0)).toBe(true);

    const raw = await mallory.rawChannel();
    const bad = [
      { sessionId: new Uint8Array(16), kind: 'bogus', data: 'x' },
      { sessionId: new Uint8Array(3), kind: 'offer', data: 'x' },
      { sessionId: new Uint8Array(16), kind: 'offer', data: 'x'.repeat(17 * 1024) },
    ];
    const replies = [];
    for (const [i, body] of bad.entries()) {
      raw.send(encodeRequest('direct.signal', i + 1, body as never));
      replies.push(await raw.next(10_000));
    }
    expect(replies.map((reply) => (reply.type === 'reply' && !reply.ok ? [reply.error.code, reply.error.message] : reply))).toEqual([
      [ErrorCode.BAD_REQUEST, expect.stringMatching(/kind/)],
      [ErrorCode.BAD_REQUEST, expect.stringMatching(/sessionId/)],
      [ErrorCode.BAD_REQUEST, expect.stringMatching(/data.*longer than 16384/)],
    ]);
    raw.ws.close();
    mallory.close();

    // Alice and bob go direct as before.
    const session = await (await (await alice.open()).direct({ links: weriftLinkFactory })).open('bob');
    await session.opened;
    expect((await session.send('still fine')).via).toBe('direct');
    await session.end();
  });
});
