/**
 * @module The Parley client: connects over the secure channel, registers, logs in, and manages
 * this device's session. Isomorphic: web-standard APIs only; storage and sockets are injected.
 */
import {
  backupKeyFromExportKey,
  channelAuthMessage,
  CryptoError,
  deviceCertificateMessage,
  fingerprint,
  generateRecoveryKey,
  generateSigningKeyPair,
  opaqueClient,
  opaqueReady,
  open,
  passwordChangeMessage,
  recoveryKeys,
  recoveryMessage,
  sameFingerprint,
  safetyNumber,
  seal,
  sign,
  signingKeyPairFromSeed,
  type RecoveryKeys,
  type SigningKeyPair,
} from '@parley/crypto';
import { equalBytes, decodeCbor, encodeCbor, ErrorCode, normalizeUsername, ParleyError, s, toBase64Url, type DeviceCertificate, type DeviceInfo, type Event, type DeviceRef } from '@parley/protocol';
import { Connection } from './connection.js';
import { CredentialValidator, encodeCredential } from './credentials.js';
import { Messenger, type Message, type Requester } from './messenger.js';
import { withProofOfWork, type PowOptions, type PowProgress, type PowSolver } from './pow.js';
import { MemoryClientStore, type ClientStore } from './store.js';
import type { DeviceAccount, DeviceSecrets, ProfileStore } from './profile.js';
import { serverOrigin, websocketUrl, type SocketFactory } from './socket.js';

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

/** Options of `register` and `login`. */
export interface SignInOptions {
  deviceName?: string;
  /** Progress of a proof of work, when the server asks one (not called when it does not). */
  onPowProgress?: (progress: PowProgress) => void;
}

export interface Registration extends DeviceRef {
  /** Shown once: the only way back in if the password is lost. */
  recoveryKey: string;
}

// The key backup's plaintext: versioned so later releases can add fields.
const backupSchema = s.object({ v: s.literal(1), identityPrivateKey: s.bytes({ length: 32 }) });
const backupContext = (username: string) => `parley/backup/v1/${username}`;

function randomDeviceId(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(12)));
}

function defaultDeviceName(): string {
  return typeof navigator !== 'undefined' && navigator.userAgent ? navigator.userAgent.slice(0, 64) : 'device';
}

export class ParleyClient {
  private session: DeviceRef | undefined;
  private resuming: Promise<DeviceRef> | undefined;
  private messengerInstance: Messenger | undefined;

  private constructor(
    private readonly connection: Connection,
    private readonly store: ProfileStore,
    private readonly messageStore: ClientStore,
    readonly server: string,
    /** The fingerprint of the key this server proved it holds. */
    readonly serverFingerprint: string,
    private readonly powSolver: PowSolver | undefined,
  ) {}

  /** Open the secure channel. The server's key must match the pin (or `serverKey`), else SERVER_KEY_CHANGED. */
  static async connect(options: ClientOptions): Promise<ParleyClient> {
    await opaqueReady;
    const origin = serverOrigin(options.server);
    const profile = await options.store.load();
    let seen = '';
    const connection = await Connection.open(websocketUrl(options.server), {
      socketFactory: options.socketFactory,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      verifyServerKey: async (publicKey) => {
        seen = fingerprint(publicKey);
        const expected = options.serverKey ?? profile.pins[origin];
        if (expected !== undefined && !sameFingerprint(expected, seen)) {
          const source = options.serverKey ? 'the key you gave' : 'the key pinned on first use';
          throw new ParleyError(
            ErrorCode.SERVER_KEY_CHANGED,
            `the server at ${origin} presented key ${seen}, not ${source} (${expected}). ` +
              'Someone may be intercepting the connection. If the server operator confirms the new key, pass it with --server-key.',
          );
        }
        if (profile.pins[origin] === undefined || !sameFingerprint(profile.pins[origin], seen)) {
          await options.store.savePins({ ...profile.pins, [origin]: seen });
          if (profile.pins[origin] === undefined) options.onServerKeyPinned?.(seen);
        }
      },
    });
    return new ParleyClient(connection, options.store, options.messages ?? new MemoryClientStore(), options.server, seen, options.solvePow);
  }

  get currentSession(): DeviceRef | undefined {
    return this.session;
  }

