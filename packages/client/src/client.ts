/**
 * @module The Parley client: one connection to a server over the secure channel, and the
 * account, trust and conversations on it. A facade: the work lives in `connection/`,
 * `account/`, `trust/` and `conversations/`. Isomorphic: web-standard APIs only; storage and
 * sockets are injected (Node adapters in `@parley/client/node`).
 */
import { opaqueReady } from '@parley/crypto';
import { ErrorCode, normalizeUsername, ParleyError, type DeviceInfo, type DeviceRef, type Event, type OpName } from '@parley/protocol';
import { authenticateDevice, type AccountContext } from './account/devices.js';
import { changePassword } from './account/password.js';
import type { PowSolver } from './account/pow.js';
import * as signIn from './account/sign-in.js';
import type { SignInOptions } from './account/sign-in.js';
import { Connection } from './connection/connection.js';
import { websocketUrl, type SocketFactory } from './connection/socket.js';
import type { Requester } from './connection/requester.js';
import { DeviceMessenger } from './conversations/device-messenger.js';
import type { ConversationEvent } from './conversations/events.js';
import type { Messenger } from './conversations/messenger.js';
import { onlineUsers } from './conversations/presence.js';
import type { Message } from './conversations/views.js';
import { startDirectSessions, type DirectOptions, type DirectSessions } from './direct/sessions.js';
import type { ClientStore } from './store/client-store.js';
import { MemoryClientStore } from './store/memory-client-store.js';
import type { ProfileStore } from './store/profile.js';
import { Directory } from './trust/directory.js';
import { KeyLog } from './trust/key-log.js';
import { markVerified, safetyState, type SafetyState } from './trust/safety.js';
import { checkServerKey } from './trust/server-key.js';

export interface ClientOptions {
  /** Server base URL, e.g. http://127.0.0.1:8080. */
  server: string;
  store: ProfileStore;
  /** Where conversations and MLS state are kept; in memory unless given. */
  messages?: ClientStore;
  socketFactory: SocketFactory;
  /** Expected server key fingerprint; overrides (and replaces) a pinned one. */
  serverKey?: string;
  /** Called when a server key is pinned for the first time (trust on first use). */
  onServerKeyPinned?(fingerprint: string): void;
  timeoutMs?: number;
  /**
   * Solves the proof of work a busy server asks before registration or login (DESIGN §10).
   * Default: `solvePow` on this thread. Browser apps pass one that runs it in a Web Worker.
   */
  solvePow?: PowSolver;
}

export class ParleyClient {
  private session: DeviceRef | undefined;
  private resuming: Promise<DeviceRef> | undefined;
  private directReady: Promise<DirectSessions> | undefined;
  private readonly directory: Directory;
  private readonly deviceMessenger: DeviceMessenger;
  private readonly request: Requester = (op, body) => this.connection.request(op, body);

  private constructor(
    private readonly connection: Connection,
    private readonly profiles: ProfileStore,
    private readonly store: ClientStore,
    readonly server: string,
    /** The fingerprint of the key this server proved it holds. */
    readonly serverFingerprint: string,
    private readonly powSolver: PowSolver | undefined,
  ) {
    const keyLog = new KeyLog(this.request, store, connection.serverKey);
    this.directory = new Directory((username) => keyLog.lookup(username), store);
    this.deviceMessenger = new DeviceMessenger({ request: this.request, store, profiles, directory: this.directory, pushes: connection, self: () => this.resume() });
  }

  /** Open the secure channel. The server's key must match the pin (or `serverKey`), else SERVER_KEY_CHANGED. */
  static async connect(options: ClientOptions): Promise<ParleyClient> {
    await opaqueReady;
    let seen = '';
    const connection = await Connection.open(websocketUrl(options.server), {
      socketFactory: options.socketFactory,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      verifyServerKey: async (publicKey) => void (seen = await checkServerKey(options, publicKey)),
    });
    return new ParleyClient(connection, options.store, options.messages ?? new MemoryClientStore(), options.server, seen, options.solvePow);
  }

  get currentSession(): DeviceRef | undefined {
    return this.session;
  }

  private get account(): AccountContext {
    return {
      request: this.request,
      profiles: this.profiles,
      server: this.server,
      serverFingerprint: this.serverFingerprint,
      ...(this.powSolver ? { solvePow: this.powSolver } : {}),
    };
  }

  /** Create an account with this profile as its first device; the result holds the recovery key, shown once. */
  async register(username: string, password: string, options: SignInOptions = {}): Promise<signIn.Registration> {
    return this.enrolled(await signIn.register(this.account, username, password, options));
  }

  /** Prove the password, open the key backup, and enrol this profile as a new device of the account. */
  async login(username: string, password: string, options: SignInOptions = {}): Promise<DeviceRef> {
    return this.enrolled(await signIn.login(this.account, username, password, options));
  }

  /** Set a new password with the recovery key, then enrol this profile as a new device (DESIGN §5). */
  async recover(username: string, recoveryKey: string, newPassword: string, options: { deviceName?: string } = {}): Promise<DeviceRef> {
    return this.enrolled(await signIn.recover(this.account, username, recoveryKey, newPassword, options.deviceName));
  }

