/**
 * @module The web client's engine: one ParleyClient at a time over the browser adapters
 * (IndexedDB profile and store, platform WebSocket), reconnecting with backoff when the
 * connection drops, and a snapshot of what to show that React reads with useSyncExternalStore.
 * Loaded as its own chunk: it pulls in the SDK, crypto and OPAQUE's WASM.
 */
import { ErrorCode, ParleyClient, serverOrigin, type Messenger } from '@parley/client';
import { IndexedDbClientStore } from '../storage/client-store.js';
import { IndexedDbProfileStore } from '../storage/profile-store.js';
import { workerPowSolver } from '../pow.js';
import { browserSocketFactory } from '../socket.js';
import { Account } from './account.js';
import { browserProblem, holdDeviceLock } from './browser.js';
import { Conversations } from './conversations.js';
import { Direct } from './direct.js';
import { Requests } from './requests.js';
import { describeError, isCode, isConnectionError } from './errors.js';
import { Presence } from './presence.js';
import { Safety } from './safety.js';
import { Timelocks } from './timelocks.js';
import { initialState, type Actions, type AppState, type ChatMessage, type DeviceView, type GroupMembers, type SafetyView, type Selection } from './state.js';

export interface ControllerOptions {
  /** Base URL of the Parley server; the web client talks to the server that served it. */
  server: string;
  profileDatabase?: string;
  messagesDatabase?: string;
}

const RECONNECT_MIN_MS = 1_000;
const RECONNECT_MAX_MS = 30_000;
const REQUEST_TIMEOUT_MS = 20_000;

type Session = Awaited<ReturnType<ParleyClient['resume']>>;

export class Controller implements Actions {
  private state: AppState = initialState;
  private readonly listeners = new Set<() => void>();
  private readonly profiles: IndexedDbProfileStore;
  private store: IndexedDbClientStore;
  private client: ParleyClient | undefined;
  private messenger: Messenger | undefined;
  /** Bumped for every connection: callbacks from an older one ignore themselves. */
  private generation = 0;
  /** Set while this device logs itself out, so the server's closing of the socket is expected. */
  private leaving = false;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly chats = new Conversations({
    state: () => this.state,
    set: (patch) => this.set(patch),
    store: () => this.store,
    messenger: () => this.messenger,
    openedDirect: (peer) => this.trust.check(peer),
    identityKeyChanged: (peer) => this.trust.keyChanged(peer),
    sendDirect: (messenger, peer, text, options) => this.direct.send(messenger, peer, text, options),
  });
  private readonly direct = new Direct({ state: () => this.state, set: (patch) => this.set(patch) });
  private readonly account = new Account({
    state: () => this.state,
    set: (patch) => this.set(patch),
    requireClient: () => this.requireClient(),
    store: () => this.store,
    signedIn: (session) => this.enterMain(this.generation, session),
    logout: () => this.logout(),
  });
  private readonly requests = new Requests({ set: (patch) => this.set(patch), messenger: () => this.messenger, refreshConversations: () => this.chats.refreshConversations() });
  private readonly timelocks = new Timelocks({ state: () => this.state, set: (patch) => this.set(patch), store: () => this.store, opened: (message) => this.chats.opened(message) });
  private readonly presence = new Presence({ state: () => this.state, set: (patch) => this.set(patch), client: () => this.client });
  private readonly trust = new Safety({
    state: () => this.state,
    set: (patch) => this.set(patch),
    // Only once the session is resumed (enterMain): two concurrent resumes would both authenticate.
    client: () => (this.state.connectivity.state === 'online' && this.state.me ? this.client : undefined),
    refreshConversations: () => this.chats.refreshConversations(),
  });

  constructor(private readonly options: ControllerOptions) {
    this.profiles = new IndexedDbProfileStore(options.profileDatabase);
    this.store = new IndexedDbClientStore(options.messagesDatabase);
  }

  // --- the snapshot React reads --------------------------------------------------------------

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly getSnapshot = (): AppState => this.state;

  private set(patch: Partial<AppState> | ((state: AppState) => Partial<AppState>)): void {
    this.state = { ...this.state, ...(typeof patch === 'function' ? patch(this.state) : patch) };
    for (const listener of this.listeners) listener();
  }

  // --- starting, connecting, reconnecting ------------------------------------------------------

