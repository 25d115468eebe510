/**
 * @module Direct-session signalling (DESIGN §9): the server introduces two devices that agreed to
 * talk peer to peer. It forwards a contact's request to the target's online devices, and only
 * after one accepts does it relay offers, answers and candidates between the two, rate-limited.
 * What the peers then say goes over their data channel, never through here.
 *
 * Sessions live in memory while they are being set up, on every node: each change is shared on
 * the bus (in order, per publishing node), so the two devices may be connected to any nodes.
 */
import { randomBytes } from 'node:crypto';
import { deviceKey, ErrorCode, fromBase64Url, ParleyError, sameDevice, toBase64Url, type DeviceRef, type IceServer, type RequestOf, type ResponseOf } from '@parley/protocol';
import type { Bus, BusEvents, PresenceStore } from '../bus/index.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/index.js';
import type { ConsentService } from './consent.js';
import type { Push } from './push.js';
import { RateLimiter } from './rate-limit.js';

export interface DirectOptions {
  iceServers: IceServer[];
  requestsPerMinute: number;
  signalsPerMinute: number;
  /** How long a session may take to open before the server forgets it. */
  setupTtlMs?: number;
}

interface PendingSession {
  id: Uint8Array;
  from: DeviceRef;
  to: string;
  /** The device that accepted; signals flow only once it is set. */
  peer?: DeviceRef;
  expiresAt: number;
}

const DEFAULT_SETUP_TTL_MS = 5 * 60_000;
/** Sessions one device may be setting up at once. */
const MAX_PENDING_PER_DEVICE = 8;

export class DirectService {
  private readonly sessions = new Map<string, PendingSession>();
  private readonly requests: RateLimiter;
  private readonly signals: RateLimiter;

  constructor(
    private readonly storage: Storage,
    private readonly bus: Bus,
    private readonly presence: PresenceStore,
    private readonly push: Push,
    private readonly consent: Pick<ConsentService, 'areMutualContacts'>,
    private readonly log: Logger,
    private readonly options: DirectOptions,
  ) {
    this.requests = new RateLimiter(options.requestsPerMinute, 60_000);
    this.signals = new RateLimiter(options.signalsPerMinute, 60_000);
  }

  /** Keeps this node's table in step with the other nodes'; returns the unsubscribe function. */
  listen(): () => void {
    return this.bus.subscribe('direct.session', (change) => this.apply(change));
  }

  async request(session: DeviceRef, { username }: RequestOf<'direct.request'>): Promise<ResponseOf<'direct.request'>> {
    this.limit(this.requests, session, 'direct-session requests');
    if (username === session.username) throw new ParleyError(ErrorCode.BAD_INPUT, 'a direct session is with another user');
    const devices = (await this.storage.listDevices(username)).map((device) => ({ username, deviceId: device.deviceId }));
    if (devices.length === 0) throw new ParleyError(ErrorCode.UNKNOWN_USER, `no user ${username}`);
    // Refused before the target hears anything: strangers cannot make anyone's device ring.
    if (!(await this.consent.areMutualContacts(username, session.username))) throw new ParleyError(ErrorCode.NOT_A_CONTACT, `${username} is not your contact; only contacts can go direct`);
    if ((await this.presence.filterOnline([username])).length === 0) throw new ParleyError(ErrorCode.PEER_OFFLINE, `${username} is not online`);
    this.prune();
    const mine = [...this.sessions.values()].filter((pending) => sameDevice(pending.from, session)).length;
    if (mine >= MAX_PENDING_PER_DEVICE) throw new ParleyError(ErrorCode.RATE_LIMITED, `at most ${MAX_PENDING_PER_DEVICE} direct sessions may be setting up at once`);
    const id = new Uint8Array(randomBytes(16));
    await this.share({ id: toBase64Url(id), from: session, to: username, expiresAt: Date.now() + (this.options.setupTtlMs ?? DEFAULT_SETUP_TTL_MS) });
    this.log.info({ event: 'direct.requested', from: deviceKey(session), to: username }, 'direct session requested');
    await this.push.toDevices(devices, 'direct.incoming', { sessionId: id, from: session });
    return { sessionId: id, iceServers: this.options.iceServers };
  }

