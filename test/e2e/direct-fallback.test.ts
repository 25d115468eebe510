/**
 * Direct sessions never lose a message (issue #13, DESIGN §9): the receiver acks each message it
 * stored; what is unacked when the channel drops, or whose ack never comes, goes through the
 * server, and the receiver shows every message exactly once. Real server, werift on loopback;
 * the receiver's link is wrapped to lose frames in flight, lose its acks, or die.
 */
import { type PeerLink, type PeerLinkFactory } from '@parley/client';
import { decodeDirectFrame } from '@parley/protocol';
import { weriftLinkFactory } from '@parley/client/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDevice } from '../support/device.js';
import { startTestServer, type TestServer } from '../support/harness.js';

const PASSWORD = 'direct fallback password';
const ACK_TIMEOUT_MS = 1_500;

async function until(what: string, probe: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Bob's end of the channel, as a lossy network would treat it. */
class Faults {
  /** Frames reaching bob are lost (counted), as packets in flight when a link dies. */
  loseIncoming = false;
  /** Bob's acks are lost on the way back. */
  loseAcks = false;
  lost = 0;
  private current: { link: PeerLink; closed(): void } | undefined;

  readonly factory: PeerLinkFactory = (options, events) => {
    const link = weriftLinkFactory(options, {
      ...events,
      message: (data) => {
        if (this.loseIncoming) this.lost++;
        else events.message(data);
      },
    });
    const wrapped: PeerLink = {
      createOffer: () => link.createOffer(),
      acceptOffer: (offer) => link.acceptOffer(offer),
      acceptAnswer: (answer) => link.acceptAnswer(answer),
      addCandidate: (candidate) => link.addCandidate(candidate),
      remoteFingerprint: () => link.remoteFingerprint(),
      close: () => link.close(),
      send: (data) => {
        if (!(this.loseAcks && decodeDirectFrame(data).t === 'ack')) link.send(data);
      },
    };
    this.current = { link, closed: () => events.closed() };
    return wrapped;
  };

  /** The channel dies under bob: torn down, and his session hears it was lost. */
  kill(): void {
    this.current?.link.close();
    this.current?.closed();
  }
}

describe('direct sessions never lose a message', () => {
  let server: TestServer;
  let alice: TestDevice;
  let bob: TestDevice;
  const faults = new Faults();
  const bobSaw: string[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    alice = new TestDevice(server);
    bob = new TestDevice(server);
    await (await alice.open()).register('alice', PASSWORD);
    await (await bob.open()).register('bob', PASSWORD);
    await (await alice.messenger()).sendDirect('bob', 'hello bob');
    expect(await bob.acceptRequests()).toEqual(['alice']);
    const bobClient = await bob.open();
    bobClient.onConversationEvent((event) => {
      if (event.kind === 'message') bobSaw.push(`${event.message.text} via ${event.message.via ?? 'server'}`);
    });
    (await bobClient.direct({ links: faults.factory })).answer(
      () => true,
      () => undefined,
    );
  });
  afterAll(async () => {
    alice.close();
    bob.close();
    await server.close();
  });

  const openSession = async () => {
    const sessions = await (await alice.open()).direct({ links: weriftLinkFactory, ackTimeoutMs: ACK_TIMEOUT_MS });
    const session = await sessions.open('bob');
    await session.opened;
    return session;
  };
  const seen = (text: string) => bobSaw.filter((line) => line.startsWith(`${text} via`));

  it('messages in flight when the channel drops arrive through the server, each once', async () => {
    const session = await openSession();
    expect(await session.send('before the drop')).toMatchObject({ via: 'direct' });
    await until('bob to show it', () => seen('before the drop').length === 1);

    faults.loseIncoming = true;
    const inFlight = ['lost one', 'lost two', 'lost three'].map((text) => session.send(text));
    await until('the three frames to be lost on the way', () => faults.lost === 3);
    faults.kill();
    faults.loseIncoming = false;

    const sent = await Promise.all(inFlight);
    expect(sent.map((message) => message.via)).toEqual(['server', 'server', 'server']);
    expect(session.state).toBe('closed');
    await until('bob to get all three', () => ['lost one', 'lost two', 'lost three'].every((text) => seen(text).length > 0));
    await (await bob.messenger()).sync();
    for (const text of ['before the drop', 'lost one', 'lost two', 'lost three']) expect(seen(text), text).toHaveLength(1);
    expect(seen('lost two')).toEqual(['lost two via server']);
  });

  it('a message that arrived but whose ack was lost is sent through the server too, and shown once', async () => {
    const session = await openSession();
    faults.loseAcks = true;
    const sent = await session.send('did you get this?');
    faults.loseAcks = false;
    // No ack within the timeout: alice cannot know it arrived, so the server took it as well.
    expect(sent).toMatchObject({ via: 'server', text: 'did you get this?' });
    expect(seen('did you get this?')).toEqual(['did you get this? via direct']);
    // Bob gets the server's copy too (a sync fetches anything not pushed yet) and keeps the one he has.
    await (await bob.messenger()).sync();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seen('did you get this?')).toHaveLength(1);
    expect(await session.send('and this one?')).toMatchObject({ via: 'direct' });
    await session.end();

    // Both histories hold each message once, in the order written.
    const expected = ['hello bob', 'before the drop', 'lost one', 'lost two', 'lost three', 'did you get this?', 'and this one?'];
    const order = (messages: { text?: string; sentAt: number; seq: number }[]) => [...messages].sort((a, b) => a.sentAt - b.sentAt || a.seq - b.seq).map((message) => message.text);
    expect(order(await bob.messages.listMessages(sent.groupId))).toEqual(expected);
    expect(order(await alice.messages.listMessages(sent.groupId))).toEqual(expected);
  });
});
