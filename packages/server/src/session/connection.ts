/**
 * @module One client connection: the Noise NX handshake (DESIGN §4), then sealed request/reply
 * frames, each request answered by dispatch.ts. Bad input gets an error reply; a broken channel
 * gets a close code.
 */
import { CryptoError, type HandshakeResult, type StaticKeyPair } from '@parley/crypto';
import {
  CloseCode,
  CodecError,
  decodeRequest,
  encodeErrorReply,
  encodeEvent,
  ErrorCode,
  fragment,
  ParleyError,
  Reassembler,
  SUPPORTED_VERSIONS,
  ValidationError,
  type EventKind,
  type EventOf,
  type Request,
  type DeviceRef,
} from '@parley/protocol';
import type { Logger } from '../logger.js';
import type { StrikeReason } from '../services/abuse.js';
import { TokenBucket } from '../services/rate-limit.js';
import { Authentication } from './authentication.js';
import { answerHello } from './server-hello.js';
import { answer, type DispatchContext, type DispatchOptions } from './dispatch.js';
import { sharedFragments } from './shared-fragments.js';

/** The little of a WebSocket a connection needs; the transport adapts `ws` to it. */
export interface FrameSocket {
  send(frame: Uint8Array): void;
  close(code: number, reason: string): void;
  /** Sends the close frame and destroys the socket at once, without waiting for the peer's answer. */
  abort(code: number, reason: string): void;
}

/** Shared by all of a server's connections: the callbacks take the connection they are about. */
export interface ConnectionOptions extends DispatchOptions {
  staticKey: StaticKeyPair;
  log: Logger;
  handshakeTimeoutMs: number;
  authTimeoutMs: number;
  maxBadFrames: number;
  onAuthenticated(connection: Connection, session: DeviceRef): void;
  onClosed(connection: Connection): void;
  /** Counts a strike against the client's address (DESIGN §10): missed deadlines, malformed frames, failed logins. */
  onStrike?(address: string, reason: StrikeReason): void;
  /** A proof of `username`'s credential failed, or was replaced or abandoned (counted per account, DESIGN §10). */
  onFailedProof?(username: string): void;
  /** Requests per second this connection may make (bursts of two seconds' worth); unlimited if absent. */
  requestsPerSecond?: number;
}

/** `HANDSHAKE_TIMEOUT` → `handshake_timeout`: the `reason` label of closes counted in /metrics. */
const closeReasons = new Map<number, string>(Object.entries(CloseCode).map(([name, code]) => [code, name.toLowerCase()]));

// Requests are handled one at a time, in order; this bounds how many may wait.
const MAX_QUEUED_FRAMES = 64;

export class Connection implements DispatchContext {
  readonly auth: Authentication = new Authentication(this);
  handshakeHash: Uint8Array = new Uint8Array(0);
  private channel: HandshakeResult | undefined;
  private readonly reassembler = new Reassembler();
  private badFrames = 0;
  private queued = 0;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private dispatching = false;
  private revokeAfterReply = false;
  private deadline: ReturnType<typeof setTimeout> | undefined;
  readonly requests: TokenBucket | undefined;
  private childLog: Logger | undefined;

  /** `id` names the connection in its logs; `address` is the client's, for strikes against it. */
  constructor(
    private readonly socket: FrameSocket,
    private readonly options: ConnectionOptions,
    readonly id: number,
    readonly address: string,
  ) {
    this.deadline = setTimeout(() => {
      this.strike('handshake_timeout');
      this.close(CloseCode.HANDSHAKE_TIMEOUT, 'handshake timeout', { abort: true });
    }, options.handshakeTimeoutMs);
    this.requests = options.requestsPerSecond === undefined ? undefined : new TokenBucket(options.requestsPerSecond, options.requestsPerSecond * 2);
  }

  /** Made when the connection first logs: most never do, and idle ones are many. */
  get log(): Logger {
    return (this.childLog ??= this.options.log.child({ conn: this.id }));
  }

  strike(reason: StrikeReason): void {
    this.options.onStrike?.(this.address, reason);
  }

  /** Every failed proof is a strike for the address and a failure for the account. */
  failedProof(username: string): void {
    this.strike('auth_failed');
    this.options.onFailedProof?.(username);
  }

  get session(): DeviceRef | undefined {
    return this.auth.session;
  }

  /** Feed one binary WebSocket message. */
  receive(frame: Uint8Array): void {
    if (this.closed) return;
    if (++this.queued > MAX_QUEUED_FRAMES) {
      this.close(CloseCode.RATE_LIMITED, 'too many requests in flight');
      return;
    }
    this.queue = this.queue
      .then(() => (this.closed ? undefined : this.channel ? this.handleSealed(frame) : this.handleHandshake(frame)))
      .catch((error: unknown) => {
        this.log.error({ err: error }, 'connection handler failed');
        this.close(CloseCode.CHANNEL_BROKEN, 'internal error');
      })
      .finally(() => {
        this.queued--;
      });
  }