  /** Create an account with this profile as its first device. */
  async register(usernameInput: string, password: string, options: SignInOptions = {}): Promise<Registration> {
    const username = normalizeUsername(usernameInput);
    checkPassword(password);
    const start = opaqueClient.startRegistration(password);
    const { response } = await withProofOfWork(
      'register',
      { op: 'register.start', username, request: start.request },
      (pow) => this.connection.request('register.start', { username, request: start.request, ...(pow ? { pow } : {}) }),
      this.powOptions(options),
    );
    const { record, exportKey } = opaqueClient.finishRegistration(start.state, password, username, response);

    const identity = generateSigningKeyPair();
    const recoveryKey = generateRecoveryKey();
    const recovery = recoveryKeys(recoveryKey);
    const backupPlaintext = encodeCbor({ v: 1, identityPrivateKey: identity.privateKey });
    const backupKey = backupKeyFromExportKey(exportKey);
    const backup = seal(backupKey, backupPlaintext, backupContext(username));
    const recoveryBackup = seal(recovery.sealKey, backupPlaintext, backupContext(username));
    wipe(exportKey, backupKey, backupPlaintext, recovery.sealKey);

    const device = this.newDevice(username, identity, options.deviceName);
    const session = await this.connection.request('register.finish', {
      record,
      identityKey: identity.publicKey,
      recoveryKey: recovery.signing.publicKey,
      device: device.certificate,
      backup,
      recoveryBackup,
    });
    await this.saveDevice(session, identity, device.keys, device.certificate);
    await this.messenger(); // uploads this device's KeyPackages, so others can add it at once
    return { ...session, recoveryKey };
  }

  /** Prove the password, open the key backup, and enrol this profile as a new device of the account. */
  async login(usernameInput: string, password: string, options: SignInOptions = {}): Promise<DeviceRef> {
    const username = normalizeUsername(usernameInput);
    const start = opaqueClient.startLogin(password);
    const { response } = await withProofOfWork(
      'login',
      { op: 'login.start', username, request: start.request },
      (pow) => this.connection.request('login.start', { username, request: start.request, ...(pow ? { pow } : {}) }),
      this.powOptions(options),
    );
    let finished;
    try {
      finished = opaqueClient.finishLogin(start.state, password, username, response);
    } catch (error) {
      if (error instanceof CryptoError) throw new ParleyError(ErrorCode.AUTH_FAILED, 'wrong username or password');
      throw error;
    }
    const { identityKey, backup } = await this.connection.request('login.finish', { finish: finished.finish });
    const backupKey = backupKeyFromExportKey(finished.exportKey);
    let identity: SigningKeyPair;
    try {
      const plaintext = backupSchema.parse(decodeCbor(open(backupKey, backup, backupContext(username))));
      identity = signingKeyPairFromSeed(plaintext.identityPrivateKey);
    } catch (error) {
      throw new ParleyError(ErrorCode.AUTH_FAILED, 'the key backup on the server did not open with this password', {}, { cause: error });
    } finally {
      wipe(finished.exportKey, backupKey);
    }
    if (!equalBytes(identity.publicKey, identityKey)) {
      throw new ParleyError(ErrorCode.AUTH_FAILED, 'the server returned an identity key that does not match the key backup');
    }
    const device = this.newDevice(username, identity, options.deviceName);
    const session = await this.connection.request('device.add', { device: device.certificate });
    await this.saveDevice(session, identity, device.keys, device.certificate);
    await this.messenger(); // uploads this device's KeyPackages, so others can add it at once
    return session;
  }

