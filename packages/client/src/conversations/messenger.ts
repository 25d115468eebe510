/**
 * @module Conversations over MLS (DESIGN §6): creating 1:1 chats and groups, membership commits
 * with the Delivery Service's first-commit-wins rule, sending, and processing the ordered log.
 * Every group state change is saved together with what it produced before it is shown or acknowledged.
 */
import {
  addMembers,
  createGroup,
  encrypt,
  generateKeyPackage,
  groupMetadata,
  inspectMessage,
  joinFromWelcome,
  processMessage,
  removeMembers,
  type MlsMember,
} from '@parley/crypto';
import {
  decodeContent,
  encodeContent,
  ErrorCode,
  fromBase64Url,
  ParleyError,
  toBase64Url,
  type DeviceRef,
  type Gap,
  type GroupKind,
  type GroupSummary,
  type LogEntry,
  type MailboxEntry,
} from '@parley/protocol';
import { credentialOwner, type CredentialValidator } from './credentials.js';
import type { MessengerContext } from './context.js';
import { applyHistory, sendHistory, type HistoryChunkReceived } from './history.js';
import { commitAllowed } from './policy.js';
import * as views from './views.js';
import { recoverFromGaps, rejoinLostGroups } from './rejoin.js';
import type { Message } from './views.js';
import type { Requester } from './requester.js';
import type { ClientStore, ConversationRecord, StoredMessage } from './store.js';

export type { Requester } from './requester.js';

export type { Message } from './views.js';

export interface SyncResult {
  messages: Message[];
  gaps: Gap[];
  /** History chunks received from another device of the account in this sync. */
  history: HistoryChunkReceived[];
}


const KEY_PACKAGE_TARGET = 20;
const KEY_PACKAGE_LOW_WATER = 5;
const MAX_COMMIT_ATTEMPTS = 5;

export class Messenger {
  private queue: Promise<unknown> = Promise.resolve();
  /** Groups someone joined by external commit during this sync: they cannot know the title yet. */
  private readonly titleNeeded = new Set<string>();

  constructor(
    private readonly request: Requester,
    private readonly store: ClientStore,
    private readonly session: DeviceRef,
    private readonly member: MlsMember,
    private readonly credentials: CredentialValidator,
  ) {}

  private get context(): MessengerContext {
    return { request: this.request, store: this.store, session: this.session, member: this.member, credentials: this.credentials };
  }

