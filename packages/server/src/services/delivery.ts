/**
 * @module Delivery (DESIGN §6): application messages into a group's ordered log, and each
 * device's view of what it has not acknowledged yet (its mailbox and its groups' logs). What
 * every routed device acknowledged is deleted, and so is anything past the retention limit; a
 * device that had not read what retention deleted is told so by a gap, never silently.
 */
import { equalBytes, ErrorCode, groupIdText, ParleyError, sameDevice, type DeviceRef, type RequestOf, type ResponseOf } from '@parley/protocol';
import type { Logger } from '../logger.js';
import { StorageNotFoundError, type Storage } from '../storage/index.js';
import { requireDevice } from './groups.js';
import { Budgets } from './rate-limit.js';
import { checkApplicationMessage } from './mls-checks.js';
import { blockedBy, type ConsentService } from './consent.js';
import type { Push } from './push.js';
import { logEntry, mailboxEntry } from './protocol-shapes.js';

export const DEFAULT_FETCH_LIMIT = 500;
/**
 * How far back in a group's log a resent message is looked for: a client resends when it
 * reconnects, long before a thousand other entries come in between.
 */
export const RESEND_WINDOW = 1000;
/**
 * Payload bytes in one sync.fetch reply (though always at least one entry, which may be larger:
 * a message of up to half an envelope). Every reply is sealed frame by frame at once, so keeping
 * them small keeps each one short for the event loop; a backlog takes more round trips.
 */
export const FETCH_MAX_BYTES = 256 * 1024;
/** Bytes of log entries and mailbox payloads an account may fetch a second, on average. */
export const DEFAULT_FETCH_BYTES_PER_SECOND = 2 * 1024 * 1024;
/** How often the retention sweep runs, at most. */
const MAX_SWEEP_INTERVAL_MS = 60 * 60_000;

export interface DeliveryOptions {
  /** Log entries older than this are deleted, read or not (DESIGN §6: default 30 days). */
  retentionMs: number;
  /** See ServerConfig.deviceBacklogQuota. */
  deviceBacklogQuota: number;
  /** See ServerConfig.fetchBytesPerSecond. */
  fetchBytesPerSecond?: number;
}

export class DeliveryService {
  /**
   * sync.fetch is the one request whose reply can be large (up to FETCH_MAX_BYTES, sealed frame by
   * frame): it is paid for by the bytes it returns, per account, not just by the request count.
   * Two seconds' worth may go at once, so a device catching up is not slowed at first.
   */
  private readonly fetched: Budgets;

  constructor(
    private readonly storage: Storage,
    private readonly consent: ConsentService,
    private readonly push: Push,
    private readonly log: Logger,
    private readonly options: DeliveryOptions,
    private readonly now: () => number = Date.now,
  ) {
    const perSecond = options.fetchBytesPerSecond ?? DEFAULT_FETCH_BYTES_PER_SECOND;
    this.fetched = new Budgets(perSecond, 2 * perSecond, now);
  }

