/**
 * @module The web client's engine: one ParleyClient at a time over the browser adapters
 * (IndexedDB profile and store, platform WebSocket), reconnecting with backoff when the
 * connection drops. The parts it holds do the rest, each reading and changing the snapshot
 * (snapshot.ts); controller.ts turns them into the screens' actions.
 */
import { ErrorCode, ParleyClient, type DeviceRef, type Messenger } from '@parley/client';
import { IndexedDbClientStore } from '../storage/client-store.js';
import { IndexedDbOutbox } from '../storage/outbox-store.js';
import { IndexedDbProfileStore } from '../storage/profile-store.js';
import { workerPowSolver } from '../pow.js';
import { browserSocketFactory } from '../socket.js';
import { Account } from './account.js';
import { browserProblem, holdDeviceLock } from './browser.js';
import { Conversations } from './conversations.js';
import { Requests } from './requests.js';
import { describeError, isCode, isConnectionError } from './errors.js';
import { Groups } from './groups.js';
import { HistorySharing } from './history.js';
import { Notifier } from './notifications.js';
import { Presence } from './presence.js';
import { Backoff, onPageReturn } from './reconnect.js';
import { Safety } from './safety.js';
import { Snapshot } from './snapshot.js';
import { Timelocks } from './timelocks.js';
import { initialState } from './state.js';

export interface ControllerOptions {
  /** Base URL of the Parley server; the web client talks to the server that served it. */
  server: string;
  profileDatabase?: string;
  messagesDatabase?: string;
}

const REQUEST_TIMEOUT_MS = 20_000;

export class Engine extends Snapshot {
  private readonly profiles: IndexedDbProfileStore;
  private store: IndexedDbClientStore;
  private readonly outbox: IndexedDbOutbox;
  private client: ParleyClient | undefined;
  private messenger: Messenger | undefined;
  /** Bumped for every connection: callbacks from an older one ignore themselves. */
  private generation = 0;
  /** Set while this device logs itself out, so the server's closing of the socket is expected. */
  private leaving = false;
  private readonly backoff = new Backoff(() => void this.connect());
  protected readonly chats: Conversations = new Conversations({
    ...this.view,
    store: () => this.store,
    messenger: () => this.messenger,
    outbox: () => this.outbox,
    openedDirect: (peer) => this.trust.check(peer),
    identityKeyChanged: (peer) => this.trust.keyChanged(peer),
    openedChat: (groupId) => void this.groups.lookAt(groupId),
    userExists: (username) => this.trust.exists(username),
  });
  protected readonly account = new Account({
    ...this.view,
    requireClient: () => this.requireClient(),
    store: () => this.store,
    profiles: () => this.profiles,
    signedIn: (session) => this.enterMain(this.generation, session),
    reconnect: () => this.connect(),
    logout: () => this.logout(),
  });
  protected readonly groups = new Groups({ ...this.view, store: () => this.store, messenger: () => this.messenger, refreshConversations: () => this.chats.refreshConversations(), select: (selection) => this.chats.select(selection) });
  protected readonly notifier = new Notifier({ ...this.view, select: (selection) => this.chats.select(selection) });
  protected readonly requests = new Requests({ set: (patch) => this.set(patch), messenger: () => this.messenger, refreshConversations: () => this.chats.refreshConversations() });
  protected readonly timelocks = new Timelocks({ ...this.view, store: () => this.store, opened: (message) => this.chats.opened(message) });
  protected readonly presence = new Presence({ ...this.view, client: () => this.client });
  protected readonly history = new HistorySharing({ ...this.view, client: () => this.resumedClient(), messenger: () => this.messenger, profiles: () => this.profiles });
  protected readonly trust: Safety = new Safety({
    ...this.view,
    client: () => this.resumedClient(),
    refreshConversations: () => this.chats.refreshConversations(),
    safetyChanged: (username, digits) => this.groups.safetyChanged(username, digits),
  });

  constructor(protected readonly options: ControllerOptions) {
    super();
    this.profiles = new IndexedDbProfileStore(options.profileDatabase);
    this.store = new IndexedDbClientStore(options.messagesDatabase);
    this.outbox = new IndexedDbOutbox(options.messagesDatabase);
  }

  // --- starting, connecting, reconnecting ------------------------------------------------------

  async start(): Promise<void> {
    const problem = browserProblem();
    if (problem) return this.set({ screen: { name: 'failed', message: problem } });
    await holdDeviceLock(
      () => this.set({ screen: { name: 'other-tab' } }),
      () => this.set({ screen: { name: 'starting' } }),
    );
    const reconnectIfOffline = () => this.state.connectivity.state === 'offline' && this.reconnectNow();
    onPageReturn(reconnectIfOffline, () => {
      void this.chats.markSelectionRead({ returning: true });
      reconnectIfOffline();
    });
    await this.connect();
  }

  private async connect(): Promise<void> {
    this.backoff.cancel();
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
      this.backoff.reset();
      this.set({ screen: { name: 'signed-out' }, connectivity: { state: 'online' } });
      return;
    }
    await this.account.showPendingRecoveryKey();
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
    await this.account.showPendingRecoveryKey();
    await this.chats.refreshConversations();
    await this.chats.outbox.load();
  }

  private async enterMain(generation: number, session: DeviceRef): Promise<void> {
    this.backoff.reset();
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
        if (generation !== this.generation) return;
        for (const part of [this.chats, this.history, this.groups, this.notifier]) part.handle(event);
      },
      (error) => {
        if (generation === this.generation && !isConnectionError(error)) this.set({ notice: describeError(error) });
      },
    );
    void this.chats.direct.start(client);
    // What waits in the outbox goes first, in order; then whatever came in meanwhile.
    await this.chats.outbox.load();
    void this.chats.catchUp();
    void this.history.start();
    // The directory may show a changed key for the open chat's peer since we last looked.
    const peer = this.chats.peerOf(this.state.selection);
    if (peer && this.state.selection.kind === 'chat') this.trust.check(peer);
    void this.presence.refresh().catch(() => undefined);
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
    this.set({ connectivity: { state: 'offline', reason, retryAt: this.backoff.schedule() } });
  }

  reconnectNow(): void {
    void this.connect();
  }

  // --- leaving: logging out, or a device revoked elsewhere ------------------------------------

  /** Only once the session is resumed (enterMain): two concurrent resumes would both authenticate. */
  private resumedClient(): ParleyClient | undefined {
    return this.state.connectivity.state === 'online' && this.state.me ? this.client : undefined;
  }

  private requireClient(): ParleyClient {
    if (!this.client) throw new Error('Not connected to the server. Parley keeps trying; try again in a moment.');
    return this.client;
  }

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
    this.chats.outbox.cancel();
    this.client?.close();
    this.client = undefined;
    this.messenger = undefined;
    await this.profiles.saveAccount(undefined, undefined);
    await this.store.clear();
    this.set({ screen: { name: 'signed-out' }, me: undefined, conversations: [], messages: {}, selection: { kind: 'none' }, online: [], keyChanged: [], solving: {}, history: initialState.history, systemLines: {}, groupMembers: {}, firstUnread: undefined, direct: initialState.direct, notice });
  }

  dismissNotice(): void {
    this.set({ notice: undefined });
  }
}

