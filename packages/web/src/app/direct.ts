/**
 * @module Direct sessions in the web client (DESIGN §9): "Go direct" in a 1:1 chat, the prompt
 * when a contact asks, the state of each peer's session for the "direct" indicator, and a notice
 * when one ends. While a session is open, texts to that peer go over its channel.
 */
import type { DirectSession, DirectSessions, Message, Messenger, ParleyClient, SendOptions } from '@parley/client';
import { browserLinkFactory } from '../direct/browser-link.js';
import { describeError } from './errors.js';
import type { AppState, DirectSessionView } from './state.js';

export interface DirectHost {
  state(): AppState;
  set(patch: Partial<AppState> | ((state: AppState) => Partial<AppState>)): void;
}

export class Direct {
  private sessions: DirectSessions | undefined;
  private readonly byPeer = new Map<string, DirectSession>();
  private readonly asking = new Map<string, (accept: boolean) => void>();

  constructor(private readonly host: DirectHost) {}

  /** Answer contacts' requests on this connection: each one waits for the user's Accept or Decline. A failure is told. */
  async start(client: ParleyClient): Promise<void> {
    const notice = (error: unknown) => this.host.set({ notice: describeError(error) });
    try {
      this.sessions = await client.direct({ links: browserLinkFactory, onFailure: notice });
    } catch (error) {
      this.sessions = undefined;
      return notice(error);
    }
    this.sessions.answer(
      (from) => this.ask(from.username),
      (session) => this.track(session),
    );
  }

  async go(peer: string): Promise<void> {
    if (!this.sessions) throw new Error('Not connected to the server. Parley keeps trying; try again in a moment.');
    if (this.byPeer.get(peer)?.state === 'open') return;
    try {
      const session = await this.sessions.open(peer);
      this.track(session);
      await session.opened;
    } catch (error) {
      throw new Error(describeError(error), { cause: error });
    }
  }

  answer(peer: string, accept: boolean): void {
    this.asking.get(peer)?.(accept);
    this.asking.delete(peer);
    this.host.set((state) => ({ direct: { ...state.direct, asking: state.direct.asking.filter((name) => name !== peer) } }));
  }

  async end(peer: string): Promise<void> {
    await this.byPeer.get(peer)?.end('ended');
  }

  /** A text to `peer`: over the open session if there is one (which decides what must still go through the server). */
  async send(messenger: Messenger, peer: string, text: string, options: SendOptions): Promise<Message> {
    const session = this.byPeer.get(peer);
    if (session?.state === 'open') return session.send(text, options);
    return messenger.sendDirect(peer, text, options);
  }

  private ask(peer: string): Promise<boolean> {
    this.asking.get(peer)?.(false);
    this.host.set((state) => ({ direct: { ...state.direct, asking: [...state.direct.asking.filter((name) => name !== peer), peer] } }));
    return new Promise((resolve) => this.asking.set(peer, resolve));
  }

  private track(session: DirectSession): void {
    this.byPeer.set(session.peer, session);
    this.show(session.peer, { state: 'connecting' });
    session.onState((change) => this.show(change.peer, change.reason === undefined ? { state: change.state } : { state: change.state, reason: change.reason }));
  }

  private show(peer: string, view: DirectSessionView): void {
    this.host.set((state) => ({ direct: { ...state.direct, sessions: { ...state.direct.sessions, [peer]: view } } }));
  }
}