  sendEvent<K extends EventKind>(kind: K, body: EventOf<K>): void {
    this.sendSealed(encodeEvent(kind, body));
  }

  /** Push an event envelope already encoded with `encodeEvent` (as the bus carries them). */
  sendEncodedEvent(envelope: Uint8Array): void {
    this.sendChunks(sharedFragments(envelope));
  }

  /** End this session because its device was revoked; a request in flight still gets its reply first. */
  revoke(): void {
    if (this.closed) return;
    this.sendEvent('session.revoked', { reason: 'this device was logged out or revoked' });
    if (this.dispatching) this.revokeAfterReply = true;
    else this.close(CloseCode.SESSION_REVOKED, 'device revoked');
  }

  /**
   * Closes with `code`. With `abort`, for a peer that missed a deadline and may never answer the
   * close handshake, the socket is destroyed at once instead of waiting for its answer.
   */
  close(code: number, reason: string, options: { abort?: boolean } = {}): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.deadline);
    this.options.metrics?.closed.inc({ reason: closeReasons.get(code) ?? String(code) });
    this.auth.abandon();
    if (options.abort) this.socket.abort(code, reason);
    else this.socket.close(code, reason);
    this.options.onClosed(this);
  }

  /** The socket went away from the other side. */
  socketClosed(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.deadline);
    this.auth.abandon();
    this.options.onClosed(this);
  }

  private handleHandshake(frame: Uint8Array): void {
    let hello: ReturnType<typeof answerHello>;
    try {
      hello = answerHello(this.options.staticKey, frame);
    } catch (error) {
      if (!(error instanceof CryptoError || error instanceof CodecError || error instanceof ValidationError)) throw error;
      this.log.warn({ event: 'handshake.rejected', reason: error.message }, 'handshake rejected');
      this.strike('bad_handshake');
      this.close(CloseCode.BAD_HANDSHAKE, 'malformed handshake');
      return;
    }
    const { version, message, result } = hello;
    this.socket.send(message);
    if (!SUPPORTED_VERSIONS.includes(version)) {
      this.close(CloseCode.UNSUPPORTED_VERSION, 'unsupported protocol version');
      return;
    }
    this.channel = result;
    this.handshakeHash = result.handshakeHash;
    clearTimeout(this.deadline);
    this.deadline = setTimeout(() => {
      if (this.session) return;
      this.strike('auth_timeout');
      this.close(CloseCode.AUTH_TIMEOUT, 'authentication timeout', { abort: true });
    }, this.options.authTimeoutMs);
  }

  private async handleSealed(frame: Uint8Array): Promise<void> {
    let chunk: Uint8Array;
    try {
      chunk = (this.channel as HandshakeResult).receive.decrypt(frame);
    } catch {
      // A frame that fails authentication means the channel is desynchronised or under attack.
      this.strike('channel_broken');
      this.close(CloseCode.CHANNEL_BROKEN, 'frame failed authentication');
      return;
    }
    let envelope: Uint8Array | undefined;
    try {
      envelope = this.reassembler.push(chunk);
    } catch (error) {
      this.rejectFrame(undefined, new ParleyError(ErrorCode.FRAME_TOO_LARGE, (error as Error).message));
      return;
    }
    if (!envelope) return;
    const decoded = decodeRequest(envelope);
    if (!decoded.ok) {
      this.rejectFrame(decoded.id, decoded.error);
      return;
    }
    await this.dispatch(decoded.request);
  }

  private rejectFrame(id: number | undefined, error: ParleyError): void {
    this.options.metrics?.errors.inc({ code: error.code });
    this.strike('bad_frame');
    this.sendSealed(encodeErrorReply(id, error.toWire()));
    if (++this.badFrames >= this.options.maxBadFrames) this.close(CloseCode.TOO_MANY_BAD_FRAMES, 'too many malformed frames');
  }

  private async dispatch(request: Request): Promise<void> {
    const before = this.auth.identity.kind;
    this.dispatching = true;
    try {
      this.sendSealed(await answer(request, this, this.options));
    } finally {
      this.dispatching = false;
    }
    if (this.revokeAfterReply) {
      this.close(CloseCode.SESSION_REVOKED, 'device revoked');
      return;
    }
    // Handlers may have signed the connection in while awaiting; re-read it.
    const session = this.auth.session;
    if (before !== 'device' && session) {
      clearTimeout(this.deadline);
      // Not kept: a signed-in connection may stay open, idle, for days.
      this.deadline = undefined;
      this.options.onAuthenticated(this, session);
    }
  }

  private sendSealed(envelope: Uint8Array): void {
    this.sendChunks(fragment(envelope));
  }

  private sendChunks(chunks: readonly Uint8Array[]): void {
    if (this.closed || !this.channel) return;
    for (const chunk of chunks) this.socket.send(this.channel.send.encrypt(chunk));
  }
}
