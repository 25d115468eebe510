/**
 * What the messaging tests share: a real server on a free port with its logs captured, users
 * whose devices hold genuine MLS state for one test group, and the steps every scenario repeats
 * (uploading KeyPackages, adding a device by Welcome, sending and receiving) (DESIGN §6, §7).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { addMembers, createGroup, encrypt, generateKeyPackage, inspectMessage, joinFromWelcome, processMessage, type MlsGeneratedKeyPackage } from '@parley/crypto';
import { toHex, type LogEntry } from '@parley/protocol';
import { expect } from 'vitest';
import { createLogger } from './logger.js';
import { startServer, type RunningServer } from './server.js';
import { addDevice, reconnect, register, type TestClient, type TestDevice } from './test-client.testkit.js';

export const anyCredential = async () => true;
export const utf8 = (value: string) => new TextEncoder().encode(value);
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

export interface Member {
  client: TestClient;
  device: TestDevice;
  /** This device's MLS state for the test group. */
  state: Uint8Array;
}

/** One server and one test group for a test file: `start` in beforeAll, `close` in afterAll. */
export class MessagingKit {
  readonly dataDir = mkdtempSync(join(tmpdir(), 'parley-messaging-'));
  readonly groupId = crypto.getRandomValues(new Uint8Array(16));
  /** Every application message sent, so the logs can be searched for them. */
  readonly payloads: Uint8Array[] = [];
  /** Everything the server logged, at debug level. */
  logs = '';
  private running: RunningServer | undefined;
  private readonly open: TestClient[] = [];
  private readonly generated = new Map<string, MlsGeneratedKeyPackage[]>();
  private readonly sink = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      this.logs += chunk.toString('utf8');
      done();
    },
  });

  get server(): RunningServer {
    if (!this.running) throw new Error('the server is not started');
    return this.running;
  }

  /** Starts the server on the kit's data directory (again, after `server.close()`, for a restart). */
  async start(): Promise<void> {
    this.running = await startServer({ host: '127.0.0.1', port: 0, dataDir: this.dataDir, logger: createLogger('debug', this.sink) });
  }

  async close(): Promise<void> {
    for (const client of this.open) client.close();
    await this.running?.close();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** A client closed with the kit. */
  track(client: TestClient): TestClient {
    this.open.push(client);
    return client;
  }

  async users(...names: string[]): Promise<Member[]> {
    const users = await Promise.all(names.map((name) => register(this.server.url, name)));
    return users.map(({ client, device }) => ({ client: this.track(client), device, state: new Uint8Array(0) }));
  }

  async addDevice(of: Member, deviceId: string): Promise<Member> {
    const second = await addDevice(this.server.url, of.device, deviceId);
    return { client: this.track(second.client), device: second.device, state: new Uint8Array(0) };
  }

  /** The member's device signs in again on a new connection. */
  async reconnect(member: Member): Promise<void> {
    member.client = this.track(await reconnect(this.server.url, member.device));
  }

  async upload(member: Member, count: number): Promise<number> {
    const keyPackages = await Promise.all(Array.from({ length: count }, () => generateKeyPackage(member.device.member)));
    const lastResort = await generateKeyPackage(member.device.member, { lastResort: true });
    this.generated.set(member.device.deviceId, [...this.keyPackagesOf(member), ...keyPackages, lastResort]);
    const { count: stored } = await member.client.request('keys.upload', { keyPackages: keyPackages.map((k) => k.keyPackage), lastResort: lastResort.keyPackage });
    return stored;
  }

  keyPackagesOf(member: Member): MlsGeneratedKeyPackage[] {
    return this.generated.get(member.device.deviceId) ?? [];
  }

  /** Joins from a Welcome with whichever of the device's KeyPackages it is addressed to. */
  async joinFrom(member: Member, welcome: Uint8Array): Promise<void> {
    const framing = inspectMessage(welcome);
    if (framing.kind !== 'welcome') throw new Error('not a welcome');
    const refs = framing.keyPackageRefs.map(toHex);
    const mine = this.keyPackagesOf(member).find((k) => refs.includes(toHex(k.keyPackageRef)));
    if (!mine) throw new Error(`no KeyPackage of ${member.device.deviceId} in the welcome`);
    member.state = (await joinFromWelcome(welcome, mine.privateState, anyCredential)).state;
  }

  /** Processes a pushed or fetched log entry; returns the plaintext of an application message. */
  async receive(member: Member, entry: LogEntry): Promise<string | undefined> {
    const processed = await processMessage(member.state, entry.payload, anyCredential);
    member.state = processed.state;
    return processed.kind === 'application' ? text(processed.plaintext) : undefined;
  }

  async send(member: Member, message: string, epoch: number): Promise<number> {
    const encrypted = await encrypt(member.state, member.device.member, utf8(message));
    member.state = encrypted.state;
    this.payloads.push(encrypted.message);
    return (await member.client.request('group.send', { groupId: this.groupId, epoch, message: encrypted.message })).seq;
  }

  async claimOne(by: Member, username: string): Promise<{ deviceId: string; keyPackage: Uint8Array }> {
    const { devices } = await by.client.request('keys.claim', { username });
    expect(devices).toHaveLength(1);
    return devices[0] as { deviceId: string; keyPackage: Uint8Array };
  }

  // --- setting up a scenario ------------------------------------------------------------------

  /** `creator` makes the test group, alone at epoch 0. */
  async createGroup(creator: Member): Promise<void> {
    const created = await createGroup(creator.device.member, this.groupId);
    creator.state = created.state;
    await creator.client.request('group.create', { groupId: this.groupId, kind: 'group', groupInfo: created.groupInfo });
  }

  /**
   * `by` adds the one device of `member`'s user it can claim, at `epoch`; `others` (the members
   * but `by`) process the commit, and the device joins from its Welcome and acknowledges it.
   */
  async add(by: Member, member: Member, epoch: number, others: Member[] = []): Promise<void> {
    const claimed = await this.claimOne(by, member.device.username);
    const add = await addMembers(by.state, by.device.member, [claimed.keyPackage], anyCredential);
    const added = [{ username: member.device.username, deviceId: claimed.deviceId }];
    await by.client.request('group.commit', { groupId: this.groupId, epoch, commit: add.commit, groupInfo: add.groupInfo, welcome: add.welcome, add: added, remove: [] });
    by.state = add.pendingState;
    for (const other of others) await this.receive(other, await other.client.nextEvent('message'));
    const welcome = await member.client.nextEvent('mailbox');
    await this.joinFrom(member, welcome.payload as Uint8Array);
    await member.client.request('sync.ack', { mailbox: [welcome.id], cursors: [] });
  }
}