  async send(session: DeviceRef, body: RequestOf<'group.send'>): Promise<ResponseOf<'group.send'>> {
    const epoch = checkApplicationMessage(body.message, body.groupId);
    if (epoch !== body.epoch) throw new ParleyError(ErrorCode.BAD_REQUEST, `message was encrypted in epoch ${epoch}, not ${body.epoch}`);
    if (body.resend) {
      const already = await this.findResent(session, body, epoch);
      if (already !== undefined) return { seq: already };
    }
    let stored;
    try {
      stored = await this.storage.appendMessage(
        {
          groupId: body.groupId,
          epoch,
          sender: session,
          payload: body.message,
          createdAt: this.now(),
          backlogQuota: this.options.deviceBacklogQuota,
          resendWindow: RESEND_WINDOW,
        },
        (group) => {
          requireDevice(group, session);
          // In a direct conversation the server can refuse for the one recipient; in a group the blocker's client hides it.
          // The blockers are read inside the send's transaction: a read before it would wait for a group commit of its own.
          if (group.blockers.length > 0) throw blockedBy(group.blockers);
          // Only the current epoch: members who joined at a later epoch could never read an older one
          // (their Welcome starts there). The sender catches up on STALE_EPOCH and encrypts again.
          if (epoch < group.epoch) {
            throw new ParleyError(ErrorCode.STALE_EPOCH, `the group moved on to epoch ${group.epoch}; process the newer commits, then send again`, { epoch: group.epoch });
          }
          if (epoch > group.epoch) throw new ParleyError(ErrorCode.BAD_REQUEST, `message is for epoch ${epoch} but the group is at ${group.epoch}`);
        },
      );
    } catch (error) {
      if (error instanceof StorageNotFoundError) throw new ParleyError(ErrorCode.NOT_FOUND, 'no such group');
      throw error;
    }
    // Checked first: the group's id would be encoded for every message, for a line rarely kept.
    if (this.log.isLevelEnabled('debug')) this.log.debug({ event: 'group.send', group: groupIdText(body.groupId), seq: stored.entry.seq }, 'message stored');
    await this.push.toDevices(
      stored.members.filter((device) => !sameDevice(device, session)),
      'message',
      logEntry(stored.entry),
    );
    return { seq: stored.entry.seq };
  }

  /**
   * The seq of a resent message already stored (its reply was lost), so nobody gets it twice; looked
   * for before the epoch check, as the epoch may have moved on since the first attempt. Only a sender
   * who may send now is answered: a removed or blocked one would learn from it how busy the group is.
   */
  private async findResent(session: DeviceRef, body: RequestOf<'group.send'>, epoch: number): Promise<number | undefined> {
    const group = await this.storage.getGroup(body.groupId);
    if (!group) throw new ParleyError(ErrorCode.NOT_FOUND, 'no such group');
    requireDevice(group, session);
    // As the send's own check does, for a direct conversation (usually nobody: one indexed query).
    const blockers = group.kind === 'direct' ? await this.consent.blockersOf(session.username) : new Set<string>();
    const blocker = group.members.find((member) => blockers.has(member.username));
    if (blocker) throw blockedBy([blocker.username]);
    const already = await this.storage.findSentMessage(body.groupId, session, epoch, body.message, RESEND_WINDOW);
    if (already !== undefined) this.log.debug({ event: 'group.send', group: groupIdText(body.groupId), seq: already }, 'message resent; already stored');
    return already;
  }

  /** Relay a sealed history chunk to another active device of the same account (DESIGN §5). */
  async transfer(session: DeviceRef, body: RequestOf<'device.transfer'>): Promise<ResponseOf<'device.transfer'>> {
    if (body.to === session.deviceId) throw new ParleyError(ErrorCode.BAD_REQUEST, 'a device cannot send history to itself');
    const target = await this.storage.getDevice(session.username, body.to);
    if (!target || target.revokedAt !== undefined) throw new ParleyError(ErrorCode.UNKNOWN_DEVICE, `no active device ${body.to} on this account`);
    const record = await this.storage.queueMailbox({
      recipient: { username: session.username, deviceId: body.to },
      kind: 'transfer',
      groupId: body.transferId,
      seq: body.index,
      sender: session,
      createdAt: this.now(),
      payload: body.payload,
    });
    await this.push.toDevices([record.recipient], 'mailbox', mailboxEntry(record));
    return {};
  }