  /**
   * Change the password (DESIGN §5): prove the current one again on this device's connection,
   * register the new one, and re-seal the key backup under it, signed by the identity key. The
   * old password stops working; other devices stay logged in.
   */
  async changePassword(currentPassword: string, newPassword: string): Promise<DeviceRef> {
    checkPassword(newPassword);
    const session = await this.resume();
    const { username } = session;
    const secrets = await this.store.loadSecrets();
    if (!secrets) throw new ParleyError(ErrorCode.NOT_LOGGED_IN, 'this profile is not logged in');
    const login = opaqueClient.startLogin(currentPassword);
    const { response } = await withProofOfWork(
      'login',
      { op: 'password.verify.start', username, request: login.request },
      (pow) => this.connection.request('password.verify.start', { request: login.request, ...(pow ? { pow } : {}) }),
      this.powOptions({}),
    );
    let proven;
    try {
      proven = opaqueClient.finishLogin(login.state, currentPassword, username, response);
    } catch (error) {
      if (error instanceof CryptoError) throw new ParleyError(ErrorCode.AUTH_FAILED, 'wrong password');
      throw error;
    }
    const { backup } = await this.connection.request('password.verify.finish', { finish: proven.finish });
    // Re-seal exactly what the backup holds, after checking it is this account's identity key.
    const oldKey = backupKeyFromExportKey(proven.exportKey);
    let plaintext: Uint8Array;
    let backedUp: Uint8Array;
    try {
      plaintext = open(oldKey, backup, backupContext(username));
      backedUp = backupSchema.parse(decodeCbor(plaintext)).identityPrivateKey;
    } catch (error) {
      throw new ParleyError(ErrorCode.AUTH_FAILED, 'the key backup on the server did not open with the current password', {}, { cause: error });
    } finally {
      wipe(proven.exportKey, oldKey);
    }
    if (!equalBytes(backedUp, secrets.identityPrivateKey)) {
      throw new ParleyError(ErrorCode.AUTH_FAILED, "the key backup on the server holds another identity key than this device's; the password was not changed");
    }

    const registration = opaqueClient.startRegistration(newPassword);
    const { response: registrationResponse, nonce } = await this.connection.request('password.change.start', { request: registration.request });
    const { record, exportKey } = opaqueClient.finishRegistration(registration.state, newPassword, username, registrationResponse);
    const newKey = backupKeyFromExportKey(exportKey);
    const newBackup = seal(newKey, plaintext, backupContext(username));
    wipe(exportKey, newKey, plaintext);
    const signature = sign(secrets.identityPrivateKey, passwordChangeMessage(username, nonce, record, newBackup));
    await this.connection.request('password.change.finish', { record, backup: newBackup, signature });
    return session;
  }

  /**
   * Set a new password with the recovery key when the old one is lost (DESIGN §5), then enrol this
   * profile as a new device of the account. The identity key stays the same, so contacts see no
   * key change and the devices already in the account's conversations carry on.
   */
  async recover(usernameInput: string, recoveryKey: string, newPassword: string, options: { deviceName?: string } = {}): Promise<DeviceRef> {
    const username = normalizeUsername(usernameInput);
    checkPassword(newPassword);
    let recovery: RecoveryKeys;
    try {
      recovery = recoveryKeys(recoveryKey);
    } catch (error) {
      if (error instanceof CryptoError) throw new ParleyError(ErrorCode.BAD_INPUT, `not a recovery key: ${error.message}`);
      throw error;
    }
    const registration = opaqueClient.startRegistration(newPassword);
    const start = await withProofOfWork(
      'login',
      { op: 'recover.start', username, request: registration.request },
      (pow) => this.connection.request('recover.start', { username, request: registration.request, ...(pow ? { pow } : {}) }),
      this.powOptions({}),
    );
    let plaintext: Uint8Array;
    let identity: SigningKeyPair;
    try {
      plaintext = open(recovery.sealKey, start.recoveryBackup, backupContext(username));
      identity = signingKeyPairFromSeed(backupSchema.parse(decodeCbor(plaintext)).identityPrivateKey);
    } catch (error) {
      // An unknown user gets a fake backup that no key opens, so this answer cannot tell names apart.
      throw new ParleyError(ErrorCode.AUTH_FAILED, 'the recovery key does not match', {}, { cause: error });
    } finally {
      wipe(recovery.sealKey);
    }
    if (!equalBytes(identity.publicKey, start.identityKey)) {
      throw new ParleyError(ErrorCode.AUTH_FAILED, 'the server returned an identity key that does not match the recovery backup');
    }
    const { record, exportKey } = opaqueClient.finishRegistration(registration.state, newPassword, username, start.response);
    const backupKey = backupKeyFromExportKey(exportKey);
    const backup = seal(backupKey, plaintext, backupContext(username));
    wipe(exportKey, backupKey, plaintext);
    const signature = sign(recovery.signing.privateKey, recoveryMessage(username, start.nonce, record, backup));
    wipe(recovery.signing.privateKey);
    await this.connection.request('recover.finish', { record, backup, signature });

    const device = this.newDevice(username, identity, options.deviceName);
    const session = await this.connection.request('device.add', { device: device.certificate });
    await this.saveDevice(session, identity, device.keys, device.certificate);
    await this.messenger(); // uploads this device's KeyPackages, so others can add it at once
    return session;
  }

