/**
 * @module Conversations over MLS (DESIGN §6), as one facade: direct chats and groups, sending,
 * membership, and receiving (pushed or fetched), with events for what happens. Every change of
 * a group's state runs one at a time, and is saved with what it produced before it is shown or
 * acknowledged. The work lives in the modules beside this one.
 */
import type { MlsMember } from '@parley/crypto';
import { ErrorCode, ParleyError, type DeviceRef, type Event, type GroupSummary } from '@parley/protocol';
import type { Requester } from '../connection/requester.js';
import type { ClientStore, ConversationRecord } from '../store/client-store.js';
import { AuthenticationService } from '../trust/authentication-service.js';
import type { Directory } from '../trust/directory.js';
import { refuseIfBroken } from './broken-groups.js';
import type { MessengerContext } from './context.js';
import { directMessaging, type DirectMessaging } from './direct-messages.js';
import { Contacts } from './contacts.js';
import { ConversationEvents, syncResult, type ConversationEvent, type SyncResult } from './events.js';
import { GroupSummaries, groupIdBytes } from './group-summaries.js';
import { sendHistory } from './history.js';
import { Inbox } from './inbox.js';
import { KeyPackages } from './key-packages.js';
import { addUsers, createConversation, removeUsers } from './membership.js';
import { Pipeline } from './pipeline.js';
import { acceptRequest, blockUser, declineRequest, findRequest, pendingRequests, settleRequests, type MessageRequest } from './requests.js';
import { forgetDepartures, noteDeparture, reconcileAll, settleDepartures, shareTitles } from './reconcile.js';
import { rejoinLostGroups } from './rejoin.js';
import { sendContent, sendText, type SendOptions } from './sending.js';
import { fetchReleases } from './timelocks.js';
import * as views from './views.js';
import type { Message } from './views.js';

export interface MessengerOptions {
  request: Requester;
  store: ClientStore;
  /** This device. */
  self: DeviceRef;
  member: MlsMember;
  directory: Directory;
}

export class Messenger {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly events = new ConversationEvents();
  private readonly ctx: MessengerContext;
  private readonly pipeline: Pipeline;
  private readonly inbox: Inbox;
  private readonly keyPackages: KeyPackages;

  constructor(options: MessengerOptions) {
    const contacts = new Contacts(options.request, options.store);
    this.ctx = {
      ...options,
      authentication: new AuthenticationService(options.directory),
      groups: new GroupSummaries(options.request, options.store),
      contacts,
      // A blocked user's message in a group is kept but not shown (the server cannot hold it back for me alone).
      emit: (event) => void (event.kind === 'message' && contacts.hidden.has(event.message.sender) ? undefined : this.events.emit(event)),
    };
    this.keyPackages = new KeyPackages(this.ctx);
    this.pipeline = new Pipeline(this.ctx, {
      departed: (groupId, username) => noteDeparture(this.ctx, groupId, username),
      added: (groupId, usernames) => forgetDepartures(this.ctx, groupId, usernames),
      keyPackageUsed: (kind) => this.keyPackages.used(kind),
    });
    this.inbox = new Inbox(this.ctx, this.pipeline);
  }

