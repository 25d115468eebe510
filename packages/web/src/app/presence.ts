/** @module Who is online (DESIGN §7): the list the server gives, kept current by presence pushes. */
import type { ParleyClient } from '@parley/client';
import type { AppState } from './state.js';

const ONLINE_LIMIT = 200;

export interface PresenceHost {
  state(): AppState;
  set(patch: Partial<AppState> | ((state: AppState) => Partial<AppState>)): void;
  client(): ParleyClient | undefined;
}

export class Presence {
  constructor(private readonly host: PresenceHost) {}

  async refresh(): Promise<void> {
    const client = this.host.client();
    if (!client) return;
    const users = await client.onlineUsers(ONLINE_LIMIT);
    this.host.set({ online: users.filter((user) => user !== this.host.state().me?.username) });
  }

  /** A presence push: someone came online or went offline (myself excepted). */
  changed(username: string, online: boolean): void {
    if (username === this.host.state().me?.username) return;
    this.host.set((state) => ({ online: online ? [...new Set([...state.online, username])].sort() : state.online.filter((user) => user !== username) }));
  }
}
