/** @module Who is online (DESIGN §7): the list the server gives, kept current by presence pushes. */
import type { ParleyClient } from '@parley/client';
import type { AppState } from './state.js';

const ONLINE_LIMIT = 200;

export interface PresenceHost {
  state(): AppState;
  set(patch: Partial<AppState> | ((state: AppState) => Partial<AppState>)): void;
  client(): Pick<ParleyClient, 'onlineUsers'> | undefined;
}

interface Push {
  username: string;
  online: boolean;
}

export class Presence {
  /** Lists asked for so far, and the newest one whose answer was shown: an older answer coming later is stale. */
  private asked = 0;
  private shown = 0;
  private inFlight = 0;
  /**
   * Pushes heard while a list is in flight. The server may have made the list before a push it
   * sent first, so a list never overwrites them: they are applied again on top of it.
   */
  private heard: Push[] = [];

  constructor(private readonly host: PresenceHost) {}

  async refresh(): Promise<void> {
    const client = this.host.client();
    if (!client) return;
    const id = ++this.asked;
    const from = this.heard.length;
    this.inFlight++;
    try {
      const users = await client.onlineUsers(ONLINE_LIMIT);
      if (id < this.shown) return;
      this.shown = id;
      const me = this.host.state().me?.username;
      const online = this.heard.slice(from).reduce((list, push) => applyPush(list, push), users);
      this.host.set({ online: online.filter((user) => user !== me) });
    } finally {
      if (--this.inFlight === 0) this.heard = [];
    }
  }

  /** A presence push: someone came online or went offline (myself excepted). */
  changed(username: string, online: boolean): void {
    if (username === this.host.state().me?.username) return;
    if (this.inFlight > 0) this.heard.push({ username, online });
    this.host.set((state) => ({ online: applyPush(state.online, { username, online }) }));
  }
}

function applyPush(list: readonly string[], { username, online }: Push): string[] {
  return online ? [...new Set([...list, username])].sort() : list.filter((user) => user !== username);
}
