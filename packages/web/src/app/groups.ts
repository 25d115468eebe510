/**
 * @module Groups in the web client: creating one, its members (add, remove, leave), and the
 * system lines that tell a chat who was added, removed or left, of a member's new device and of
 * a changed safety number. Membership lines come from the commits the SDK applies (MLS leaves,
 * DESIGN §6); the server's member list only tells whether a removed user still has a device there.
 */
import type { ConversationEvent, Messenger } from '@parley/client';
import type { IndexedDbClientStore } from '../storage/client-store.js';
import { describeError, isConnectionError } from './errors.js';
import type { AppState, GroupMembers, Selection, SystemLine } from './state.js';
import { describeChange, userChange, type Said, type UserChange } from './membership-lines.js';
import { addLines, loadLines, loadRoster, saveRoster } from './system-lines.js';

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
      // Opening it learns its members (lookAt), before any later change is worked out against them.
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
    await this.changeMembers(groupId, (messenger) => messenger.addToGroup(groupId, usernames), { by: this.me, added: usernames, removed: [] });
  }

  async remove(groupId: string, username: string): Promise<void> {
    await this.changeMembers(groupId, (messenger) => messenger.removeFromGroup(groupId, [username]), { by: this.me, added: [], removed: [username] });
  }

  /** My own commits are not reported back as events: their lines are written here. */
  private async changeMembers(groupId: string, change: (messenger: Messenger) => Promise<unknown>, membership: UserChange): Promise<void> {
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
    if (membership || departed) this.later(() => this.membershipChanged(groupId, seq, membership && userChange(membership), departed));
    else this.later(() => this.joined(groupId));
  }

  /** A group this browser just joined (a Welcome): its members now are where its lines start from. */
  private async joined(groupId: string): Promise<void> {
    const conversation = await this.host.store().getConversation(groupId);
    if (conversation?.kind === 'group' && conversation.active && !(await loadRoster(this.host.store(), groupId))) await this.learnMembers(groupId);
  }

  private async membershipChanged(groupId: string, seq: number | undefined, change: UserChange | undefined, departed: string | undefined): Promise<void> {
    const store = this.host.store();
    const conversation = await store.getConversation(groupId);
    if (!conversation) return;
    const afterSeq = seq ?? conversation.processedSeq;
    const line = ({ key, text }: Said): SystemLine => ({ key: `${afterSeq}:${key}`, groupId, afterSeq, at: Date.now(), text, tone: 'info' });
    if (conversation.kind === 'direct') {
      const peer = conversation.peer;
      if (peer && change?.added.includes(peer)) await this.show(groupId, [line({ key: `device:${peer}`, text: `${peer} has a new device.` })]);
      return;
    }
    let roster = await loadRoster(store, groupId);
    if (!roster && !change && conversation.active && this.host.messenger()) roster = await this.learnMembers(groupId).then(() => loadRoster(store, groupId));
    const said: Said[] = [];
    // Their own signed announcement: said at once, since the removal that follows may be this device's commit, which is not reported back.
    if (departed && !roster?.departed.includes(departed)) {
      roster = { members: roster?.members ?? [], departed: [...(roster?.departed ?? []), departed] };
      said.push({ key: `left:${departed}`, text: `${this.who(departed)} left.` });
    }
    if (change) {
      const after = conversation.active && this.host.messenger() ? (await this.learnMembers(groupId)).members : (roster?.members ?? []).filter((user) => !change.removed.includes(user));
      const described = describeChange(this.me, roster, after, change);
      said.push(...described.said);
      roster = described.roster;
    }
    if (roster) await saveRoster(store, groupId, roster);
    await this.show(groupId, said.map(line));
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
