/** A simulated device: a profile and a message store that outlive any one connection, like a phone's disk. */
import { MemoryClientStore, MemoryProfileStore, type Message, type ParleyClient, type SocketFactory } from '@parley/client';
import { connectClient } from './harness.js';

export class TestDevice {
  readonly profile = new MemoryProfileStore();
  messages = new MemoryClientStore();
  private client: ParleyClient | undefined;

  constructor(
    private server: { url: string },
    /** How this device connects, e.g. `socketFactoryFrom(address)` to look like another host. */
    private readonly connectOptions: { socketFactory?: SocketFactory } = {},
  ) {}

  /** A new device of `username`, signed in by registering the account or by logging in to it. */
  static async signIn(server: { url: string }, username: string, how: 'register' | 'login', options: { password: string; deviceName: string }): Promise<TestDevice> {
    const device = new TestDevice(server);
    try {
      const client = await device.open();
      if (how === 'register') await client.register(username, options.password, { deviceName: options.deviceName });
      else await client.login(username, options.password, { deviceName: options.deviceName });
      return device;
    } catch (error) {
      device.close();
      throw error;
    }
  }

  /** Point this device at another server address (e.g. a restarted server on a new port). */
  moveTo(server: { url: string }): void {
    this.server = server;
  }

  async open(): Promise<ParleyClient> {
    if (this.client) return this.client;
    this.client = await connectClient(this.server, this.profile, this.connectOptions, this.messages);
    this.client.onClose(() => {
      this.client = undefined;
    });
    return this.client;
  }

  async messenger() {
    return (await this.open()).messenger();
  }

  /** Sync and return the new messages' `sender: text` lines. */
  async receive(): Promise<string[]> {
    const { messages } = await (await this.messenger()).sync();
    return messages.map((m: Message) => `${m.sender}: ${m.text}`);
  }

  /** Sync, then accept every pending message request (DESIGN §6 consent); returns who they were from. */
  async acceptRequests(): Promise<string[]> {
    const messenger = await this.messenger();
    await messenger.sync();
    const from: string[] = [];
    for (const request of await messenger.requests()) {
      await messenger.acceptRequest(request.conversation.groupId);
      from.push(request.from);
    }
    return from;
  }

  close(): void {
    this.client?.close();
    this.client = undefined;
  }
}
