import { decodeDirectFrame } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import type { DirectMessaging, DirectPayload } from '../conversations/direct-messages.js';
import type { SendOptions } from '../conversations/sending.js';
import type { Message } from '../conversations/views.js';
import { sendOverChannel, type ChannelRoute } from './channel-send.js';
import { Deliveries, type AckTimers } from './deliveries.js';

/** Timers that run only when the test says time has passed. */
class ManualTimers implements AckTimers {
  private readonly pending = new Set<{ expired: () => void }>();
  start(expired: () => void): unknown {
    const timer = { expired };
    this.pending.add(timer);
    return timer;
  }
  stop(timer: unknown): void {
    this.pending.delete(timer as { expired: () => void });
  }
  expireAll(): void {
    for (const timer of [...this.pending]) {
      this.pending.delete(timer);
      timer.expired();
    }
  }
}

function message(text: string, sentAt: number, via: 'direct' | 'server', seq: number): Message {
  return { groupId: 'g', seq, sender: 'alice', senderDevice: 'd1', sentAt, text, read: true, conversation: 'bob', kind: 'direct', via };
}

/** A channel and a messenger that record what went where; the channel can be made to fail. */
function rig(options: { copyToServer?: boolean } = {}) {
  const timers = new ManualTimers();
  const deliveries = new Deliveries(5_000, timers);
  const onChannel: { id: number; text: string }[] = [];
  const resent: { text: string; sentAt: number }[] = [];
  const throughServer: { text: string; options: SendOptions }[] = [];
  const link = { broken: false, ackAtOnce: false };
  let clock = 100;
  const directChannel: Pick<DirectMessaging, 'send' | 'resend'> = {
    send: async (_peer, text, transmit, sendOptions) => {
      const sentAt = clock++;
      await sendOptions.onSealed?.({ groupId: 'g', epoch: 1, message: new Uint8Array([sentAt]), sentAt, direct: true });
      transmit({ payload: new TextEncoder().encode(text) } satisfies DirectPayload);
      return message(text, sentAt, 'direct', 1 + sentAt / 1000);
    },
    resend: async (_peer, text, sentAt) => {
      resent.push({ text, sentAt });
      return message(text, sentAt, 'server', 7);
    },
  };
  const route: ChannelRoute = {
    peer: 'bob',
    copyToServer: options.copyToServer ?? false,
    deliveries,
    link: {
      send: (data) => {
        if (link.broken) throw new Error('the direct channel is not open');
        const frame = decodeDirectFrame(data);
        if (frame.t !== 'msg') throw new Error(`unexpected ${frame.t} frame`);
        onChannel.push({ id: frame.id, text: new TextDecoder().decode(frame.payload) });
        // The peer stored it and acked before the send returned.
        if (link.ackAtOnce) deliveries.acked(frame.id);
      },
    },
    messenger: {
      directChannel: directChannel as DirectMessaging,
      sendDirect: async (_peer, text, sendOptions = {}) => {
        throughServer.push({ text, options: sendOptions });
        return message(text, sendOptions.sealed?.sentAt ?? clock++, 'server', 8);
      },
    },
  };
  const send = (text: string, sendOptions: SendOptions = {}) => sendOverChannel(route, text, sendOptions);
  return { timers, deliveries, link, onChannel, resent, throughServer, send };
}

describe('sending over a direct channel, acked or through the server', () => {
  it('resolves via the channel once the peer acks, and sends nothing through the server', async () => {
    const { deliveries, onChannel, resent, throughServer, send } = rig();
    const sending = send('hello');
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(onChannel).toEqual([{ id: 0, text: 'hello' }]);
    deliveries.acked(0);
    expect(await sending).toMatchObject({ text: 'hello', via: 'direct' });
    expect(resent).toEqual([]);
    expect(throughServer).toEqual([]);
  });

  it('takes an ack that comes back before the send returns', async () => {
    const { link, resent, send } = rig();
    link.ackAtOnce = true;
    expect(await send('quick')).toMatchObject({ via: 'direct' });
    expect(resent).toEqual([]);
  });

  it('with no ack in time, sends it through the server with its first sentAt; a late ack changes nothing', async () => {
    const { timers, deliveries, onChannel, resent, send } = rig();
    const sending = send('anyone there?');
    await new Promise((resolve) => setTimeout(resolve, 0));
    timers.expireAll();
    const sent = await sending;
    expect(sent).toMatchObject({ text: 'anyone there?', via: 'server' });
    expect(resent).toEqual([{ text: 'anyone there?', sentAt: sent.sentAt }]);
    deliveries.acked(onChannel[0]?.id ?? -1);
    expect(resent).toHaveLength(1);
  });

  it('when the channel closes, every unacked message goes through the server, once, and acked ones do not', async () => {
    const { deliveries, onChannel, resent, send } = rig();
    const sends = [send('one'), send('two'), send('three')];
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(onChannel.map((frame) => frame.id)).toEqual([0, 1, 2]);
    deliveries.acked(1);
    deliveries.close();
    deliveries.close();
    const sent = await Promise.all(sends);
    expect(sent.map((m) => `${m.text} via ${m.via}`)).toEqual(['one via server', 'two via direct', 'three via server']);
    expect(resent.map((r) => r.text)).toEqual(['one', 'three']);
    // After the close, a new message is not waited for: it goes through the server at once.
    expect(await deliveries.expect().confirmed).toBe(false);
  });

  it('a channel already gone sends through the server, as the fallback the outbox kept (same sentAt)', async () => {
    const { link, onChannel, throughServer, send } = rig();
    link.broken = true;
    const kept: number[] = [];
    const sent = await send('into the void', { onSealed: async (sealed) => void kept.push(sealed.sentAt) });
    expect(sent).toMatchObject({ via: 'server' });
    expect(onChannel).toEqual([]);
    expect(throughServer).toHaveLength(1);
    expect(throughServer[0]?.options.sealed).toMatchObject({ direct: true, sentAt: kept[0] });
  });

  it('with a copy through the server, waits for no ack', async () => {
    const { resent, send } = rig({ copyToServer: true });
    expect(await send('copied')).toMatchObject({ via: 'direct' });
    expect(resent).toEqual([]);
  });
});