  async fetch(session: DeviceRef, body: RequestOf<'sync.fetch'>): Promise<ResponseOf<'sync.fetch'>> {
    const retryAfterMs = this.fetched.wait(session.username);
    if (retryAfterMs !== undefined) {
      throw new ParleyError(ErrorCode.RATE_LIMITED, `this account fetched a lot just now; retry in ${retryAfterMs} ms`, { retryAfterMs });
    }
    const { range } = body;
    if (range) {
      // Only a group the device reads (or was removed from and has not caught up with).
      const readable = (await this.storage.listCursors(session)).some((cursor) => equalBytes(cursor.groupId, range.groupId));
      if (!readable) throw new ParleyError(ErrorCode.BAD_REQUEST, `this device is not in group ${groupIdText(range.groupId)}`);
      if (range.toSeq !== undefined && range.toSeq < range.fromSeq) {
        throw new ParleyError(ErrorCode.BAD_REQUEST, `range ends (toSeq ${range.toSeq}) before it starts (fromSeq ${range.fromSeq})`);
      }
    }
    const fetched = await this.storage.fetchForDevice(session, { limit: body.limit ?? DEFAULT_FETCH_LIMIT, maxBytes: FETCH_MAX_BYTES, ...(range ? { range } : {}) });
    const bytes = [...fetched.mailbox, ...fetched.entries].reduce((sum, entry) => sum + (entry.payload?.byteLength ?? 0), 0);
    this.fetched.spend(session.username, bytes);
    return {
      mailbox: fetched.mailbox.map(mailboxEntry),
      entries: fetched.entries.map(logEntry),
      gaps: fetched.gaps,
      more: fetched.more,
    };
  }

  /**
   * Cursors move forward only, and only in groups the device is routed in (or was removed from
   * and has not caught up with), never past the group's last entry. Then whatever every routed
   * device has acknowledged is deleted.
   */
  async ack(session: DeviceRef, body: RequestOf<'sync.ack'>): Promise<ResponseOf<'sync.ack'>> {
    // One cursor per group, one mailbox id once: the lists are bounded by what the device has.
    const named = new Set<string>();
    for (const { groupId } of body.cursors) {
      if (named.has(groupIdText(groupId))) throw new ParleyError(ErrorCode.BAD_REQUEST, `cursors lists group ${groupIdText(groupId)} twice`);
      named.add(groupIdText(groupId));
    }
    if (new Set(body.mailbox).size !== body.mailbox.length) throw new ParleyError(ErrorCode.BAD_REQUEST, 'mailbox lists an entry twice');
    const { mailbox, entries } = await this.storage.acknowledge(session, body, (current) => {
      const cursors = new Map(current.map((cursor) => [groupIdText(cursor.groupId), cursor]));
      for (const { groupId, seq } of body.cursors) {
        const cursor = cursors.get(groupIdText(groupId));
        if (!cursor) throw new ParleyError(ErrorCode.BAD_REQUEST, `this device is not in group ${groupIdText(groupId)}`);
        const end = cursor.removedSeq ?? cursor.lastSeq;
        if (seq > end) throw new ParleyError(ErrorCode.BAD_REQUEST, `group ${groupIdText(groupId)} has no entry ${seq} for this device (last is ${end})`);
      }
    });
    if (mailbox + entries > 0) this.log.debug({ event: 'sync.ack', mailbox, entries }, 'acknowledged');
    return {};
  }

  /** Retention: deletes log entries past the limit, and expired KeyPackages. */
  async sweep(): Promise<{ entries: number; keyPackages: number }> {
    const now = this.now();
    const entries = await this.storage.deleteLogBefore(now - this.options.retentionMs);
    const keyPackages = await this.storage.deleteExpiredKeyPackages(now);
    if (entries + keyPackages > 0) this.log.info({ event: 'retention.swept', entries, keyPackages }, 'retention sweep');
    return { entries, keyPackages };
  }

  /**
   * Sweeps now and then periodically; returns the function that stops it and waits for a sweep
   * in progress. The timer never keeps the process alive.
   */
  startRetention(): () => Promise<void> {
    const interval = Math.max(1_000, Math.min(MAX_SWEEP_INTERVAL_MS, Math.floor(this.options.retentionMs / 4)));
    let running: Promise<unknown> = Promise.resolve();
    const run = () => {
      running = running.then(() => this.sweep()).catch((error: unknown) => this.log.error({ err: error, event: 'retention.failed' }, 'retention sweep failed'));
    };
    run();
    const timer = setInterval(run, interval);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await running;
    };
  }
}