  /** Run `task` after every earlier one: group state changes must never interleave. */
  private serial<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task, task);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Keep enough KeyPackages on the server for others to add this device (DESIGN §6). */
  ensureKeyPackages(): Promise<void> {
    return this.serial(async () => {
      const { count, lastResort } = await this.request('keys.count', {});
      if (count >= KEY_PACKAGE_LOW_WATER && lastResort) return;
      const fresh = await Promise.all(Array.from({ length: KEY_PACKAGE_TARGET - count }, () => generateKeyPackage(this.member)));
      const resort = lastResort ? undefined : await generateKeyPackage(this.member, { lastResort: true });
      const all = resort ? [...fresh, resort] : fresh;
      await this.store.putKeyPackages(all.map((kp) => ({ ref: toBase64Url(kp.keyPackageRef), privateState: kp.privateState, lastResort: kp === resort })));
      await this.request('keys.upload', { keyPackages: fresh.map((kp) => kp.keyPackage), ...(resort ? { lastResort: resort.keyPackage } : {}) });
    });
  }

  /** Send a 1:1 message, creating the direct conversation on first use. */
  sendDirect(peer: string, text: string): Promise<Message> {
    return this.serial(async () => {
      if (peer === this.session.username) throw new ParleyError(ErrorCode.BAD_INPUT, 'to write to yourself, create a group');
      // Refuses with IDENTITY_KEY_CHANGED before anything is sent if the peer's key is not the one we know.
      await this.credentials.entry(peer, true);
      let conversation = (await this.store.listConversations()).find((c) => c.kind === 'direct' && c.peer === peer && c.active);
      conversation ??= await this.createConversation('direct', peer, [peer]);
      return this.sendText(conversation, text);
    });
  }

  sendToGroup(name: string, text: string): Promise<Message> {
    return this.serial(async () => this.sendText(await this.findGroup(name), text));
  }

  createGroup(title: string, members: string[]): Promise<ConversationRecord> {
    return this.serial(async () => {
      const conversation = await this.createConversation('group', title, members);
      await this.sendContent(conversation, { t: 'meta', title });
      return conversation;
    });
  }

  addToGroup(name: string, usernames: string[]): Promise<void> {
    return this.serial(async () => {
      const conversation = await this.findGroup(name);
      const updated = await this.addUsers(conversation, usernames);
      await this.sendContent(updated, { t: 'meta', title: updated.title });
    });
  }

  removeFromGroup(name: string, usernames: string[]): Promise<void> {
    return this.serial(async () => {
      const conversation = await this.findGroup(name);
      await this.commitWithRetry(conversation, async (current) => {
        const leaves = groupMetadata(current.state).members.filter((leaf) => usernames.includes(credentialOwner(leaf.identity)?.username ?? ''));
        const missing = usernames.filter((user) => !leaves.some((leaf) => credentialOwner(leaf.identity)?.username === user));
        if (missing.length > 0) throw new ParleyError(ErrorCode.NOT_A_MEMBER, `not in ${current.title}: ${missing.join(', ')}`);
        const output = await removeMembers(current.state, this.member, leaves.map((leaf) => leaf.signaturePublicKey));
        const remove = leaves.map((leaf) => credentialOwner(leaf.identity)).filter((owner): owner is DeviceRef => owner !== undefined);
        return { ...output, add: [], remove };
      });
    });
  }

  /** Tell the members (encrypted), stop the server routing to us; a remaining member commits our removal. */
  leaveGroup(name: string): Promise<void> {
    return this.serial(async () => {
      const conversation = await this.findGroup(name);
      await this.sendContent(conversation, { t: 'leave' });
      await this.request('group.leave', { groupId: fromBase64Url(conversation.groupId) });
      const current = (await this.store.getConversation(conversation.groupId)) ?? conversation;
      await this.store.apply({ conversation: { ...current, active: false } });
    });
  }

  async groupSummary(name: string): Promise<{ conversation: ConversationRecord; summary: GroupSummary }> {
    const conversation = await this.findGroup(name);
    return { conversation, summary: await this.request('group.get', { groupId: fromBase64Url(conversation.groupId) }) };
  }

  async promote(name: string, username: string): Promise<GroupSummary> {
    const conversation = await this.findGroup(name);
    return this.request('group.promote', { groupId: fromBase64Url(conversation.groupId), username });
  }

  conversations(): Promise<(ConversationRecord & { unread: number })[]> {
    return views.conversations(this.store);
  }

  /** Stored messages not yet shown, oldest first per conversation. */
  unread(): Promise<Message[]> {
    return views.unread(this.store);
  }

  markShown(messages: Message[]): Promise<void> {
    return views.markShown(this.store, messages);
  }

  /** Fetch, process and acknowledge everything new. Returns the new messages in order. */
  sync(): Promise<SyncResult> {
    return this.serial(async () => {
      const messages: Message[] = [];
      const gaps: Gap[] = [];
      const history: SyncResult['history'] = [];
      for (;;) {
        const batch = await this.request('sync.fetch', { limit: 500 });
        gaps.push(...batch.gaps);
        const acked: number[] = [];
        const cursors = new Map<string, number>();
        // Acknowledging the end of a gap tells the server we know what was lost.
        for (const gap of batch.gaps) cursors.set(toBase64Url(gap.groupId), Math.max(cursors.get(toBase64Url(gap.groupId)) ?? 0, gap.toSeq));
        for (const entry of batch.mailbox) {
          if (entry.kind === 'transfer') {
            const chunk = await applyHistory(this.context, entry);
            if (chunk) history.push(chunk);
          } else {
            await this.applyMailbox(entry);
          }
          acked.push(entry.id);
        }
        for (const entry of batch.entries) {
          const message = await this.applyEntry(entry);
          if (message) messages.push(message);
          cursors.set(toBase64Url(entry.groupId), entry.seq);
        }
        if (acked.length > 0 || cursors.size > 0) {
          await this.request('sync.ack', {
            mailbox: acked,
            cursors: [...cursors].map(([groupId, seq]) => ({ groupId: fromBase64Url(groupId), seq })),
          });
        }
        if (!batch.more) break;
      }
      await recoverFromGaps(this.context, gaps);
      let { groups } = await this.request('group.list', {});
      // Joining changes the routing lists: read them again before reconciling.
      if (await rejoinLostGroups(this.context, groups)) groups = (await this.request('group.list', {})).groups;
      await this.reconcileMembers(groups);
      await this.shareTitles(groups);
      return { messages, gaps, history };
    });
  }

  private async createConversation(kind: GroupKind, title: string, members: string[]): Promise<ConversationRecord> {
    const groupId = crypto.getRandomValues(new Uint8Array(16));
    const created = await createGroup(this.member, groupId);
    await this.request('group.create', { groupId, kind, groupInfo: created.groupInfo });
    const now = Date.now();
    const conversation: ConversationRecord = {
      groupId: toBase64Url(groupId),
      kind,
      title,
      ...(kind === 'direct' ? { peer: title } : {}),
      state: created.state,
      processedSeq: 0,
      active: true,
      createdAt: now,
      lastActivityAt: now,
    };
    await this.store.apply({ conversation });
    return this.addUsers(conversation, [...new Set([...members, this.session.username])]);
  }

  /** Add every active device of `usernames` (and this account's other devices) in one commit. */
  private async addUsers(conversation: ConversationRecord, usernames: string[]): Promise<ConversationRecord> {
    await this.commitWithRetry(conversation, async (current) => {
      const present = new Set(groupMetadata(current.state).members.map((leaf) => `${credentialOwner(leaf.identity)?.username}/${credentialOwner(leaf.identity)?.deviceId}`));
      const keyPackages: Uint8Array[] = [];
      const add: DeviceRef[] = [];
      for (const username of usernames) {
        await this.credentials.entry(username, true);
        const { devices } = await this.request('keys.claim', { username });
        for (const device of devices) {
          if (present.has(`${username}/${device.deviceId}`)) continue;
          keyPackages.push(device.keyPackage);
          add.push({ username, deviceId: device.deviceId });
        }
      }
      if (keyPackages.length === 0) return undefined;
      const output = await addMembers(current.state, this.member, keyPackages, this.credentials.validate);
      return { ...output, add, remove: [] };
    });
    return (await this.store.getConversation(conversation.groupId)) ?? conversation;
  }

  /**
   * Build a commit from the current state and upload it. The server accepts only the first
   * commit for an epoch (RFC 9420 §14); on STALE_EPOCH catch up with the log and build it again.
   */
  private async commitWithRetry(
    conversation: ConversationRecord,
    build: (current: ConversationRecord) => Promise<{ commit: Uint8Array; groupInfo: Uint8Array; pendingState: Uint8Array; welcome?: Uint8Array; add: DeviceRef[]; remove: DeviceRef[] } | undefined>,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const current = (await this.store.getConversation(conversation.groupId)) ?? conversation;
      const bundle = await build(current);
      if (!bundle) return;
      const epoch = Number(groupMetadata(current.state).epoch);
      try {
        await this.request('group.commit', {
          groupId: fromBase64Url(current.groupId),
          epoch,
          commit: bundle.commit,
          groupInfo: bundle.groupInfo,
          ...(bundle.welcome ? { welcome: bundle.welcome } : {}),
          add: bundle.add,
          remove: bundle.remove,
        });
        // Only now, with the server's acceptance, does our own commit take effect. The cursor stays:
        // entries before ours may still be unprocessed, and the server never returns our own.
        await this.store.apply({ conversation: { ...current, state: bundle.pendingState, lastActivityAt: Date.now() } });
        return;
      } catch (error) {
        if (!(error instanceof ParleyError) || error.code !== ErrorCode.STALE_EPOCH || attempt >= MAX_COMMIT_ATTEMPTS) throw error;
        await this.catchUp();
      }
    }
  }

  /** Process pending log entries without taking the queue (we already hold it). */
  private async catchUp(): Promise<void> {
    const batch = await this.request('sync.fetch', { limit: 1000 });
    for (const entry of batch.mailbox) await this.applyMailbox(entry);
    for (const entry of batch.entries) await this.applyEntry(entry);
  }

  private async sendText(conversation: ConversationRecord, text: string): Promise<Message> {
    if (text.length === 0) throw new ParleyError(ErrorCode.BAD_INPUT, 'cannot send an empty message');
    const sentAt = Date.now();
    const { seq, conversation: updated } = await this.sendContent(conversation, { t: 'text', text, sentAt });
    const message: StoredMessage = { groupId: conversation.groupId, seq, sender: this.session.username, senderDevice: this.session.deviceId, sentAt, text, read: true };
    await this.store.apply({ conversation: { ...updated, lastActivityAt: sentAt }, message });
    return this.present(updated, message);
  }

  /**
   * Encrypt and send in the group's current epoch. The server takes only current-epoch messages
   * (everyone in the group can read those); on STALE_EPOCH, process the newer commits and try again.
   */
  private async sendContent(conversation: ConversationRecord, content: Parameters<typeof encodeContent>[0]): Promise<{ seq: number; conversation: ConversationRecord }> {
    for (let attempt = 1; ; attempt++) {
      const current = (await this.store.getConversation(conversation.groupId)) ?? conversation;
      if (!current.active) throw new ParleyError(ErrorCode.NOT_A_MEMBER, `you are no longer a member of ${current.title}`);
      const { message, state } = await encrypt(current.state, this.member, encodeContent(content));
      // Save the advanced ratchet before the ciphertext leaves, so a crash never reuses a key.
      const advanced = { ...current, state };
      await this.store.apply({ conversation: advanced });
      try {
        const { seq } = await this.request('group.send', { groupId: fromBase64Url(current.groupId), epoch: Number(groupMetadata(current.state).epoch), message });
        return { seq, conversation: advanced };
      } catch (error) {
        if (!(error instanceof ParleyError) || error.code !== ErrorCode.STALE_EPOCH || attempt >= MAX_COMMIT_ATTEMPTS) throw error;
        await this.catchUp();
      }
    }
  }

  private async applyMailbox(entry: MailboxEntry): Promise<void> {
    const groupId = toBase64Url(entry.groupId);
    const existing = await this.store.getConversation(groupId);
    if (entry.kind === 'removed') {
      if (existing) await this.store.apply({ conversation: { ...existing, active: false, processedSeq: Math.max(existing.processedSeq, entry.seq) } });
      return;
    }
    // History chunks are applied by sync(), which acknowledges them; catch-up leaves them queued.
    if (entry.kind !== 'welcome' || existing?.active || !entry.payload) return;
    const framing = inspectMessage(entry.payload);
    if (framing.kind !== 'welcome') return;
    for (const ref of framing.keyPackageRefs) {
      const secret = await this.store.getKeyPackage(toBase64Url(ref));
      if (!secret) continue;
      const joined = await joinFromWelcome(entry.payload, secret.privateState, this.credentials.validate);
      const summary = await this.request('group.get', { groupId: entry.groupId });
      const peer = summary.kind === 'direct' ? summary.members.map((m) => m.username).find((name) => name !== this.session.username) : undefined;
      const now = Date.now();
      await this.store.apply({
        conversation: {
          groupId,
          kind: summary.kind,
          title: peer ?? `group by ${summary.createdBy}`,
          ...(peer ? { peer } : {}),
          state: joined.state,
          processedSeq: entry.seq,
          active: true,
          createdAt: now,
          lastActivityAt: now,
        },
        consumedKeyPackage: toBase64Url(ref),
      });
      return;
    }
  }

  /** Process one log entry exactly once; returns the message to show, if any. */
  private async applyEntry(entry: LogEntry): Promise<Message | undefined> {
    const groupId = toBase64Url(entry.groupId);
    const conversation = await this.store.getConversation(groupId);
    if (!conversation || !conversation.active || entry.seq <= conversation.processedSeq) return undefined;
    const advance = (changes: Partial<ConversationRecord>) => ({ ...conversation, ...changes, processedSeq: entry.seq });
    // Our own entries were applied when the server accepted them.
    if (entry.sender.username === this.session.username && entry.sender.deviceId === this.session.deviceId) {
      await this.store.apply({ conversation: advance({}) });
      return undefined;
    }
    let processed;
    try {
      processed = await processMessage(conversation.state, entry.payload, this.credentials.validate);
    } catch {
      // Undecryptable (e.g. from before we joined): skip it, but never block the group on it.
      await this.store.apply({ conversation: advance({}) });
      return undefined;
    }
    if (processed.kind === 'commit') {
      if (!(await commitAllowed(this.context, entry, processed.added, processed.removed, processed.external))) {
        await this.store.apply({ conversation: advance({}) });
        return undefined;
      }
      await this.store.apply({ conversation: advance({ state: processed.state, active: !processed.removedSelf, lastActivityAt: entry.sentAt }) });
      if (processed.external && conversation.kind === 'group') this.titleNeeded.add(groupId);
      return undefined;
    }
    const sender = credentialOwner(processed.sender.identity);
    let content;
    try {
      content = decodeContent(processed.plaintext);
    } catch {
      await this.store.apply({ conversation: advance({ state: processed.state }) });
      return undefined;
    }
    if (content.t === 'leave') {
      // The leaver is unrouted by the server; reconcileMembers commits the removal after this sync.
      await this.store.apply({ conversation: advance({ state: processed.state }) });
      return undefined;
    }
    if (content.t === 'meta') {
      const title = conversation.kind === 'group' ? content.title : conversation.title;
      await this.store.apply({ conversation: advance({ state: processed.state, title }) });
      return undefined;
    }
    const message: StoredMessage = {
      groupId,
      seq: entry.seq,
      sender: sender?.username ?? entry.sender.username,
      senderDevice: sender?.deviceId ?? entry.sender.deviceId,
      sentAt: content.sentAt,
      text: content.text,
      read: false,
    };
    const updated = advance({ state: processed.state, lastActivityAt: entry.sentAt });
    await this.store.apply({ conversation: updated, message });
    return this.present(updated, message);
  }

  /**
   * Keep each group's tree in line with the account's devices and the routing list (DESIGN §5, §6):
   * remove leaves of devices that left or were revoked (MLS forbids removing yourself, so the
   * others do it; anyone may, once the device is unrouted or revoked), and add this account's
   * devices that are not in the group yet. Racing members resolve by first-wins.
   */
  private async reconcileMembers(groups: GroupSummary[]): Promise<void> {
    const mine = await this.credentials.entry(this.session.username, true);
    const myActive = new Set(mine.devices.map((device) => device.deviceId));
    for (const group of groups) {
      const groupId = toBase64Url(group.groupId);
      const conversation = await this.store.getConversation(groupId);
      if (!conversation?.active) continue;
      const routed = new Set(group.members.map((m) => `${m.username}/${m.deviceId}`));
      const stale = (state: Uint8Array) =>
        groupMetadata(state).members.filter((leaf) => {
          const owner = credentialOwner(leaf.identity);
          if (!owner || (owner.username === this.session.username && owner.deviceId === this.session.deviceId)) return false;
          return !routed.has(`${owner.username}/${owner.deviceId}`) || (owner.username === this.session.username && !myActive.has(owner.deviceId));
        });
      if (stale(conversation.state).length > 0) {
        await this.commitWithRetry(conversation, async (current) => {
          const gone = stale(current.state);
          if (gone.length === 0) return undefined;
          const output = await removeMembers(current.state, this.member, gone.map((leaf) => leaf.signaturePublicKey));
          const remove = gone.map((leaf) => credentialOwner(leaf.identity)).filter((owner): owner is DeviceRef => owner !== undefined && routed.has(`${owner.username}/${owner.deviceId}`));
          return { ...output, add: [], remove };
        });
      }
      const inTree = (state: Uint8Array) => new Set(groupMetadata(state).members.map((leaf) => credentialOwner(leaf.identity)?.deviceId));
      const refreshed = (await this.store.getConversation(groupId)) ?? conversation;
      const tree = inTree(refreshed.state);
      const newSiblings = mine.devices.filter((device) => !tree.has(device.deviceId) && !routed.has(`${this.session.username}/${device.deviceId}`));
      if (newSiblings.length > 0) await this.addUsers(refreshed, [this.session.username]);
    }
  }

  /**
   * Send this device's message history to another device of the account, sealed to that device
   * in chunks through its mailbox (DESIGN §5); `onProgress` hears each chunk as it is accepted.
   */
  sendHistory(toDeviceId: string, onProgress: (sent: number, total: number) => void = () => undefined): Promise<{ chunks: number; messages: number }> {
    return this.serial(() => sendHistory(this.context, toDeviceId, onProgress));
  }

  /** The group's creator tells devices that joined by themselves what the group is called. */
  private async shareTitles(groups: GroupSummary[]): Promise<void> {
    for (const groupId of [...this.titleNeeded]) {
      this.titleNeeded.delete(groupId);
      const group = groups.find((g) => toBase64Url(g.groupId) === groupId);
      const conversation = await this.store.getConversation(groupId);
      if (group?.createdBy === this.session.username && conversation?.active) await this.sendContent(conversation, { t: 'meta', title: conversation.title });
    }
  }

  private findGroup(name: string): Promise<ConversationRecord> {
    return views.findGroup(this.store, name);
  }

  private present(conversation: ConversationRecord, message: StoredMessage): Message {
    return views.present(conversation, message);
  }
}
