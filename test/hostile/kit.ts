/**
 * @module The hostile-client kit (issue #11): attackers that speak Parley's wire protocol
 * themselves, over the real Noise channel, against a real server on a loopback port
 * (`startTestServer` in test/support/harness.ts). An attacker is a registered account with its
 * own device keys and MLS credentials, and does whatever an honest SDK would never do.
 *
 *   const mallory = await Attacker.register(server, 'mallory');
 *   await mallory.uploadKeyPackages(3);                    // so honest users can add mallory
 *   await mallory.request('keys.claim', { username });     // typed request; rejects with ParleyError
 *   const error = await mallory.refused('group.commit', body); // the ParleyError of a refused request
 *   const extra = await mallory.connect();                 // one more channel, signed in as the same device
 *   const raw = await mallory.rawChannel();                // a signed-in raw channel for pre-encoded floods
 *   const laptop = await mallory.addDevice('mallory-laptop'); // a second device of the account
 *   const [group] = await mallory.joinWelcomes();          // joins the groups whose Welcome waits for it
 *   const mine = await mallory.createGroup();              // or an MLS group of its own
 *   await group.catchUp();                                 // processes the group's log to stay current
 *   await mine.addUser('victim');                          // claims victim's KeyPackages and adds every device
 *   await mine.sendText('hi');                             // a message in the SDK's content format
 *   await group.commit(await group.removing([key]), { remove: [] }); // any commit, with any declared routing change
 *
 * Its leaves carry Parley credentials (a device certificate signed by its identity key), so honest
 * clients accept them; `Attacker.register(server, name, { identity })` gives it another credential.
 * `honestUser` registers a real SDK user (test/support/device.ts) to be the victim or the friend.
 */
import {
  addMembers,
  channelAuthMessage,
  createGroup,
  encrypt,
  generateKeyPackage,
  groupMetadata,
  inspectMessage,
  joinFromWelcome,
  processMessage,
  removeMembers,
  selfUpdate,
  sign,
  type MlsCommitOutput,
  type MlsGeneratedKeyPackage,
  type MlsMember,
  type SigningKeyPair,
} from '@parley/crypto';
import { decodeCbor, encodeCbor, encodeContent, encodeRequest, ParleyError, toHex, type DeviceRef, type GroupKind, type OpName, type RequestOf, type ResponseOf } from '@parley/protocol';
import { addDevice, certificate, reconnect, register, type TestClient, type TestDevice } from '../../packages/server/src/test-client.testkit.js';
import { TestDevice as HonestDevice } from '../support/device.js';
import { openRawChannel, type RawChannel } from '../support/raw-channel.js';

export const HONEST_PASSWORD = 'an honest password';

/** Attackers accept any credential: they are not protecting anyone. */
const anyCredential = async (): Promise<boolean> => true;

/** A Parley MLS credential (what the SDK puts in a leaf): the username and the device certificate, in CBOR. */
export function parleyCredential(device: TestDevice): Uint8Array {
  return encodeCbor({ username: device.username, certificate: certificate(device) });
}

/** Who a Parley credential names, or undefined for anything else. */
export function credentialOwner(identity: Uint8Array): DeviceRef | undefined {
  try {
    const value = decodeCbor(identity) as { username?: unknown; certificate?: { deviceId?: unknown } };
    const deviceId = value.certificate?.deviceId;
    return typeof value.username === 'string' && typeof deviceId === 'string' ? { username: value.username, deviceId } : undefined;
  } catch {
    return undefined;
  }
}

/** Registers a real SDK user (the victim or an honest friend), with KeyPackages uploaded. */
export async function honestUser(server: { url: string }, username: string): Promise<HonestDevice> {
  const device = new HonestDevice(server);
  await (await device.open()).register(username, HONEST_PASSWORD, { deviceName: `${username}-1` });
  await device.messenger();
  return device;
}

export class Attacker {
  readonly member: MlsMember;
  private readonly keyPackages: MlsGeneratedKeyPackage[] = [];

  private constructor(
    readonly server: { url: string },
    readonly client: TestClient,
    readonly device: TestDevice,
    identity: Uint8Array,
  ) {
    this.member = { ...device.member, identity };
  }

  /** A new account with one device, signed in. `identity` replaces its Parley credential in the leaves it makes. */
  static async register(server: { url: string }, username: string, options: { identity?: Uint8Array } = {}): Promise<Attacker> {
    const { client, device } = await register(server.url, username);
    return new Attacker(server, client, device, options.identity ?? parleyCredential(device));
  }

  get username(): string {
    return this.device.username;
  }

  get ref(): DeviceRef {
    return { username: this.device.username, deviceId: this.device.deviceId };
  }

