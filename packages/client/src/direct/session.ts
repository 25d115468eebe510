/**
 * @module One direct session (DESIGN §9): set up through the server's signalling, proven end to
 * end (handshake.ts), then a data channel carrying MLS messages of the 1:1 group, each acked by
 * the peer once stored (deliveries.ts). Sends fall back to the server whenever the channel is not
 * open, and so does every message the peer did not ack in time or before the channel closed;
 * ending, logging out or losing the channel closes the session with its reason, which the peer hears too.
 */
import { decodeDirectFrame, encodeDirectFrame, ErrorCode, ParleyError, type DeviceRef, type DirectSignal, type IceServer } from '@parley/protocol';
import type { Requester } from '../connection/requester.js';
import type { Messenger } from '../conversations/messenger.js';
import type { SendOptions } from '../conversations/sending.js';
import type { Message } from '../conversations/views.js';
import { checkHello, makeHello, ownFingerprint, refused, type HelloKeys } from './handshake.js';
import { sendOverChannel, sendThroughServer } from './channel-send.js';
import { Deliveries } from './deliveries.js';
import type { PeerLink, PeerLinkFactory } from './peer-link.js';
import { SetupSteps } from './setup-steps.js';

export type DirectState = 'connecting' | 'open' | 'closed';

/** A session opened or closed; `reason` says why it closed (`ended`, `logged out`, `connection lost`, `refused: …`). */
export interface DirectStateChange {
  peer: string;
  state: 'open' | 'closed';
  reason?: string;
}

export interface SessionDeps {
  request: Requester;
  messenger: Messenger;
  keys: HelloKeys;
  links: PeerLinkFactory;
  /** Also store each message on the server, for the account's other devices (off by default). */
  copyToServer: boolean;
  /** How long each step of the setup may take: an answer, a signal, the channel opening. */
  timeoutMs: number;
  /** How long a message on the channel may wait for the peer's ack before it goes through the server. */
  ackTimeoutMs: number;
  finished(session: DirectSession): void;
  /** A failure that is no one message's: a frame that would not apply, a notice that did not go out. */
  failed(error: unknown): void;
}

/** Time to let a goodbye frame leave before the channel is closed under it. */
const BYE_FLUSH_MS = 300;

/** The peer ended the session while it was being set up. */
class PeerEnded extends Error {}

export class DirectSession {
  state: DirectState = 'connecting';
  reason: string | undefined;
  /** Resolves when the session is open and proven; rejects with why it never opened. */
  readonly opened: Promise<void>;
  peerDevice: DeviceRef | undefined;
  private link: PeerLink | undefined;
  private signedFingerprint: string | undefined;
  private readonly listeners = new Set<(change: DirectStateChange) => void>();
  private readonly steps: SetupSteps;
  private readonly deliveries: Deliveries;
  private readonly early: Uint8Array[] = [];
  private settle: { resolve(): void; reject(error: Error): void } | undefined;
  private receiving: Promise<void> = Promise.resolve();
  /** Why we are ending it, once we said goodbye: the channel closing next is that, not a loss. */
  private ending: string | undefined;