  async answer(session: DeviceRef, { sessionId, accept }: RequestOf<'direct.answer'>): Promise<ResponseOf<'direct.answer'>> {
    const pending = this.find(sessionId);
    if (!pending || pending.to !== session.username) throw new ParleyError(ErrorCode.NOT_FOUND, 'no such direct-session request for you');
    if (pending.peer && !sameDevice(pending.peer, session)) throw new ParleyError(ErrorCode.NOT_FOUND, 'another of your devices already took this direct session');
    if (!accept) await this.share({ id: toBase64Url(sessionId), ended: true });
    else await this.share({ id: toBase64Url(sessionId), from: pending.from, to: pending.to, peer: session, expiresAt: pending.expiresAt });
    await this.push.toDevices([pending.from], 'direct.answered', { sessionId, accepted: accept, peer: session });
    return { peer: pending.from, iceServers: this.options.iceServers };
  }

  async signal(session: DeviceRef, body: RequestOf<'direct.signal'>): Promise<ResponseOf<'direct.signal'>> {
    this.limit(this.signals, session, 'signalling messages');
    const other = this.otherSide(body.sessionId, session);
    if (!other) throw new ParleyError(ErrorCode.NOT_FOUND, 'no accepted direct session with that id for this device');
    await this.push.toDevices([other], 'direct.signal', body);
    return {};
  }

  async end(session: DeviceRef, { sessionId, reason }: RequestOf<'direct.end'>): Promise<ResponseOf<'direct.end'>> {
    this.limit(this.signals, session, 'signalling messages');
    const pending = this.find(sessionId);
    const mine = pending && (sameDevice(pending.from, session) || pending.to === session.username);
    if (!pending || !mine) throw new ParleyError(ErrorCode.NOT_FOUND, 'no such direct session for this device');
    await this.share({ id: toBase64Url(sessionId), ended: true });
    const others = sameDevice(pending.from, session) ? (pending.peer ? [pending.peer] : await this.activeDevices(pending.to)) : [pending.from];
    await this.push.toDevices(others, 'direct.ended', { sessionId, reason });
    return {};
  }

  /**
   * A device's last connection here closed: the sessions it was setting up end, and the other
   * side hears why. Sessions already open do not depend on the server, and their peers ignore this.
   */
  async disconnected(session: DeviceRef): Promise<void> {
    for (const [key, pending] of this.sessions) {
      const requester = sameDevice(pending.from, session);
      if (!requester && !(pending.peer && sameDevice(pending.peer, session))) continue;
      await this.share({ id: key, ended: true });
      const others = requester ? (pending.peer ? [pending.peer] : await this.activeDevices(pending.to)) : [pending.from];
      await this.push.toDevices(others, 'direct.ended', { sessionId: pending.id, reason: 'connection lost' });
    }
  }

  /** The other device of an accepted session `session` is in. */
  private otherSide(sessionId: Uint8Array, session: DeviceRef): DeviceRef | undefined {
    const pending = this.find(sessionId);
    if (!pending?.peer) return undefined;
    if (sameDevice(pending.from, session)) return pending.peer;
    if (sameDevice(pending.peer, session)) return pending.from;
    return undefined;
  }

  private find(sessionId: Uint8Array): PendingSession | undefined {
    const pending = this.sessions.get(toBase64Url(sessionId));
    if (pending && pending.expiresAt < Date.now()) {
      this.sessions.delete(toBase64Url(sessionId));
      return undefined;
    }
    return pending;
  }

  private prune(): void {
    const now = Date.now();
    for (const [key, pending] of this.sessions) if (pending.expiresAt < now) this.sessions.delete(key);
  }

  /** Applies a change here at once, then tells the other nodes; a failed publish is logged (they time out instead). */
  private async share(change: BusEvents['direct.session']): Promise<void> {
    this.apply(change);
    try {
      await this.bus.publish('direct.session', change);
    } catch (error) {
      this.log.warn({ err: error, event: 'direct.share_failed' }, 'direct session change not shared with other nodes');
    }
  }

  private apply(change: BusEvents['direct.session']): void {
    if ('ended' in change) {
      this.sessions.delete(change.id);
      return;
    }
    const { id, from, to, peer, expiresAt } = change;
    this.sessions.set(id, { id: fromBase64Url(id), from, to, expiresAt, ...(peer ? { peer } : {}) });
  }

  private async activeDevices(username: string): Promise<DeviceRef[]> {
    return (await this.storage.listDevices(username)).map((device) => ({ username, deviceId: device.deviceId }));
  }

  private limit(limiter: RateLimiter, session: DeviceRef, what: string): void {
    const wait = limiter.take(deviceKey(session));
    if (wait !== undefined) throw new ParleyError(ErrorCode.RATE_LIMITED, `too many ${what} from this device; retry in ${wait} ms`, { retryAfterMs: wait });
  }
}
