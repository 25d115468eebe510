/**
 * @module Message requests in the web client (DESIGN §6 consent): accept (the requester and the
 * group's members become contacts, and the composer appears), decline (leave without a word), and
 * block (the server refuses that user from then on; their pending requests are declined).
 */
import type { Messenger } from '@parley/client';
import { describeError } from './errors.js';
import type { AppState, Selection } from './state.js';

export interface RequestsHost {
  set(patch: Partial<AppState> | ((state: AppState) => Partial<AppState>)): void;
  /** The current connection's messenger; undefined while offline. */
  messenger(): Messenger | undefined;
  refreshConversations(): Promise<void>;
}

type StatePatch = (state: AppState) => Partial<AppState>;

export class Requests {
  constructor(private readonly host: RequestsHost) {}

  accept(groupId: string): Promise<void> {
    return this.run(async (messenger) => {
      await messenger.acceptRequest(groupId);
      return undefined;
    });
  }

  decline(groupId: string): Promise<void> {
    return this.run(async (messenger) => {
      await messenger.declineRequest(groupId);
      return (state) => ({ selection: closed(state.selection, [groupId]) });
    });
  }

  block(username: string): Promise<void> {
    return this.run(async (messenger) => {
      const declined = (await messenger.block(username)).map((conversation) => conversation.groupId);
      return (state) => ({ selection: closed(state.selection, declined), notice: `You blocked ${username}. They cannot add you to conversations or write to you directly.` });
    });
  }

  /** Runs the task, then shows its outcome only once the list is refreshed, so a notice never sits beside a stale request. */
  private async run(task: (messenger: Messenger) => Promise<StatePatch | undefined>): Promise<void> {
    const messenger = this.host.messenger();
    if (!messenger) throw new Error('Not connected to the server. Parley keeps trying; try again in a moment.');
    try {
      const outcome = await task(messenger);
      await this.host.refreshConversations();
      if (outcome) this.host.set(outcome);
    } catch (error) {
      throw new Error(describeError(error), { cause: error });
    }
  }
}

/** The selection, or none if it was one of the conversations just left. */
function closed(selection: Selection, groupIds: string[]): Selection {
  return selection.kind === 'chat' && groupIds.includes(selection.groupId) ? { kind: 'none' } : selection;
}
