/**
 * @module Conversations over MLS (DESIGN §6), as one facade: direct chats and groups, sending,
 * membership, and receiving (pushed or fetched), with events for what happens. Every change of
 * a group's state runs one at a time, and is saved with what it produced before it is shown or
 * acknowledged. The work lives in the modules beside this one.
 */
import type { MlsMember } from '@parley/crypto';
import type { DeviceRef, Event, GroupSummary } from '@parley/protocol';
import type { Requester } from '../connection/requester.js';
import type { ClientStore, ConversationRecord } from '../store/client-store.js';
import { AuthenticationService } from '../trust/authentication-service.js';
import type { Directory } from '../trust/directory.js';
import type { MessengerContext } from './context.js';
import { directMessaging, type DirectMessaging } from './direct-messages.js';
import { Contacts } from './contacts.js';
import { ConversationEvents, syncResult, type ConversationEvent, type SyncResult } from './events.js';
import { GroupSummaries, groupIdBytes } from './group-summaries.js';
import { sendHistory } from './history.js';
import { Inbox } from './inbox.js';
import { KeyPackages } from './key-packages.js';
import { directConversation, findGroup } from './lookup.js';
import { addUsers, createConversation, leaveConversation, removeUsers } from './membership.js';
import { Pipeline } from './pipeline.js';
import { acceptRequest, blockUser, declineRequest, findRequest, pendingRequests, type MessageRequest } from './requests.js';
import { forgetDepartures, noteDeparture, settleDepartures, shareTitles } from './reconcile.js';
import { sendContent, sendText, type SendOptions } from './sending.js';
import { SerialQueue } from './serial-queue.js';
import { syncAll } from './sync.js';
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
  private readonly queue = new SerialQueue();
  /** Run `task` after every earlier one: group state changes must never interleave. */
  private readonly serial = <T>(task: () => Promise<T>): Promise<T> => this.queue.run(task);
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

  /** Resolves once everything asked of the messenger so far (pushes included) is done. */
  settled(): Promise<void> {
    return this.queue.settled();
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
      const { conversation, created } = await directConversation(this.ctx, this.inbox, peer, this.catchUp);
      return created ? sendText(this.ctx, this.inbox, conversation, text, options) : this.sendInto(conversation, text, options);
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
    return this.serial(async () => leaveConversation(this.ctx, this.inbox, await this.findGroup(name)));
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

  /** What a lookup that found nothing does before looking again: a sync, unless pushes keep this device current. */
  private readonly catchUp = (): Promise<void> => (this.live ? Promise.resolve() : this.syncNow());

  private syncNow(): Promise<void> {
    return syncAll(this.ctx, this.inbox, this.pipeline.titleNeeded, this.keyPackages);
  }

  /** Catch the conversation up (unless pushes keep it current) and settle departures before encrypting to it. */
  private async sendInto(conversation: ConversationRecord, text: string, options: SendOptions): Promise<Message> {
    if (!this.live) await this.inbox.catchUp(conversation.groupId);
    await settleDepartures(this.ctx, this.inbox, conversation.groupId);
    return sendText(this.ctx, this.inbox, conversation, text, options);
  }

  private findGroup(name: string): Promise<ConversationRecord> {
    return findGroup(this.ctx, name, this.catchUp);
  }
}