  /** A typed request on the attacker's main channel. */
  request<O extends OpName>(op: O, body: RequestOf<O>): Promise<ResponseOf<O>> {
    return this.client.request(op, body);
  }

  /** The error a request is refused with; fails the test if the server accepted it. */
  async refused<O extends OpName>(op: O, body: RequestOf<O>, client: TestClient = this.client): Promise<ParleyError> {
    try {
      await client.request(op, body);
    } catch (error) {
      if (error instanceof ParleyError) return error;
      throw error;
    }
    throw new Error(`the server accepted ${op}`);
  }

  /**
   * A further device of the same account (password login, then `device.add`), as an attacker of
   * its own; `identity` as in `register`, `keys` to certify a key pair used before (a revoked device's).
   */
  async addDevice(deviceId: string, options: { identity?: Uint8Array; keys?: SigningKeyPair } = {}): Promise<Attacker> {
    const { client, device } = await addDevice(this.server.url, this.device, deviceId, options.keys);
    return new Attacker(this.server, client, device, options.identity ?? parleyCredential(device));
  }

  /** Another connection signed in as this device (floods use several). */
  connect(): Promise<TestClient> {
    return reconnect(this.server.url, this.device);
  }

  /**
   * A raw channel signed in as this device: the caller sends envelopes it encoded beforehand
   * (`encodeRequest`) and reads replies one by one, so a flood costs the attacker almost nothing.
   * `localAddress` (any of 127.0.0.0/8) makes it come from another host.
   */
  async rawChannel(options: { localAddress?: string } = {}): Promise<RawChannel> {
    const channel = await openRawChannel(this.server.url, 1, options);
    const { username, deviceId } = this.device;
    const signature = sign(this.device.keys.privateKey, channelAuthMessage(channel.channel.handshakeHash, username, deviceId));
    channel.send(encodeRequest('device.auth', 0, { username, deviceId, signature }));
    const reply = await channel.next();
    if (reply.type !== 'reply' || !reply.ok) throw new Error(`device.auth failed on a raw channel: ${JSON.stringify(reply)}`);
    return channel;
  }

  /** Uploads `count` one-time KeyPackages (and a last-resort one) whose private states the attacker keeps. */
  async uploadKeyPackages(count: number): Promise<MlsGeneratedKeyPackage[]> {
    const fresh = await Promise.all(Array.from({ length: count }, () => generateKeyPackage(this.member)));
    const lastResort = await generateKeyPackage(this.member, { lastResort: true });
    this.keyPackages.push(...fresh, lastResort);
    await this.request('keys.upload', { keyPackages: fresh.map((kp) => kp.keyPackage), lastResort: lastResort.keyPackage });
    return fresh;
  }

  /** A new MLS group of the attacker's own, registered with the server. */
  async createGroup(kind: GroupKind = 'group', groupId: Uint8Array = crypto.getRandomValues(new Uint8Array(16))): Promise<AttackerGroup> {
    const created = await createGroup(this.member, groupId);
    await this.request('group.create', { groupId, kind, groupInfo: created.groupInfo });
    return new AttackerGroup(this, groupId, created.state);
  }

  /** Joins every group whose Welcome waits in the mailbox for one of its KeyPackages, and acknowledges the mailbox. */
  async joinWelcomes(): Promise<AttackerGroup[]> {
    const { mailbox } = await this.request('sync.fetch', {});
    const joined: AttackerGroup[] = [];
    for (const entry of mailbox) {
      if (entry.kind !== 'welcome' || !entry.payload) continue;
      const framing = inspectMessage(entry.payload);
      if (framing.kind !== 'welcome') continue;
      const refs = new Set(framing.keyPackageRefs.map(toHex));
      const mine = this.keyPackages.find((kp) => refs.has(toHex(kp.keyPackageRef)));
      if (!mine) continue;
      const { state } = await joinFromWelcome(entry.payload, mine.privateState, anyCredential);
      joined.push(new AttackerGroup(this, entry.groupId, state, entry.seq));
    }
    await this.request('sync.ack', { mailbox: mailbox.map((entry) => entry.id), cursors: [] });
    return joined;
  }

  close(): void {
    this.client.close();
  }
}

/** The attacker's MLS state in one group, and the commits it can make there. */
export class AttackerGroup {
  constructor(
    readonly attacker: Attacker,
    readonly groupId: Uint8Array,
    public state: Uint8Array,
    /** The last log entry this state has taken in. */
    public seq = 0,
  ) {}

  get epoch(): number {
    return Number(groupMetadata(this.state).epoch);
  }

