/** @module Groups in the engine: creating one, its members, adding, removing and leaving. */
import type { Messenger } from '@parley/client';
import { describeError } from './errors.js';
import type { GroupMembers, Selection } from './state.js';

export interface GroupsHost {
  /** The current connection's messenger; undefined while offline. */
  messenger(): Messenger | undefined;
  refreshConversations(): Promise<void>;
  select(selection: Selection): void;
}

export class Groups {
  constructor(private readonly host: GroupsHost) {}

  private messenger(): Messenger {
    const messenger = this.host.messenger();
    if (!messenger) throw new Error('Not connected to the server. Parley keeps trying; try again in a moment.');
    return messenger;
  }

  /** Runs `task` with the messenger, then refreshes the list; a failure becomes an Error in words. */
  private async change<T>(task: (messenger: Messenger) => Promise<T>): Promise<T> {
    try {
      return await task(this.messenger());
    } catch (error) {
      throw new Error(describeError(error), { cause: error });
    } finally {
      // The SDK may have changed a conversation before failing; show it as it is.
      await this.host.refreshConversations();
    }
  }

  async create(title: string, members: string[]): Promise<void> {
    const conversation = await this.change((messenger) => messenger.createGroup(title.trim(), members));
    this.host.select({ kind: 'chat', groupId: conversation.groupId });
  }

  async members(groupId: string): Promise<GroupMembers> {
    try {
      const { summary } = await this.messenger().groupSummary(groupId);
      const members = [...new Set(summary.members.map((m) => m.username))].sort();
      return { members, admins: summary.admins, createdBy: summary.createdBy };
    } catch (error) {
      throw new Error(describeError(error), { cause: error });
    }
  }

  add(groupId: string, usernames: string[]): Promise<void> {
    return this.change((messenger) => messenger.addToGroup(groupId, usernames));
  }

  remove(groupId: string, username: string): Promise<void> {
    return this.change((messenger) => messenger.removeFromGroup(groupId, [username]));
  }

  leave(groupId: string): Promise<void> {
    return this.change((messenger) => messenger.leaveGroup(groupId));
  }
}