  /** Authenticate as the device saved in the profile, by signing this channel's handshake hash. */
  resume(): Promise<DeviceRef> {
    if (this.session) return Promise.resolve(this.session);
    // Callers racing to resume share one device.auth: the server accepts it once per connection.
    this.resuming ??= this.authenticateDevice().finally(() => {
      this.resuming = undefined;
    });
    return this.resuming;
  }

  private async authenticateDevice(): Promise<DeviceRef> {
    const { account, pins } = await this.store.load();
    const secrets = await this.store.loadSecrets();
    if (!account || !secrets) throw new ParleyError(ErrorCode.NOT_LOGGED_IN, 'this profile is not logged in; run register or login first');
    // Another address of the same server (another node behind the same key) is the same server.
    const accountKey = pins[serverOrigin(account.server)];
    const sameServer = serverOrigin(account.server) === serverOrigin(this.server) || (accountKey !== undefined && sameFingerprint(accountKey, this.serverFingerprint));
    if (!sameServer) {
      throw new ParleyError(ErrorCode.NOT_LOGGED_IN, `this profile is logged in to ${account.server}, not ${this.server}`);
    }
    const signature = sign(secrets.devicePrivateKey, channelAuthMessage(this.connection.handshakeHash, account.username, account.deviceId));
    this.session = await this.connection.request('device.auth', { username: account.username, deviceId: account.deviceId, signature });
    return this.session;
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

  /** End this device's session (or every device's); this profile forgets its keys. */
  async logout(options: { all?: boolean } = {}): Promise<{ revoked: number }> {
    await this.resume();
    const result = await this.connection.request('session.logout', { all: options.all ?? false });
    await this.forgetDevice();
    return result;
  }

  /** Conversations for the signed-in device (resumes the session if needed). */
  async messenger(): Promise<Messenger> {
    if (this.messengerInstance) return this.messengerInstance;
    const session = await this.resume();
    const { account } = await this.store.load();
    const secrets = await this.store.loadSecrets();
    if (!account || !secrets) throw new ParleyError(ErrorCode.NOT_LOGGED_IN, 'this profile is not logged in');
    const identity = encodeCredential({
      username: account.username,
      certificate: { deviceId: account.deviceId, name: account.deviceName, publicKey: account.devicePublicKey, signature: account.deviceCertificate },
    });
    const member = { identity, signaturePrivateKey: secrets.devicePrivateKey, signaturePublicKey: account.devicePublicKey };
    const request: Requester = (op, body) => this.connection.request(op, body);
    const validator = new CredentialValidator((username) => request('directory.lookup', { username }), {
      get: (username) => this.messageStore.getPinnedIdentity(username),
      set: (username, key) => this.messageStore.pinIdentity(username, key),
    });
    this.messengerInstance = new Messenger(request, this.messageStore, session, member, validator);
    await this.messengerInstance.ensureKeyPackages();
    return this.messengerInstance;
  }

  /**
   * The safety number I share with `username` (DESIGN §11), whether I marked it verified, and
   * whether their identity key differs from the one first seen (then IDENTITY_KEY_CHANGED on send).
   */
  async safety(usernameInput: string): Promise<{ username: string; safetyNumber: string; verified: boolean; keyChanged: boolean; identityKey: Uint8Array }> {
    const username = normalizeUsername(usernameInput);
    const session = await this.resume();
    const { account } = await this.store.load();
    if (!account) throw new ParleyError(ErrorCode.NOT_LOGGED_IN, 'this profile is not logged in');
    const entry = await this.connection.request('directory.lookup', { username });
    const pinned = await this.messageStore.getPinnedIdentity(username);
    if (!pinned) await this.messageStore.pinIdentity(username, entry.identityKey);
    const verifiedKey = await this.messageStore.getVerifiedIdentity(username);
    return {
      username,
      safetyNumber: safetyNumber({ username: session.username, identityKey: account.identityPublicKey }, { username, identityKey: entry.identityKey }),
      verified: verifiedKey !== undefined && equalBytes(verifiedKey, entry.identityKey),
      keyChanged: pinned !== undefined && !equalBytes(pinned, entry.identityKey),
      identityKey: entry.identityKey,
    };
  }

  /** Record that I compared safety numbers with `username`; with `trustNewKey`, also accept a changed key. */
  async markVerified(usernameInput: string, options: { trustNewKey?: boolean } = {}): Promise<void> {
    const state = await this.safety(usernameInput);
    if (state.keyChanged && !options.trustNewKey) {
      throw new ParleyError(ErrorCode.IDENTITY_KEY_CHANGED, `the identity key of ${state.username} changed; compare the new safety number, then trust it explicitly`);
    }
    await this.messageStore.pinIdentity(state.username, state.identityKey);
    await this.messageStore.setVerifiedIdentity(state.username, state.identityKey);
  }

  /** Online users visible to me, at most `limit`, in name order. */
  async onlineUsers(limit = 50): Promise<string[]> {
    await this.resume();
    const users: string[] = [];
    let after: string | undefined;
    while (users.length < limit) {
      const page = await this.connection.request('presence.list', { limit: Math.min(200, limit - users.length), ...(after ? { after } : {}) });
      users.push(...page.users);
      if (!page.next) break;
      after = page.next;
    }
    return users;
  }

  /**
   * Call `listener` with each new message as it arrives (pushed by the server), after it is
   * decrypted and saved. Returns a function that stops listening.
   */
  onMessage(listener: (message: Message) => void, onError: (error: unknown) => void = () => undefined): () => void {
    return this.connection.onEvent((event) => {
      if (event.kind !== 'message' && event.kind !== 'mailbox') return;
      void this.messenger()
        .then((messenger) => messenger.sync())
        .then(async ({ messages }) => {
          for (const message of messages) listener(message);
        })
        .catch(onError);
    });
  }

  onEvent(listener: (event: Event) => void): () => void {
    return this.connection.onEvent(listener);
  }

  onClose(listener: (error: ParleyError) => void): () => void {
    return this.connection.onClose(listener);
  }

  close(): void {
    this.connection.close();
    void this.messageStore.close();
  }

  private powOptions(options: SignInOptions): PowOptions {
    return {
      ...(this.powSolver ? { solve: this.powSolver } : {}),
      ...(options.onPowProgress ? { onProgress: options.onPowProgress } : {}),
      fetchChallenge: async (context) => (await this.connection.request('pow.challenge', { context })).challenge,
    };
  }

  private newDevice(username: string, identity: SigningKeyPair, deviceName: string | undefined) {
    const keys = generateSigningKeyPair();
    const deviceId = randomDeviceId();
    const name = (deviceName ?? defaultDeviceName()).slice(0, 64) || 'device';
    const signature = sign(identity.privateKey, deviceCertificateMessage({ username, deviceId, name, publicKey: keys.publicKey }));
    return { keys, certificate: { deviceId, name, publicKey: keys.publicKey, signature } };
  }

  private async saveDevice(session: DeviceRef, identity: SigningKeyPair, device: SigningKeyPair, certificate: DeviceCertificate): Promise<void> {
    const account: DeviceAccount = {
      server: this.server,
      username: session.username,
      deviceId: session.deviceId,
      deviceName: certificate.name,
      identityPublicKey: identity.publicKey,
      devicePublicKey: device.publicKey,
      deviceCertificate: certificate.signature,
    };
    const secrets: DeviceSecrets = { identityPrivateKey: identity.privateKey, devicePrivateKey: device.privateKey };
    await this.store.saveAccount(account, secrets);
    this.session = session;
  }

  private async forgetDevice(): Promise<void> {
    await this.store.saveAccount(undefined, undefined);
    this.session = undefined;
    this.messengerInstance = undefined;
  }
}

function checkPassword(password: string): void {
  if (password.length < 8) throw new ParleyError(ErrorCode.BAD_INPUT, 'choose a password of at least 8 characters');
  if (password.length > 1024) throw new ParleyError(ErrorCode.BAD_INPUT, 'a password may be at most 1024 characters');
}

function wipe(...secrets: Uint8Array[]): void {
  for (const secret of secrets) secret.fill(0);
}

