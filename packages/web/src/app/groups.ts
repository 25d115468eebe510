/**
 * @module Groups in the web client: creating one, its members (add, remove, leave), and the
 * system lines that tell a chat who was added, removed or left, of a member's new device and of
 * a changed safety number. Membership lines come from the commits the SDK applies (MLS leaves,
 * DESIGN §6); the server's member list only tells whether a removed user still has a device there.
 */
import type { ConversationEvent, MembershipChange, Messenger } from '@parley/client';
import type { IndexedDbClientStore } from '../storage/client-store.js';
import { describeError, isConnectionError } from './errors.js';
import type { AppState, GroupMembers, Selection, SystemLine } from './state.js';
import { addLines, loadLines, loadRoster, saveRoster, type Roster } from './system-lines.js';

export interface GroupsHost {
  state(): AppState;
  set(patch: Partial<AppState> | ((state: AppState) => Partial<AppState>)): void;
  store(): IndexedDbClientStore;
  messenger(): Messenger | undefined;
  refreshConversations(): Promise<void>;
  select(selection: Selection): void;
}

const unique = (names: string[]): string[] => [...new Set(names)].sort();

export class Groups {
  /** Membership events are worked out one at a time, in the order they happened. */
  private work: Promise<void> = Promise.resolve();

  constructor(private readonly host: GroupsHost) {}

  private requireMessenger(): Messenger {
    const messenger = this.host.messenger();
    if (!messenger) throw new Error('Not connected to the server. Parley keeps trying; try again in a moment.');
    return messenger;
  }

  private later(task: () => Promise<void>): void {
    this.work = this.work.then(task).catch((error: unknown) => {
      if (!isConnectionError(error)) this.host.set({ notice: describeError(error) });
    });
  }

  private get me(): string {
    return this.host.state().me?.username ?? '';
  }

  private who(username: string): string {
    return username === this.me ? 'You' : username;
  }

  async create(title: string, members: string[]): Promise<void> {
    try {
      const conversation = await this.requireMessenger().createGroup(title.trim(), members);
      await this.host.refreshConversations();
      await this.learnMembers(conversation.groupId);
      this.host.select({ kind: 'chat', groupId: conversation.groupId });
    } catch (error) {
      await this.host.refreshConversations();
      throw new Error(describeError(error), { cause: error });
    }
  }

  async members(groupId: string): Promise<GroupMembers> {
    try {
      return await this.learnMembers(groupId);
    } catch (error) {
      throw new Error(describeError(error), { cause: error });
    }
  }

  /** The server's member list; the first one seen for a group is what later lines are worked out against. */
  private async learnMembers(groupId: string): Promise<GroupMembers> {
    const { summary } = await this.requireMessenger().groupSummary(groupId);
    const members = unique(summary.members.map((m) => m.username));
    const store = this.host.store();
    if (!(await loadRoster(store, groupId))) await saveRoster(store, groupId, { members, departed: [] });
    this.host.set((state) => ({ groupMembers: { ...state.groupMembers, [groupId]: members } }));
    return { members, admins: summary.admins, createdBy: summary.createdBy };
  }

  async add(groupId: string, usernames: string[]): Promise<void> {
    await this.changeMembers(groupId, (messenger) => messenger.addToGroup(groupId, usernames), { by: this.me, added: usernames.map((username) => ({ username, deviceId: '' })), removed: [] });
  }

  async remove(groupId: string, username: string): Promise<void> {
    await this.changeMembers(groupId, (messenger) => messenger.removeFromGroup(groupId, [username]), { by: this.me, added: [], removed: [{ username, deviceId: '' }] });
  }

  /** My own commits are not reported back as events: their lines are written here. */
  private async changeMembers(groupId: string, change: (messenger: Messenger) => Promise<unknown>, membership: MembershipChange): Promise<void> {
    try {
      await change(this.requireMessenger());
      await this.host.refreshConversations();
    } catch (error) {
      throw new Error(describeError(error), { cause: error });
    }
    const seq = (await this.host.store().getConversation(groupId))?.processedSeq ?? 0;
    this.later(() => this.membershipChanged(groupId, seq, membership, undefined));
  }

  async leave(groupId: string): Promise<void> {
    try {
      await this.requireMessenger().leaveGroup(groupId);
      await this.host.refreshConversations();
    } catch (error) {
      throw new Error(describeError(error), { cause: error });
    }
  }