  /** Run `task` after every earlier one: group state changes must never interleave. */
  private serial<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task, task);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Resolves once everything asked of the messenger so far (pushes included) is done. */
  async settled(): Promise<void> {
    let current;
    do {
      current = this.queue;
      await current;
    } while (current !== this.queue);
  }

  /** Keep enough KeyPackages on the server for others to add this device (DESIGN §6). */
  start(options: { newDevice?: boolean } = {}): Promise<void> {
    return this.serial(async () => {
      await this.ctx.contacts.load();
      await this.keyPackages.ensure(options);
    });
  }

  /**
   * Hear what happens in conversations, pushed or fetched. While anyone listens, this device is
   * live: pushes keep it current, so sending skips catching up first.
   */
  onEvent(listener: (event: ConversationEvent) => void): () => void {
    return this.events.on(listener);
  }

  /** Someone listens to events: pushes are applied as they arrive and keep this device current. */
  get live(): boolean {
    return this.events.listened;
  }

  /** A push from the server: applied directly, in order (DESIGN §6), and acknowledged. */
  receive(event: Event): Promise<void> {
    if (event.kind !== 'message' && event.kind !== 'mailbox') return Promise.resolve();
    return this.serial(async () => {
      if (event.kind === 'mailbox') await this.inbox.pushedMailbox(event.body);
      else if (!(await this.inbox.pushed(event.body))) await this.syncNow();
      await shareTitles(this.ctx, this.inbox, this.pipeline.titleNeeded);
    });
  }

  /** Fetch, process and acknowledge everything new; rejoin lost groups and reconcile members. */
  sync(): Promise<SyncResult> {
    return this.serial(async () => syncResult((await this.events.collect(() => this.syncNow())).events));
  }

  /** Send a 1:1 message, creating the direct conversation on first use; `unlockAt` time-locks it (DESIGN §8). */
  sendDirect(peer: string, text: string, options: SendOptions = {}): Promise<Message> {
    return this.serial(async () => {
      if (peer === this.ctx.self.username) throw new ParleyError(ErrorCode.BAD_INPUT, 'to write to yourself, create a group');
      // A 1:1 kept from before the block too (a new one the server's contacts.add refuses).
      if (this.ctx.contacts.hidden.has(peer)) throw new ParleyError(ErrorCode.BLOCKED, `you block ${peer}; unblock ${peer} first`);
      let conversation = await this.direct(peer);
      if (!conversation && !this.live) {
        // This account may have one this device has not joined yet (a Welcome waiting, a new device).
        await this.syncNow();
        conversation = await this.direct(peer);
      }
      if (!conversation) await this.refuseBroken((c) => c.kind === 'direct' && c.peer === peer);
      if (conversation) {
        // The group's tree holds the keys checked when they joined; the pin check refuses a key
        // changed since (IDENTITY_KEY_CHANGED) before anything is sent.
        await this.ctx.directory.entry(peer);
        // Writing to someone by name makes them my contact, which accepts their pending 1:1 request.
        if (conversation.requestFrom !== undefined) conversation = await acceptRequest(this.ctx, conversation.groupId);
        return this.sendInto(conversation, text, options);
      }
      await this.ctx.directory.entry(peer, { refresh: true });
      await this.ctx.contacts.add([peer], this.ctx.self.username);
      return sendText(this.ctx, this.inbox, await createConversation(this.ctx, this.inbox, 'direct', peer, [peer]), text, options);
    });
  }

  sendToGroup(name: string, text: string, options: SendOptions = {}): Promise<Message> {
    return this.serial(async () => this.sendInto(await this.findGroup(name), text, options));
  }

  /**
   * Ask the server for the released keys of every message still locked on this device, and open
   * those (DESIGN §8); releases also arrive by themselves, pushed or at a sync.
   */
  fetchReleases(): Promise<SyncResult> {
    return this.serial(async () => {
      const { events } = await this.events.collect(async () => this.pipeline.opened(await fetchReleases(this.ctx)));
      return syncResult(events);
    });
  }

  createGroup(title: string, members: string[]): Promise<ConversationRecord> {
    return this.serial(async () => {
      // The people I start a group with become my contacts (DESIGN §6 consent).
      await this.ctx.contacts.add(members, this.ctx.self.username);
      const conversation = await createConversation(this.ctx, this.inbox, 'group', title, members);
      await sendContent(this.ctx, this.inbox, conversation, { t: 'meta', title });
      return conversation;
    });
  }

  addToGroup(name: string, usernames: string[]): Promise<void> {
    return this.serial(async () => {
      const group = await this.findGroup(name);
      await this.ctx.contacts.add(usernames, this.ctx.self.username);
      const updated = await addUsers(this.ctx, this.inbox, group, usernames);
      await forgetDepartures(this.ctx, updated.groupId, usernames);
      await sendContent(this.ctx, this.inbox, updated, { t: 'meta', title: updated.title });
    });
  }

  removeFromGroup(name: string, usernames: string[]): Promise<void> {
    return this.serial(async () => removeUsers(this.ctx, this.inbox, await this.findGroup(name), usernames));
  }

  /** Tell the members (encrypted), stop the server routing to us; a remaining member commits our removal. */
  leaveGroup(name: string): Promise<void> {
    return this.serial(async () => {
      const conversation = await this.findGroup(name);
      // Leaving a request I never accepted is declining it: nothing goes into it, not even a goodbye.
      if (conversation.requestFrom !== undefined) return void (await declineRequest(this.ctx, conversation));
      await sendContent(this.ctx, this.inbox, conversation, { t: 'leave' });
      await this.ctx.request('group.leave', { groupId: groupIdBytes(conversation.groupId) });
      const current = (await this.ctx.store.getConversation(conversation.groupId)) ?? conversation;
      await this.ctx.store.apply({ conversation: { ...current, active: false } });
    });
  }

  /** The group as the server routes it now: members' devices and admins. */
  async groupSummary(name: string): Promise<{ conversation: ConversationRecord; summary: GroupSummary }> {
    const conversation = await this.serial(() => this.findGroup(name));
    return { conversation, summary: await this.ctx.groups.get(conversation.groupId, { refresh: true }) };
  }

  async promote(name: string, username: string): Promise<GroupSummary> {
    const conversation = await this.serial(() => this.findGroup(name));
    const summary = await this.ctx.request('group.promote', { groupId: groupIdBytes(conversation.groupId), username });
    await this.ctx.groups.stale(conversation.groupId);
    return summary;
  }

  /** Conversations with unread and time-locked counts, newest activity first. */
  conversations(): Promise<views.ConversationSummary[]> {
    return views.conversations(this.ctx.store, this.ctx.contacts.hidden);
  }

  /** Stored messages not yet shown, oldest first per conversation. */
  unread(): Promise<Message[]> {
    return views.unread(this.ctx.store, this.ctx.contacts.hidden);
  }

  // Consent (DESIGN §6): message requests, contacts and blocks; the work lives in requests.ts and contacts.ts.

  /** Message requests waiting for my answer, oldest first. */
  readonly requests = (): Promise<MessageRequest[]> => pendingRequests(this.ctx.store);
  /** Accept a request, named by the requester or the conversation's id or title: they become my contacts. */
  readonly acceptRequest = (name: string): Promise<ConversationRecord> => this.serial(() => acceptRequest(this.ctx, name));
  /** Decline a request: leave its group without a word. */
  readonly declineRequest = (name: string): Promise<ConversationRecord> => this.serial(async () => declineRequest(this.ctx, await findRequest(this.ctx.store, name)));
  /** Block a user at the server and decline their pending requests (returned). */
  readonly block = (username: string): Promise<ConversationRecord[]> => this.serial(() => blockUser(this.ctx, username));
  readonly unblock = (username: string): Promise<void> => this.serial(() => this.ctx.contacts.unblock(username));
  /** Users I block, as the server has them. */
  readonly blocked = async (): Promise<string[]> => (await this.ctx.contacts.refresh()).blocked;
  /** Make these users my contacts without writing to them: each sees my presence once they have me too. */
  readonly addContacts = (usernames: string[]): Promise<void> => this.serial(() => this.ctx.contacts.add(usernames, this.ctx.self.username));

  /** Senders whose messages this device does not show (users I block), from the local copy: no request. */
  get hiddenSenders(): ReadonlySet<string> {
    return this.ctx.contacts.hidden;
  }

  /** Time-locked messages not opened yet, soonest unlock first. */
  lockedMessages(): Promise<Message[]> {
    return views.lockedMessages(this.ctx.store);
  }

  markShown(messages: Message[]): Promise<void> {
    return views.markShown(this.ctx.store, messages);
  }

  /**
   * Send this device's message history to another device of the account, sealed to that device
   * in chunks through its mailbox (DESIGN §5); `onProgress` hears each chunk as it is accepted.
   */
  sendHistory(toDeviceId: string, onProgress: (sent: number, total: number) => void = () => undefined): Promise<{ chunks: number; messages: number }> {
    return this.serial(() => sendHistory(this.ctx, toDeviceId, onProgress));
  }

  /** What direct sessions (DESIGN §9) need: MLS messages of 1:1 groups over their own channel, in this messenger's order. */
  get directChannel(): DirectMessaging {
    return directMessaging(this.ctx, this.inbox, (task) => this.serial(task));
  }
  private syncNow(): Promise<void> {
    return this.ctx.contacts.duringSync(async () => {
      await this.inbox.fetchAll();
      await settleRequests(this.ctx);
      let groups = await this.ctx.groups.list();
      // Joining changes the routing lists: read them again before reconciling.
      if ((await rejoinLostGroups(this.ctx, groups)).length > 0) groups = await this.ctx.groups.list();
      await reconcileAll(this.ctx, this.inbox, groups);
      await shareTitles(this.ctx, this.inbox, this.pipeline.titleNeeded);
      await this.keyPackages.ensure({ recount: true });
    });
  }

  /** Catch the conversation up (unless pushes keep it current) and settle departures before encrypting to it. */
  private async sendInto(conversation: ConversationRecord, text: string, options: SendOptions): Promise<Message> {
    if (!this.live) await this.inbox.catchUp(conversation.groupId);
    await settleDepartures(this.ctx, this.inbox, conversation.groupId);
    return sendText(this.ctx, this.inbox, conversation, text, options);
  }

  private async direct(peer: string): Promise<ConversationRecord | undefined> {
    return (await this.ctx.store.listConversations()).find((c) => c.kind === 'direct' && c.peer === peer && c.active);
  }

  /** A group by id or unambiguous title; one this device has not joined yet is looked for once more after a sync. */
  private async findGroup(name: string): Promise<ConversationRecord> {
    try {
      return await views.findGroup(this.ctx.store, name);
    } catch (error) {
      if (!(error instanceof ParleyError) || error.code !== ErrorCode.NOT_FOUND) throw error;
      if (!this.live) await this.syncNow();
      try {
        return await views.findGroup(this.ctx.store, name);
      } catch (again) {
        await this.refuseBroken((c) => c.kind === 'group' && (c.groupId === name || c.title === name));
        throw again;
      }
    }
  }

  /** GROUP_BROKEN when a conversation `matches` that this device marked broken (it is inactive, so lookups pass it over). */
  private async refuseBroken(matches: (conversation: ConversationRecord) => boolean): Promise<void> {
    for (const conversation of await this.ctx.store.listConversations()) if (!conversation.active && matches(conversation)) await refuseIfBroken(this.ctx, conversation);
  }
}