  /** Every leaf: its index, signature key and whose Parley credential it carries. */
  leaves(): { leafIndex: number; signaturePublicKey: Uint8Array; owner: DeviceRef | undefined }[] {
    return groupMetadata(this.state).members.map((leaf) => ({ leafIndex: leaf.leafIndex, signaturePublicKey: leaf.signaturePublicKey, owner: credentialOwner(leaf.identity) }));
  }

  /** The signature key of `username`'s leaves (their devices in the group). */
  keysOf(username: string): Uint8Array[] {
    return this.leaves()
      .filter((leaf) => leaf.owner?.username === username)
      .map((leaf) => leaf.signaturePublicKey);
  }

  /** Processes the group's new log entries (commits move the state on; application messages are read and dropped). */
  async catchUp(): Promise<void> {
    const { entries } = await this.attacker.request('sync.fetch', {});
    let last = this.seq;
    for (const entry of entries) {
      if (toHex(entry.groupId) !== toHex(this.groupId) || entry.seq <= this.seq) continue;
      try {
        this.state = (await processMessage(this.state, entry.payload, anyCredential)).state;
      } catch {
        // An entry this state cannot take (e.g. from before it joined) is skipped, as the SDK does.
      }
      last = entry.seq;
    }
    this.seq = last;
    if (last > 0) await this.attacker.request('sync.ack', { mailbox: [], cursors: [{ groupId: this.groupId, seq: last }] });
  }

  /** Encrypts `text` (raw UTF-8, not the SDK's content format) for the current epoch and sends it. */
  async send(text: string): Promise<number> {
    const { message, state } = await encrypt(this.state, this.attacker.member, new TextEncoder().encode(text));
    this.state = state;
    return (await this.attacker.request('group.send', { groupId: this.groupId, epoch: this.epoch, message })).seq;
  }

  /** Encrypts `text` in the SDK's content format, which honest clients show as a message, for the current epoch; not sent. */
  async sealText(text: string, sentAt = Date.now()): Promise<Uint8Array> {
    const { message, state } = await encrypt(this.state, this.attacker.member, encodeContent({ t: 'text', text, sentAt }));
    this.state = state;
    return message;
  }

  /** Sends `text` in the SDK's content format; returns its seq. */
  async sendText(text: string, sentAt = Date.now()): Promise<number> {
    const message = await this.sealText(text, sentAt);
    return (await this.attacker.request('group.send', { groupId: this.groupId, epoch: this.epoch, message })).seq;
  }

  /** Claims `username`'s KeyPackages and commits the add of all their devices, declared truthfully. */
  async addUser(username: string): Promise<ResponseOf<'group.commit'>> {
    return this.addClaimed(username, (await this.attacker.request('keys.claim', { username })).devices);
  }

  /** Commits the add of devices claimed from `username` earlier, declared truthfully. */
  async addClaimed(username: string, devices: ResponseOf<'keys.claim'>['devices']): Promise<ResponseOf<'group.commit'>> {
    return this.commit(await this.adding(devices.map((device) => device.keyPackage)), { add: devices.map((device) => ({ username, deviceId: device.deviceId })) });
  }

  adding(keyPackages: Uint8Array[]): Promise<MlsCommitOutput & { welcome: Uint8Array }> {
    return addMembers(this.state, this.attacker.member, keyPackages, anyCredential);
  }

  removing(signaturePublicKeys: Uint8Array[]): Promise<MlsCommitOutput> {
    return removeMembers(this.state, this.attacker.member, signaturePublicKeys);
  }

  updating(): Promise<MlsCommitOutput> {
    return selfUpdate(this.state, this.attacker.member);
  }

  /**
   * Uploads `output` as a commit bundle with whatever routing change the attacker declares (the
   * server is told `add` and `remove`, true or not), and adopts the new state if it was accepted.
   */
  async commit(output: MlsCommitOutput & { welcome?: Uint8Array }, declared: { add?: DeviceRef[]; remove?: DeviceRef[]; client?: TestClient } = {}): Promise<ResponseOf<'group.commit'>> {
    const client = declared.client ?? this.attacker.client;
    const accepted = await client.request('group.commit', this.bundle(output, declared));
    this.state = output.pendingState;
    this.seq = accepted.seq;
    return accepted;
  }

  /** The `group.commit` request body for `output` in the current epoch, for tests that send it themselves. */
  bundle(output: MlsCommitOutput & { welcome?: Uint8Array }, declared: { add?: DeviceRef[]; remove?: DeviceRef[] } = {}): RequestOf<'group.commit'> {
    return {
      groupId: this.groupId,
      epoch: this.epoch,
      commit: output.commit,
      groupInfo: output.groupInfo,
      ...(output.welcome ? { welcome: output.welcome } : {}),
      add: declared.add ?? [],
      remove: declared.remove ?? [],
    };
  }
}
