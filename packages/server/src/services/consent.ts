/**
 * @module Consent (DESIGN §6, §7): each account's contacts and blocked users. Contacts decide who
 * sees whose presence (both must have the other); blocks are enforced here for the requests that
 * reach the blocker: claiming their KeyPackages, a Welcome to them, a message into a direct
 * conversation with them. In a group of several the server keeps one log for all, so it cannot
 * drop a message for one member: the blocker's client hides it.
 */
import { ErrorCode, MAX_BLOCKS, MAX_CONTACTS, ParleyError, type DeviceRef, type RequestOf, type ResponseOf } from '@parley/protocol';
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/index.js';
import type { PresenceService } from './presence.js';
import { RateLimiter } from './rate-limit.js';

export interface ConsentOptions {
  maxContacts: number;
  maxBlocks: number;
  /** contacts.add, remove, block and unblock requests per account per minute. */
  changesPerMinute: number;
}

/** Creating a group of 100 adds 100 contacts at once, so changes come in bursts; a script adding thousands a minute is not a person. */
export const defaultConsentOptions: ConsentOptions = { maxContacts: MAX_CONTACTS, maxBlocks: MAX_BLOCKS, changesPerMinute: 600 };

export class ConsentService {
  private readonly changes: RateLimiter;

  constructor(
    private readonly storage: Storage,
    private readonly log: Logger,
    /** Told when two users become mutual contacts or stop being, so each sees the other come or go. */
    private readonly presence?: Pick<PresenceService, 'mutualChanged'>,
    private readonly options: ConsentOptions = defaultConsentOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.changes = new RateLimiter(options.changesPerMinute, 60_000, now);
  }

  async add(session: DeviceRef, body: RequestOf<'contacts.add'>): Promise<ResponseOf<'contacts.add'>> {
    await this.change(session, body.username);
    // Writing to someone I block does not unblock them behind my back (as Signal asks first): I unblock, then write.
    if ((await this.storage.listBlockers(body.username, [session.username])).length > 0) throw youBlock(body.username);
    if ((await this.storage.countContacts(session.username)) >= this.options.maxContacts) {
      throw new ParleyError(ErrorCode.LIMIT_REACHED, `an account keeps at most ${this.options.maxContacts} contacts; remove one first`);
    }
    if (await this.storage.addContact(session.username, body.username, this.now())) {
      this.log.info({ event: 'contacts.added' }, 'contact added');
      if (await this.storage.areMutualContacts(session.username, body.username)) await this.presence?.mutualChanged(session.username, body.username, true);
    }
    return {};
  }

  async remove(session: DeviceRef, body: RequestOf<'contacts.remove'>): Promise<ResponseOf<'contacts.remove'>> {
    await this.change(session, body.username);
    const wasMutual = await this.storage.areMutualContacts(session.username, body.username);
    if (await this.storage.removeContact(session.username, body.username)) this.log.info({ event: 'contacts.removed' }, 'contact removed');
    if (wasMutual) await this.presence?.mutualChanged(session.username, body.username, false);
    return {};
  }

  async block(session: DeviceRef, body: RequestOf<'contacts.block'>): Promise<ResponseOf<'contacts.block'>> {
    await this.change(session, body.username);
    if ((await this.storage.countBlocked(session.username)) >= this.options.maxBlocks) {
      throw new ParleyError(ErrorCode.LIMIT_REACHED, `an account blocks at most ${this.options.maxBlocks} users; unblock one first`);
    }
    const wasMutual = await this.storage.areMutualContacts(session.username, body.username);
    if (await this.storage.addBlock(session.username, body.username, this.now())) this.log.info({ event: 'contacts.blocked' }, 'user blocked');
    if (wasMutual) await this.presence?.mutualChanged(session.username, body.username, false);
    return {};
  }

  async unblock(session: DeviceRef, body: RequestOf<'contacts.unblock'>): Promise<ResponseOf<'contacts.unblock'>> {
    await this.change(session, body.username);
    if (await this.storage.removeBlock(session.username, body.username)) this.log.info({ event: 'contacts.unblocked' }, 'user unblocked');
    return {};
  }

  async list(session: DeviceRef): Promise<ResponseOf<'contacts.list'>> {
    const [contacts, blocked] = await Promise.all([this.storage.listContacts(session.username), this.storage.listBlocked(session.username)]);
    return { contacts, blocked };
  }

  /** Whether each has the other as a contact: what presence between them, and direct sessions, need. */
  areMutualContacts(a: string, b: string): Promise<boolean> {
    return this.storage.areMutualContacts(a, b);
  }

  /** BLOCKED if any of `recipients` blocks `sender`. */
  async requireNotBlocked(sender: string, recipients: readonly string[]): Promise<void> {
    const others = [...new Set(recipients)].filter((username) => username !== sender);
    if (others.length === 0) return;
    const blockers = await this.storage.listBlockers(sender, others);
    if (blockers.length > 0) throw blockedBy(blockers);
  }

  /** Everyone who blocks `sender`, for checks that need the group first (a direct send). */
  async blockersOf(sender: string): Promise<Set<string>> {
    return new Set(await this.storage.listBlockers(sender));
  }

  /** Rate limit first, then the named user must exist and not be the caller. */
  private async change(session: DeviceRef, username: string): Promise<void> {
    const retryAfterMs = this.changes.take(session.username);
    if (retryAfterMs !== undefined) throw new ParleyError(ErrorCode.RATE_LIMITED, `too many contact changes from this account; retry in ${retryAfterMs} ms`, { retryAfterMs });
    if (username === session.username) throw new ParleyError(ErrorCode.BAD_INPUT, 'that is you');
    if (!(await this.storage.getAccount(username))) throw new ParleyError(ErrorCode.UNKNOWN_USER, `no user ${username}`);
  }
}

/** The caller blocks `username`: nothing new may start with them until they are unblocked. */
export function youBlock(username: string): ParleyError {
  return new ParleyError(ErrorCode.BLOCKED, `you block ${username}; unblock ${username} first`);
}

export function blockedBy(blockers: readonly string[]): ParleyError {
  return new ParleyError(ErrorCode.BLOCKED, `${blockers.join(', ')} ${blockers.length === 1 ? 'has' : 'have'} blocked you`);
}
