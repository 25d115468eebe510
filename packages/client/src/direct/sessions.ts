/**
 * @module Direct sessions of one signed-in device (DESIGN §9): opening one with a contact,
 * answering contacts who ask, and routing the server's signalling pushes to their sessions.
 */
import { ErrorCode, ParleyError, toBase64Url, type DeviceRef, type Event } from '@parley/protocol';
import type { Requester } from '../connection/requester.js';
import type { Messenger } from '../conversations/messenger.js';
import type { ProfileStore } from '../store/profile.js';
import type { HelloKeys } from './handshake.js';
import type { PeerLinkFactory } from './peer-link.js';
import { DirectSession } from './session.js';

export interface DirectOptions {
  /** The WebRTC stack: `weriftLinkFactory` in Node (`@parley/client/node`), RTCPeerConnection in browsers. */
  links: PeerLinkFactory;
  /**
   * Also send each message through the server, so it reaches this account's other devices and
   * stays in the server's log like any other. Off by default: direct messages go device to device only.
   */
  copyToServer?: boolean;
  /** How long each setup step may take (an answer, a signal, the channel opening). Default 30 s. */
  timeoutMs?: number;
  /**
   * How long a message on the channel may wait for the peer's ack before it goes through the
   * server instead (the peer keeps one copy if both arrive). Default 5 s.
   */
  ackTimeoutMs?: number;
  /**
   * Hears failures no caller awaits: a frame from the peer that would not apply, a notice that
   * could not go out. Default: the client's push error listeners (`onConversationEvent`'s onError).
   */
  onFailure?: (error: unknown) => void;
}

/** Decides on a contact's request; never asked about anyone else. */
export type DirectDecision = (from: DeviceRef) => boolean | Promise<boolean>;

export interface DirectDeps {
  request: Requester;
  messenger: Messenger;
  keys: HelloKeys;
  /** Failures no caller awaits (a frame that did not apply, a notice that did not go out). */
  failed(error: unknown): void;
}

/** What starting a device's direct sessions takes from the client. */
export interface DirectStart {
  request: Requester;
  /** The signed-in device's messenger; getting it signs the device in. */
  messenger(): Promise<Messenger>;
  self(): Promise<DeviceRef>;
  profiles: ProfileStore;
  /** Hears the server's pushes until the returned function is called. */
  onEvent(listener: (event: Event) => void): () => void;
  /** Failures no caller awaits, unless `DirectOptions.onFailure` takes them. */
  failed(error: unknown): void;
}

/**
 * The signed-in device's direct sessions, signed with its device key and sealed in its 1:1 groups.
 * Pushes are heard from the call on, so a request that comes while the device signs in is not lost.
 */
export function startDirectSessions(start: DirectStart, options: DirectOptions): Promise<DirectSessions> {
  const early: Event[] = [];
  const stopEarly = start.onEvent((event) => early.push(event));
  return (async () => {
    const messenger = await start.messenger();
    const self = await start.self();
    const secrets = await start.profiles.loadSecrets();
    if (!secrets) throw new ParleyError(ErrorCode.NOT_LOGGED_IN, 'this profile is not logged in');
    const keys = { self, signingKey: secrets.devicePrivateKey, seal: messenger.directChannel.seal, open: messenger.directChannel.open };
    const sessions = new DirectSessions({ request: start.request, messenger, keys, failed: options.onFailure ?? start.failed }, options);
    start.onEvent((event) => sessions.handle(event));
    for (const event of early) sessions.handle(event);
    return sessions;
  })().finally(stopEarly);
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_ACK_TIMEOUT_MS = 5_000;
const MAX_UNANSWERED = 16;

export class DirectSessions {
  private readonly sessions = new Map<string, DirectSession>();
  private answering: { decide: DirectDecision; opened: (session: DirectSession) => void } | undefined;
  /** Requests that came before anyone answered here, kept (a few) for when someone does. */
  private readonly unanswered: { sessionId: Uint8Array; from: DeviceRef }[] = [];

  constructor(
    private readonly deps: DirectDeps,
    private readonly options: DirectOptions,
  ) {}

  /**
   * Ask `peer` (a contact) to go direct. Resolves with the session once the server forwarded the
   * request (NOT_A_CONTACT, PEER_OFFLINE or UNKNOWN_USER otherwise); `session.opened` says when
   * it is open and proven, or why it never opened. `copyToServer` overrides the option for this session.
   */
  async open(peer: string, options: { copyToServer?: boolean } = {}): Promise<DirectSession> {
    const { sessionId, iceServers } = await this.deps.request('direct.request', { username: peer });
    const session = this.track(sessionId, peer, options.copyToServer);
    void session.runAsRequester(iceServers);
    return session;
  }

  /**
   * Answer contacts who ask to go direct: `decide` says yes or no (requests from anyone else
   * are declined without asking), `opened` gets each session
   * accepted. Returns a function that stops answering.
   */
  answer(decide: DirectDecision, opened: (session: DirectSession) => void): () => void {
    this.answering = { decide, opened };
    for (const { sessionId, from } of this.unanswered.splice(0)) void this.incoming(sessionId, from).catch((error: unknown) => this.deps.failed(error));
    return () => (this.answering = undefined);
  }

  get active(): DirectSession[] {
    return [...this.sessions.values()];
  }

  /** Ends every session, telling each peer `reason` (`logged out`, `ended`). */
  async endAll(reason: string): Promise<void> {
    await Promise.all(this.active.map((session) => session.end(reason)));
  }

  /** A push from the server; those that are not about direct sessions are ignored. */
  handle(event: Event): void {
    switch (event.kind) {
      case 'direct.incoming':
        void this.incoming(event.body.sessionId, event.body.from).catch((error: unknown) => this.deps.failed(error));
        return;
      case 'direct.answered':
        this.sessions.get(toBase64Url(event.body.sessionId))?.deliver('answered', event.body);
        return;
      case 'direct.signal':
        this.sessions.get(toBase64Url(event.body.sessionId))?.deliver('signal', event.body);
        return;
      case 'direct.ended':
        this.sessions.get(toBase64Url(event.body.sessionId))?.deliver('ended', event.body);
        return;
      case 'session.revoked':
        void this.endAll('logged out');
        return;
      default:
        return;
    }
  }

  private async incoming(sessionId: Uint8Array, from: DeviceRef): Promise<void> {
    const answering = this.answering;
    // Not answering here (yet): say nothing, so another device of this account may still accept.
    if (!answering) {
      this.unanswered.push({ sessionId, from });
      if (this.unanswered.length > MAX_UNANSWERED) this.unanswered.shift();
      return;
    }
    // The server asks only for contacts; this device checks too, and a stranger never reaches `decide`.
    if (!(await this.deps.messenger.directChannel.isContact(from.username)) || !(await answering.decide(from))) {
      await this.deps.request('direct.answer', { sessionId, accept: false });
      return;
    }
    const session = this.track(sessionId, from.username);
    answering.opened(session);
    await session.runAsAnswerer(from);
  }

  private track(sessionId: Uint8Array, peer: string, copyToServer = this.options.copyToServer ?? false): DirectSession {
    const key = toBase64Url(sessionId);
    if (this.sessions.has(key)) throw new ParleyError(ErrorCode.BAD_INPUT, 'this direct session is already under way');
    const session = new DirectSession(sessionId, peer, {
      ...this.deps,
      links: this.options.links,
      copyToServer,
      timeoutMs: this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      ackTimeoutMs: this.options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS,
      finished: (done) => this.sessions.delete(toBase64Url(done.sessionId)),
    });
    this.sessions.set(key, session);
    return session;
  }
}
