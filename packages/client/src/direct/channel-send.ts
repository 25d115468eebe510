/**
 * @module Sending one text over a direct session's channel (DESIGN §9), so that it is never lost:
 * the peer acks it once stored (deliveries.ts); with no ack in time, or when the channel closes
 * first, it goes through the server as a `fallback`, which a peer that did get it keeps once. A
 * web outbox hears the ciphertext first (`onSealed`, marked `direct`), so a reload resends it as
 * that same fallback instead of a new message.
 */
import type { Messenger } from '../conversations/messenger.js';
import type { SealedText, SendOptions } from '../conversations/sending.js';
import type { Message } from '../conversations/views.js';
import { encodeDirectFrame } from '@parley/protocol';
import type { Deliveries } from './deliveries.js';
import type { PeerLink } from './peer-link.js';

export interface SendRoute {
  peer: string;
  messenger: Pick<Messenger, 'sendDirect' | 'directChannel'>;
}

export interface ChannelRoute extends SendRoute {
  link: Pick<PeerLink, 'send'>;
  deliveries: Deliveries;
  /** Each message also went through the server: it needs no ack. */
  copyToServer: boolean;
}

/** Thrown by a transmit whose channel is gone; the send then goes through the server. */
export class ChannelGone extends Error {}

export async function sendThroughServer(route: SendRoute, text: string, options: SendOptions): Promise<Message> {
  return { ...(await route.messenger.sendDirect(route.peer, text, options)), via: 'server' };
}

/** Resolves once the peer acked it (`via: 'direct'`) or the server stored it (`via: 'server'`). */
export async function sendOverChannel(route: ChannelRoute, text: string, options: SendOptions): Promise<Message> {
  const { link, deliveries, messenger } = route;
  let sealed: SealedText | undefined;
  const onSealed = async (kept: SealedText) => {
    sealed = kept;
    await options.onSealed?.(kept);
  };
  // Expected before the frame leaves: its ack may come back before this send returns.
  const expected = deliveries.expect();
  const transmit = (payload: { payload: Uint8Array; seq?: number }) => {
    try {
      link.send(encodeDirectFrame({ t: 'msg', id: expected.id, ...payload }));
    } catch (error) {
      throw new ChannelGone('the direct channel closed', { cause: error });
    }
  };
  let sent: Message;
  try {
    sent = await messenger.directChannel.send(route.peer, text, transmit, { copyToServer: route.copyToServer, onSealed });
  } catch (error) {
    deliveries.cancel(expected.id);
    // The channel went away under this send: the server takes it (the copy it already stored, if any, once).
    if (error instanceof ChannelGone) return sendThroughServer(route, text, { ...options, ...(sealed ? { sealed } : {}) });
    throw error;
  }
  // A copy the server stored needs no ack: the peer gets it from there in any case.
  if (route.copyToServer) deliveries.cancel(expected.id);
  else if (!(await expected.confirmed)) return messenger.directChannel.resend(route.peer, text, sent.sentAt);
  return sent;
}