  /** A chat was opened: show its lines, and learn a group's members (for the empty-group hint and later lines). */
  async lookAt(groupId: string): Promise<void> {
    const lines = await loadLines(this.host.store(), groupId);
    this.host.set((state) => ({ systemLines: { ...state.systemLines, [groupId]: lines } }));
    const conversation = await this.host.store().getConversation(groupId);
    if (conversation?.kind === 'group' && conversation.active && this.host.messenger()) this.later(async () => void (await this.learnMembers(groupId)));
  }

  handle(event: ConversationEvent): void {
    if (event.kind !== 'changed') return;
    const { conversation: groupId, seq, membership, departed } = event;
    if (membership || departed) this.later(() => this.membershipChanged(groupId, seq, membership, departed));
    else this.later(() => this.joined(groupId));
  }

  /** A group this browser just joined (a Welcome): its members now are where its lines start from. */
  private async joined(groupId: string): Promise<void> {
    const conversation = await this.host.store().getConversation(groupId);
    if (conversation?.kind === 'group' && conversation.active && !(await loadRoster(this.host.store(), groupId))) await this.learnMembers(groupId);
  }

  private async membershipChanged(groupId: string, seq: number | undefined, membership: MembershipChange | undefined, departed: string | undefined): Promise<void> {
    const store = this.host.store();
    const conversation = await store.getConversation(groupId);
    if (!conversation) return;
    const afterSeq = seq ?? conversation.processedSeq;
    const line = (key: string, text: string): SystemLine => ({ key: `${afterSeq}:${key}`, groupId, afterSeq, at: Date.now(), text, tone: 'info' });
    // A device that rejoined (lost state, external commit) is removed and added at once: not news.
    const rejoined = new Set(membership?.removed.filter((r) => r.deviceId && membership.added.some((a) => a.deviceId === r.deviceId)).map((r) => r.deviceId));
    const added = unique((membership?.added ?? []).filter((device) => !rejoined.has(device.deviceId)).map((device) => device.username));
    const removed = unique((membership?.removed ?? []).filter((device) => !rejoined.has(device.deviceId)).map((device) => device.username));

    if (conversation.kind === 'direct') {
      const peer = conversation.peer;
      if (peer && added.includes(peer)) await this.show(groupId, [line(`device:${peer}`, `${peer} has a new device.`)]);
      return;
    }
    const known = await loadRoster(store, groupId);
    const roster: Roster = known ?? { members: [], departed: [] };
    const lines: SystemLine[] = [];
    // Their own signed announcement: said at once, since the removal that follows may be this device's commit, which is not reported back.
    if (departed && !roster.departed.includes(departed)) {
      roster.departed = [...roster.departed, departed];
      lines.push(line(`left:${departed}`, `${this.who(departed)} left.`));
    }
    if (membership) {
      const after = conversation.active && this.host.messenger() ? await this.learnMembers(groupId).then((group) => group.members) : roster.members.filter((user) => !removed.includes(user));
      const before = known ? known.members : after.filter((user) => !added.includes(user));
      const by = this.who(membership.by);
      for (const user of added) {
        if (user === this.me) continue;
        if (before.includes(user)) lines.push(line(`device:${user}`, `${user} has a new device.`));
        else lines.push(line(`added:${user}`, membership.by === user ? `${user} joined.` : `${by} added ${user}.`));
      }
      for (const user of removed) {
        // One device went (revoked, say) and the user is still a member; or the user left, which was said.
        if (after.includes(user) || roster.departed.includes(user)) continue;
        lines.push(line(`removed:${user}`, `${by} removed ${this.who(user)}.`));
      }
      roster.members = after;
      roster.departed = roster.departed.filter((user) => after.includes(user));
    }
    await saveRoster(store, groupId, roster);
    await this.show(groupId, lines);
  }

  /** A changed identity key for `peer` (DESIGN §11): say so in the direct chat with them, once per safety number. */
  safetyChanged(peer: string, digits: string): void {
    this.later(async () => {
      const store = this.host.store();
      const direct = (await store.listConversations()).filter((c) => c.kind === 'direct' && c.peer === peer);
      for (const conversation of direct) {
        const afterSeq = (await store.lastMessage(conversation.groupId))?.seq ?? 0;
        const text = `${peer}’s safety number changed. Compare it again before you trust new messages.`;
        await this.show(conversation.groupId, [{ key: `safety:${peer}:${digits}`, groupId: conversation.groupId, afterSeq, at: Date.now(), text, tone: 'warning' }]);
      }
    });
  }

  private async show(groupId: string, lines: SystemLine[]): Promise<void> {
    if (lines.length === 0) return;
    const all = await addLines(this.host.store(), groupId, lines);
    this.host.set((state) => ({ systemLines: { ...state.systemLines, [groupId]: all } }));
  }
}
