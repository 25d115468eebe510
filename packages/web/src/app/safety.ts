/**
 * @module Safety numbers in the web client (DESIGN §11): the number shared with another user,
 * marking it verified, trusting a changed identity key, and remembering which users' keys the
 * directory shows changed, so the chat warns before anything is typed, not only when a send is refused.
 */
import { ErrorCode, type ParleyClient } from '@parley/client';
import { describeError, isCode, isConnectionError } from './errors.js';
import type { AppState, SafetyView } from './state.js';

export interface SafetyHost {
  state(): AppState;
  set(patch: Partial<AppState> | ((state: AppState) => Partial<AppState>)): void;
  /** The current connection's client, once its session is resumed; undefined while offline. */
  client(): ParleyClient | undefined;
  /** Re-read the conversation list, whose direct chats carry the verified badge. */
  refreshConversations(): Promise<void>;
  /** The directory shows `username`'s identity key changed; `digits` is the safety number now. */
  safetyChanged(username: string, digits: string): void;
}

export class Safety {
  constructor(private readonly host: SafetyHost) {}

  private requireClient(): ParleyClient {
    const client = this.host.client();
    if (!client) throw new Error('Not connected to the server. Parley keeps trying; try again in a moment.');
    return client;
  }

  async view(username: string): Promise<SafetyView> {
    try {
      return await this.lookUp(this.requireClient(), username);
    } catch (error) {
      throw new Error(describeError(error), { cause: error });
    }
  }

  async markVerified(username: string, options: { trustNewKey?: boolean } = {}): Promise<SafetyView> {
    try {
      const client = this.requireClient();
      await client.markVerified(username, { trustNewKey: options.trustNewKey ?? false });
      const view = await this.lookUp(client, username);
      await this.host.refreshConversations();
      return view;
    } catch (error) {
      throw new Error(describeError(error), { cause: error });
    }
  }

  /** Whether `username` has an account, from the directory; undefined while that cannot be asked. */
  async exists(username: string): Promise<boolean | undefined> {
    const client = this.host.client();
    if (!client) return undefined;
    try {
      await this.lookUp(client, username);
      return true;
    } catch (error) {
      if (isCode(error, ErrorCode.UNKNOWN_USER)) return false;
      if (isConnectionError(error)) return undefined;
      throw new Error(describeError(error), { cause: error });
    }
  }

  /** Look `peer` up in the background (an opened direct chat), so a changed key shows at once. */
  check(peer: string): void {
    const client = this.host.client();
    if (client) void this.lookUp(client, peer).catch(() => undefined);
  }

  /** A send was refused because `peer`'s identity key changed (IDENTITY_KEY_CHANGED). */
  keyChanged(peer: string): void {
    this.remember(peer, true);
  }

  private async lookUp(client: ParleyClient, username: string): Promise<SafetyView> {
    const safety = await client.safety(username);
    const digits = safety.safetyNumber.replace(/\D/g, '');
    this.remember(safety.username, safety.keyChanged);
    if (safety.keyChanged) this.host.safetyChanged(safety.username, digits);
    return { username: safety.username, digits, verified: safety.verified, keyChanged: safety.keyChanged };
  }

  private remember(username: string, changed: boolean): void {
    if (this.host.state().keyChanged.includes(username) === changed) return;
    this.host.set((state) => ({ keyChanged: changed ? [...state.keyChanged, username].sort() : state.keyChanged.filter((user) => user !== username) }));
  }
}