  /** A new device: upload its KeyPackages at once, so others can add it. */
  private async enrolled<T extends DeviceRef>(session: T): Promise<T> {
    this.session = { username: session.username, deviceId: session.deviceId };
    await (await this.messenger({ newDevice: true })).settled();
    return session;
  }

  /** Change the password on this signed-in device; other devices stay logged in (DESIGN §5). */
  async changePassword(currentPassword: string, newPassword: string): Promise<DeviceRef> {
    const session = await this.resume();
    await changePassword(this.account, session, currentPassword, newPassword);
    return session;
  }

  /** Authenticate as the device saved in the profile, by signing this channel's handshake hash. */
  resume(): Promise<DeviceRef> {
    if (this.session) return Promise.resolve(this.session);
    // Callers racing to resume share one device.auth: the server accepts it once per connection.
    this.resuming ??= authenticateDevice(this.account, this.connection.handshakeHash)
      .then((session) => (this.session = session))
      .finally(() => (this.resuming = undefined));
    return this.resuming;
  }

  async whoami(): Promise<DeviceRef & { identityKey: Uint8Array }> {
    await this.resume();
    return this.connection.request('account.whoami', {});
  }

  async devices(): Promise<DeviceInfo[]> {
    await this.resume();
    return (await this.connection.request('device.list', {})).devices;
  }

  async revokeDevice(deviceId: string): Promise<void> {
    const session = await this.resume();
    await this.connection.request('device.revoke', { deviceId });
    if (deviceId === session.deviceId) await this.forgetDevice();
  }

  /** End this device's session (or every device's); this profile forgets its keys. Direct peers hear `logged out`. */
  async logout(options: { all?: boolean } = {}): Promise<{ revoked: number }> {
    await this.resume();
    await (await this.directReady)?.endAll('logged out');
    const result = await this.connection.request('session.logout', { all: options.all ?? false });
    await this.forgetDevice();
    return result;
  }

  /** Conversations for the signed-in device (resumes the session if needed). */
  messenger(options: { newDevice?: boolean } = {}): Promise<Messenger> {
    return this.deviceMessenger.get(options);
  }

  /**
   * Direct sessions (DESIGN §9) of this signed-in device: the first call sets them up with
   * `options` (the WebRTC stack above all); later calls return the same.
   */
  direct(options: DirectOptions): Promise<DirectSessions> {
    const start = {
      request: this.request,
      messenger: () => this.messenger(),
      self: () => this.resume(),
      profiles: this.profiles,
      onEvent: (listener: (event: Event) => void) => this.connection.onEvent(listener),
      failed: (error: unknown) => this.deviceMessenger.failed(error),
    };
    this.directReady ??= startDirectSessions(start, options).catch((error: unknown) => {
      this.directReady = undefined;
      throw error;
    });
    return this.directReady;
  }

  /** The safety number I share with `username` (DESIGN §11), whether I verified it, and whether their key changed. */
  async safety(username: string): Promise<SafetyState> {
    return safetyState(await this.safetyContext(), normalizeUsername(username));
  }

  /** Record that I compared safety numbers with `username`; with `trustNewKey`, also accept a changed key. */
  async markVerified(username: string, options: { trustNewKey?: boolean } = {}): Promise<void> {
    await markVerified(await this.safetyContext(), normalizeUsername(username), options);
  }

  private async safetyContext() {
    const session = await this.resume();
    const { account } = await this.profiles.load();
    if (!account) throw new ParleyError(ErrorCode.NOT_LOGGED_IN, 'this profile is not logged in');
    return { directory: this.directory, store: this.store, me: { username: session.username, identityKey: account.identityPublicKey } };
  }

  /** Online users visible to me, at most `limit`, in name order. */
  async onlineUsers(limit = 50): Promise<string[]> {
    await this.resume();
    return onlineUsers(this.request, limit);
  }

  /**
   * Hear what happens in conversations as it happens. While anyone listens, this client is live:
   * the server's pushes are applied as they arrive, with no fetching, and `onError` hears
   * failures that are not one entry's (the connection, the store). Returns a function that stops.
   */
  onConversationEvent(listener: (event: ConversationEvent) => void, onError?: (error: unknown) => void): () => void {
    return this.deviceMessenger.listen(listener, onError);
  }

  /** Call `listener` with each new message, decrypted and saved, as it arrives (see onConversationEvent). */
  onMessage(listener: (message: Message) => void, onError?: (error: unknown) => void): () => void {
    return this.onConversationEvent((event) => {
      if (event.kind === 'message') listener(event.message);
    }, onError);
  }

  /** Every push from the server, as it arrives (presence, revocation, and the raw log and mailbox entries). */
  onEvent(listener: (event: Event) => void): () => void {
    return this.connection.onEvent(listener);
  }

  onClose(listener: (error: ParleyError) => void): () => void {
    return this.connection.onClose(listener);
  }

  /** Hears the op of every request sent on this connection: for metrics and tests. */
  onRequest(listener: (op: OpName) => void): () => void {
    return this.connection.onRequest(listener);
  }

  close(): void {
    this.connection.close();
    void this.store.close();
  }

  private async forgetDevice(): Promise<void> {
    await this.profiles.saveAccount(undefined, undefined);
    this.session = undefined;
    this.deviceMessenger.forget();
  }
}