  constructor(
    readonly sessionId: Uint8Array,
    readonly peer: string,
    private readonly deps: SessionDeps,
  ) {
    this.steps = new SetupSteps(deps.timeoutMs);
    this.deliveries = new Deliveries(deps.ackTimeoutMs);
    this.opened = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));
    // Callers that only watch state changes need not handle this promise.
    this.opened.catch(() => undefined);
  }

  onState(listener: (change: DirectStateChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** As the requesting device: wait for an accept, offer, check the answer, open. */
  async runAsRequester(iceServers: IceServer[]): Promise<void> {
    await this.setup(async () => {
      const answered = await this.next<{ accepted: boolean; peer: DeviceRef }>('answered', () => new ParleyError(ErrorCode.PEER_OFFLINE, `no device of ${this.peer} accepted a direct session within ${this.deps.timeoutMs / 1000} s`));
      if (!answered.accepted) throw new PeerEnded('declined');
      // The server says which device accepted; it must be one of the user we asked (its signature is checked next).
      if (answered.peer.username !== this.peer) throw refused(`the server named a device of ${answered.peer.username} for ${this.peer}`);
      this.peerDevice = answered.peer;
      const link = this.connect(iceServers);
      const offer = await link.createOffer();
      const ours = ownFingerprint(offer);
      await this.signal('offer', offer, await makeHello(this.deps.keys, this.peer, this.sessionId, ours, ''));
      const answer = await this.next<DirectSignal>('answer', () => new ParleyError(ErrorCode.PEER_OFFLINE, `${this.peer} accepted but sent no answer`));
      this.signedFingerprint = await checkHello(this.deps.keys, answered.peer, this.sessionId, answer.auth, answer.data, ours);
      await link.acceptAnswer(answer.data);
    });
  }

  /** As the device asked: accept, check the offer, answer, open. */
  async runAsAnswerer(from: DeviceRef): Promise<void> {
    this.peerDevice = from;
    await this.setup(async () => {
      const { iceServers } = await this.deps.request('direct.answer', { sessionId: this.sessionId, accept: true });
      const link = this.connect(iceServers);
      const offer = await this.next<DirectSignal>('offer', () => new ParleyError(ErrorCode.PEER_OFFLINE, `${this.peer} sent no offer`));
      this.signedFingerprint = await checkHello(this.deps.keys, from, this.sessionId, offer.auth, offer.data);
      const answer = await link.acceptOffer(offer.data);
      await this.signal('answer', answer, await makeHello(this.deps.keys, this.peer, this.sessionId, ownFingerprint(answer), this.signedFingerprint));
    });
  }

  /** What the server pushed about this session. */
  deliver(kind: 'answered' | 'signal' | 'ended', body: unknown): void {
    if (kind === 'ended') {
      // Once open, the channel no longer needs the server: its notices are about the setup only.
      if (this.state === 'connecting') this.fail(new PeerEnded((body as { reason: string }).reason));
      return;
    }
    if (kind === 'signal') {
      const signal = body as DirectSignal;
      if (signal.kind === 'candidate') {
        void this.link?.addCandidate(signal.data).catch((error: unknown) => this.deps.failed(error));
        return;
      }
      this.arrive(signal.kind, signal);
      return;
    }
    this.arrive('answered', body);
  }

  /**
   * Sends over the channel while it is open, else through the server; never lost either way.
   * Resolves once the peer acked it (`via: 'direct'`) or the server stored it (`via: 'server'`):
   * see channel-send.ts for the fallback when no ack comes.
   */
  async send(text: string, options: SendOptions = {}): Promise<Message> {
    const link = this.link;
    const route = { peer: this.peer, messenger: this.deps.messenger };
    if (this.state !== 'open' || !link || options.unlockAt !== undefined || options.sealed !== undefined) return sendThroughServer(route, text, options);
    return sendOverChannel({ ...route, link, deliveries: this.deliveries, copyToServer: this.deps.copyToServer }, text, options);
  }

  /** End the session, telling the peer why (`ended` by default; `logged out` on logout). */
  async end(reason = 'ended'): Promise<void> {
    if (this.state === 'closed') return;
    if (this.state === 'open' && this.link) {
      this.ending = reason;
      try {
        this.link.send(encodeDirectFrame({ t: 'bye', reason }));
        await new Promise((resolve) => setTimeout(resolve, BYE_FLUSH_MS));
      } catch (error) {
        this.deps.failed(error);
      }
    } else {
      await this.tellServer(reason);
    }
    this.finish(reason);
  }

  private async setup(steps: () => Promise<void>): Promise<void> {
    try {
      await steps();
      await this.next('open', () => new ParleyError(ErrorCode.PEER_OFFLINE, `the direct channel with ${this.peer} did not open within ${this.deps.timeoutMs / 1000} s`));
      const presented = await this.link?.remoteFingerprint();
      if (presented === undefined || presented !== this.signedFingerprint) throw refused(`fingerprint mismatch: the DTLS certificate ${this.peer} presented is not the one they signed`);
    } catch (error) {
      await this.abandon(error);
      return;
    }
    this.state = 'open';
    this.settle?.resolve();
    this.emit({ peer: this.peer, state: 'open' });
    for (const frame of this.early.splice(0)) this.frame(frame);
  }

  /** The setup failed: tell the peer (unless it told us), close, and say why. */
  private async abandon(error: unknown): Promise<void> {
    if (this.state === 'closed') return;
    const reason = error instanceof PeerEnded ? error.message : error instanceof ParleyError && error.code === ErrorCode.DIRECT_REFUSED ? error.message : error instanceof ParleyError && error.code === ErrorCode.PEER_OFFLINE ? 'no answer' : 'connection failed';
    if (!(error instanceof PeerEnded)) {
      if (this.state === 'open' && this.link) this.link.send(encodeDirectFrame({ t: 'bye', reason }));
      else await this.tellServer(reason);
    }
    const failure = error instanceof PeerEnded ? peerEndedError(this.peer, error.message) : error instanceof ParleyError ? error : new ParleyError(ErrorCode.CONNECTION_FAILED, `direct session with ${this.peer}: ${(error as Error).message}`, {}, { cause: error });
    this.settle?.reject(failure);
    this.finish(reason);
  }

  /** Ends the session at the server, which tells the peer; one the server already forgot is ended already. */
  private async tellServer(reason: string): Promise<void> {
    try {
      await this.deps.request('direct.end', { sessionId: this.sessionId, reason });
    } catch (error) {
      if (!(error instanceof ParleyError && error.code === ErrorCode.NOT_FOUND)) this.deps.failed(error);
    }
  }

  private connect(iceServers: IceServer[]): PeerLink {
    this.link = this.deps.links(
      { iceServers },
      {
        open: () => this.arrive('open', undefined),
        message: (data) => (this.state === 'open' ? this.frame(data) : this.early.push(data)),
        closed: () => (this.state === 'open' ? this.finish(this.ending ?? 'connection lost') : this.fail(new ParleyError(ErrorCode.CONNECTION_FAILED, `the direct channel with ${this.peer} could not be set up`))),
        failed: (error) => this.deps.failed(error),
      },
    );
    return this.link;
  }

  private frame(data: Uint8Array): void {
    let frame;
    try {
      frame = decodeDirectFrame(data);
    } catch (error) {
      this.deps.failed(new ParleyError(ErrorCode.BAD_FRAME, `${this.peer} sent an unreadable frame on the direct channel: ${(error as Error).message}`));
      return;
    }
    if (frame.t === 'bye') return this.finish(frame.reason);
    if (frame.t === 'ack') return this.deliveries.acked(frame.id);
    const sender = this.peerDevice;
    if (!sender) return;
    const { id } = frame;
    const payload = frame.seq === undefined ? { payload: frame.payload } : { payload: frame.payload, seq: frame.seq };
    this.receiving = this.receiving
      .then(async () => {
        // Acked only once stored: one that failed is not, so the sender falls back to the server.
        if (await this.deps.messenger.directChannel.receive(sender, payload)) this.ack(id);
      })
      .catch((error: unknown) => this.deps.failed(error));
  }

  private ack(id: number): void {
    try {
      if (this.state === 'open') this.link?.send(encodeDirectFrame({ t: 'ack', id }));
    } catch {
      // The channel closed under the ack: the sender falls back to the server, and this device keeps one copy.
    }
  }

  private signal(kind: 'offer' | 'answer', data: string, auth: Uint8Array): Promise<unknown> {
    return this.deps.request('direct.signal', { sessionId: this.sessionId, kind, data, auth });
  }

  /** The next `key` event of the setup, within the timeout. */
  private next<T>(key: string, timedOut: () => Error): Promise<T> {
    if (this.state === 'closed') return Promise.reject(peerEndedError(this.peer, this.reason ?? 'ended'));
    return this.steps.next<T>(key, timedOut);
  }

  private arrive(key: string, value: unknown): void {
    this.steps.arrive(key, value);
  }

  /** Fails whatever step of the setup is waiting (or, if none is, the setup at once). */
  private fail(error: Error): void {
    if (!this.steps.fail(error)) void this.abandon(error);
  }

  /** Waits for the frames already received to be applied (before a caller exits, say). */
  drained(): Promise<void> {
    return this.receiving;
  }

  private finish(reason: string): void {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    this.reason = reason;
    this.link?.close();
    this.deliveries.close();
    if (!wasOpen) this.settle?.reject(peerEndedError(this.peer, reason));
    this.emit({ peer: this.peer, state: 'closed', reason });
    this.deps.finished(this);
  }

  private emit(change: DirectStateChange): void {
    for (const listener of this.listeners) listener(change);
  }
}

function peerEndedError(peer: string, reason: string): ParleyError {
  if (reason.startsWith('refused')) return new ParleyError(ErrorCode.DIRECT_REFUSED, `direct session with ${peer} ${reason}`);
  if (reason === 'declined') return new ParleyError(ErrorCode.DIRECT_REFUSED, `${peer} declined the direct session`);
  return new ParleyError(ErrorCode.PEER_OFFLINE, `direct session with ${peer} closed: ${reason}`);
}