  async start(): Promise<void> {
    const problem = browserProblem();
    if (problem) return this.set({ screen: { name: 'failed', message: problem } });
    await holdDeviceLock(
      () => this.set({ screen: { name: 'other-tab' } }),
      () => this.set({ screen: { name: 'starting' } }),
    );
    globalThis.addEventListener('online', () => {
      if (this.state.connectivity.state === 'offline') this.reconnectNow();
    });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState !== 'visible') return;
      void this.chats.markSelectionRead();
      if (this.state.connectivity.state === 'offline') this.reconnectNow();
    });
    await this.connect();
  }

  private async connect(): Promise<void> {
    clearTimeout(this.retryTimer);
    const generation = ++this.generation;
    this.client?.close();
    this.client = undefined;
    this.messenger = undefined;
    this.store = new IndexedDbClientStore(this.options.messagesDatabase);
    this.set({ connectivity: { state: 'connecting' } });
    let client: ParleyClient;
    try {
      client = await ParleyClient.connect({
        server: this.options.server,
        store: this.profiles,
        messages: this.store,
        socketFactory: browserSocketFactory,
        timeoutMs: REQUEST_TIMEOUT_MS,
        solvePow: workerPowSolver,
      });
    } catch (error) {
      if (generation !== this.generation) return;
      if (isCode(error, ErrorCode.SERVER_KEY_CHANGED)) {
        this.set({ screen: { name: 'failed', message: describeError(error), serverKeyChanged: true }, connectivity: { state: 'offline', reason: describeError(error), retryAt: 0 } });
        return;
      }
      await this.showOffline();
      this.scheduleReconnect(isConnectionError(error) ? '' : describeError(error));
      return;
    }
    if (generation !== this.generation) {
      client.close();
      return;
    }
    this.client = client;
    client.onClose((error) => this.connectionClosed(generation, error));
    client.onEvent((event) => {
      if (generation === this.generation && event.kind === 'presence') this.presence.changed(event.body.username, event.body.online);
    });
    this.set({ serverFingerprint: client.serverFingerprint });

    const { account } = await this.profiles.load();
    if (!account) {
      this.attempt = 0;
      this.set({ screen: { name: 'signed-out' }, connectivity: { state: 'online' } });
      return;
    }
    try {
      await this.enterMain(generation, await client.resume());
    } catch (error) {
      if (generation !== this.generation) return;
      if (isCode(error, ErrorCode.DEVICE_REVOKED, ErrorCode.UNKNOWN_DEVICE, ErrorCode.NOT_LOGGED_IN)) {
        await this.forgetDevice('This device was logged out. Log in again to use it.');
      } else if (!isConnectionError(error)) {
        this.set({ notice: describeError(error) });
      }
      // A lost connection is handled by connectionClosed, which schedules the reconnect.
    }
  }

  /** No server: still show who is signed in and the history kept in this browser. */
  private async showOffline(): Promise<void> {
    if (this.state.screen.name !== 'starting') return;
    const { account } = await this.profiles.load();
    if (!account) {
      this.set({ screen: { name: 'signed-out' } });
      return;
    }
    this.set({ screen: { name: 'main' }, me: { username: account.username, deviceId: account.deviceId } });
    await this.chats.refreshConversations();
  }

  private async enterMain(generation: number, session: Session): Promise<void> {
    this.attempt = 0;
    this.set((state) => ({
      me: { username: session.username, deviceId: session.deviceId },
      screen: state.screen.name === 'recovery' ? state.screen : { name: 'main' },
      connectivity: { state: 'online' },
    }));
    await this.chats.refreshConversations();
    await this.chats.reloadSelection();
    const client = this.client;
    if (!client) return;
    const messenger = await client.messenger();
    if (generation !== this.generation) return;
    this.messenger = messenger;
    // Live from here: the SDK applies the server's pushes and reports each as an event.
    client.onConversationEvent(
      (event) => {
        if (generation === this.generation) this.chats.handle(event);
      },
      (error) => {
        if (generation === this.generation && !isConnectionError(error)) this.set({ notice: describeError(error) });
      },
    );
    void this.chats.catchUp();
    void this.direct.start(client).catch((error: unknown) => this.set({ notice: describeError(error) }));
    // The directory may show a changed key for the open chat's peer since we last looked.
    const peer = this.chats.peerOf(this.state.selection);
    if (peer && this.state.selection.kind === 'chat') this.trust.check(peer);
    void this.refreshOnline().catch(() => undefined);
  }

  private connectionClosed(generation: number, error: { code: ErrorCode; message: string }): void {
    if (generation !== this.generation || this.leaving) return;
    this.client = undefined;
    this.messenger = undefined;
    // Presence is unknown until we are back.
    this.set({ online: [] });
    if (error.code === ErrorCode.DEVICE_REVOKED) {
      void this.forgetDevice('This device was logged out from another device.').then(() => this.connect());
      return;
    }
    this.scheduleReconnect(isConnectionError(error) ? '' : describeError(error));
  }

  private scheduleReconnect(reason: string): void {
    clearTimeout(this.retryTimer);
    // Exponential backoff with jitter, so a restarted server is not hit by every client at once.
    const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.attempt) * (0.8 + Math.random() * 0.4);
    this.attempt++;
    this.set({ connectivity: { state: 'offline', reason, retryAt: Date.now() + delay } });
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }

  reconnectNow(): void {
    void this.connect();
  }

  async trustNewServerKey(): Promise<void> {
    const profile = await this.profiles.load();
    const { [serverOrigin(this.options.server)]: _old, ...pins } = profile.pins;
    await this.profiles.savePins(pins);
    this.set({ screen: { name: 'starting' } });
    await this.connect();
  }

  // --- account (see account.ts) -------------------------------------------------------------

  private requireClient(): ParleyClient {
    if (!this.client) throw new Error('Not connected to the server. Parley keeps trying; try again in a moment.');
    return this.client;
  }

  readonly register = (username: string, password: string): Promise<void> => this.account.register(username, password);
  readonly finishRegistration = (): void => this.account.finishRegistration();
  readonly login = (username: string, password: string): Promise<void> => this.account.login(username, password);
  readonly devices = (): Promise<DeviceView[]> => this.account.devices();
  readonly revokeDevice = (deviceId: string): Promise<void> => this.account.revokeDevice(deviceId);

  async logout(): Promise<void> {
    await this.leave(async (client) => {
      await client.logout();
    }, 'You are logged out. This browser no longer holds your keys or messages.');
  }

  /** End this device's session, forget everything local, and start over on a fresh connection. */
  private async leave(end: (client: ParleyClient) => Promise<void>, notice: string): Promise<void> {
    const client = this.requireClient();
    this.leaving = true;
    try {
      await end(client);
    } catch (error) {
      throw new Error(describeError(error), { cause: error });
    } finally {
      this.leaving = false;
    }
    await this.forgetDevice(notice);
    await this.connect();
  }

  private async forgetDevice(notice: string): Promise<void> {
    this.generation++;
    this.timelocks.cancelAll();
    this.client?.close();
    this.client = undefined;
    this.messenger = undefined;
    await this.profiles.saveAccount(undefined, undefined);
    await this.store.clear();
    this.set({ screen: { name: 'signed-out' }, me: undefined, conversations: [], messages: {}, selection: { kind: 'none' }, online: [], keyChanged: [], solving: {}, notice });
  }

  // --- conversations (see conversations.ts) --------------------------------------------------

  readonly select = (selection: Selection): void => this.chats.select(selection);
  readonly startChat = (username: string): Promise<void> => this.chats.startChat(username);
  readonly send = (text: string, options?: { unlockAt?: number }): Promise<void> => this.chats.send(text, options);
  readonly openNow = (message: ChatMessage): Promise<void> => this.timelocks.openNow(message);
  readonly cancelOpen = (message: ChatMessage): void => this.timelocks.cancel(message);
  readonly retry = (message: ChatMessage): Promise<void> => this.chats.retry(message);
  readonly createGroup = (title: string, members: string[]): Promise<void> => this.chats.createGroup(title, members);
  readonly groupMembers = (groupId: string): Promise<GroupMembers> => this.chats.groupMembers(groupId);
  readonly addMembers = (groupId: string, usernames: string[]): Promise<void> => this.chats.addMembers(groupId, usernames);
  readonly removeMember = (groupId: string, username: string): Promise<void> => this.chats.removeMember(groupId, username);
  readonly leaveGroup = (groupId: string): Promise<void> => this.chats.leaveGroup(groupId);
  readonly acceptRequest = (groupId: string): Promise<void> => this.requests.accept(groupId);
  readonly declineRequest = (groupId: string): Promise<void> => this.requests.decline(groupId);
  readonly blockUser = (username: string): Promise<void> => this.requests.block(username);

  // --- safety numbers (see safety.ts) --------------------------------------------------------

  readonly safety = (username: string): Promise<SafetyView> => this.trust.view(username);
  readonly markVerified = (username: string, options?: { trustNewKey?: boolean }): Promise<SafetyView> => this.trust.markVerified(username, options);

  // --- presence --------------------------------------------------------------------------------

  readonly refreshOnline = (): Promise<void> => this.presence.refresh();

  readonly goDirect = (peer: string): Promise<void> => this.direct.go(peer);
  readonly answerDirect = (peer: string, accept: boolean): void => this.direct.answer(peer, accept);
  readonly endDirect = (peer: string): Promise<void> => this.direct.end(peer);

  dismissNotice(): void {
    this.set({ notice: undefined });
  }
}

export function createController(options: ControllerOptions): Controller {
  return new Controller(options);
}
