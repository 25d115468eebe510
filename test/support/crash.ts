/**
 * Crash safety (DESIGN §2: "the server stays up, answers others, and loses no data"): `parley
 * serve` is killed with SIGKILL while clients send and receive, then restarted on the same port
 * and data directory, several times. Every message whose send resolved (the server acknowledged
 * it) must reach its recipients exactly once; one whose send failed may arrive at most once.
 */
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startServeProcess, type ServeProcess } from './cli.js';
import { TestDevice } from './device.js';
import { tempDir } from './harness.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface CrashOptions {
  rounds: number;
  /** How long clients send before each kill: a random time in this range. */
  sendMs: [number, number];
  /** Also a third user sending to a group of all three (registering costs a second or so). */
  group?: boolean;
}

export interface CrashResult {
  rounds: number;
  /** Sends that resolved: the server acknowledged them. */
  acknowledged: number;
  /** Sends that failed with the server dying under them (they may or may not have been stored). */
  unacknowledged: number;
  /** Acknowledged messages a recipient never got: must be 0. */
  lost: string[];
  /** Messages a recipient holds more than once: must be 0. */
  duplicated: string[];
  /** Unacknowledged messages that reached their recipients anyway (stored, then the reply was lost). */
  unacknowledgedDelivered: number;
  /** Received messages that nobody sent: must be 0. */
  unexpected: string[];
  restartSeconds: number[];
}

export async function crashScenario(options: CrashOptions): Promise<CrashResult> {
  const dir = tempDir('crash');
  const port = await freePort();
  const args = ['--port', String(port), '--data', join(dir.path, 'data')];
  let server: ServeProcess = await startServeProcess(args);
  const address = { url: server.url };
  const [alice, bob, carol] = [new TestDevice(address), new TestDevice(address), new TestDevice(address)];
  const devices = options.group ? [alice, bob, carol] : [alice, bob];
  try {
    for (const [device, name] of [[alice, 'alice'], [bob, 'bob'], [carol, 'carol']] as const) if (devices.includes(device)) await (await device.open()).register(name, 'crash test password');
    await (await alice.messenger()).sendDirect('bob', 'direct chat opens');
    const group = options.group ? await (await carol.messenger()).createGroup('crash group', ['alice', 'bob']) : undefined;
    for (const device of devices) await device.receive();

    // What each recipient should get, by sender: alice → bob (direct), carol → alice and bob (group).
    const acknowledged = new Set<string>();
    const unacknowledged = new Set<string>();
    const senders = [{ device: alice, prefix: 'a', send: async (text: string) => (await alice.messenger()).sendDirect('bob', text), recipients: [bob] }];
    if (group) senders.push({ device: carol, prefix: 'c', send: async (text: string) => (await carol.messenger()).sendToGroup(group.groupId, text), recipients: [alice, bob] });
    let counter = 0;
    let sending = true;
    const loops = senders.map(async ({ device, prefix, send }) => {
      while (sending) {
        // A connection that cannot open sends nothing: only a failed send may have reached the server.
        const ready = await device.messenger().then(
          () => true,
          () => false,
        );
        if (!ready) {
          await sleep(50);
          continue;
        }
        const text = `${prefix}-${counter++}`;
        try {
          await send(text);
          acknowledged.add(text);
        } catch {
          unacknowledged.add(text);
          await sleep(50);
        }
      }
    });
    // Bob also syncs (and acknowledges) while the server dies under him.
    let syncing = true;
    const syncLoop = (async () => {
      while (syncing) {
        await bob.receive().catch(() => sleep(50));
        await sleep(100);
      }
    })();

    const restartSeconds: number[] = [];
    for (let round = 0; round < options.rounds; round++) {
      const [min, max] = options.sendMs;
      await sleep(min + Math.random() * (max - min));
      await server.stop('SIGKILL');
      const started = performance.now();
      server = await startServeProcess(args);
      restartSeconds.push(Number(((performance.now() - started) / 1000).toFixed(2)));
      if (server.url !== address.url) throw new Error(`restarted at ${server.url}, not ${address.url}`);
    }
    await sleep(500); // some traffic after the last restart too
    sending = false;
    syncing = false;
    await Promise.all([...loops, syncLoop]);

    // Every recipient catches up completely.
    for (const device of devices) {
      device.close();
      for (let empty = 0; empty < 2; ) empty = (await device.receive()).length === 0 ? empty + 1 : 0;
    }
    const lost: string[] = [];
    const duplicated: string[] = [];
    const unexpected: string[] = [];
    let unacknowledgedDelivered = 0;
    for (const { prefix, recipients } of senders) {
      for (const recipient of recipients) {
        const texts: string[] = [];
        for (const conversation of await recipient.messages.listConversations()) {
          for (const message of await recipient.messages.listMessages(conversation.groupId)) if (message.text?.startsWith(`${prefix}-`)) texts.push(message.text);
        }
        const seen = new Map<string, number>();
        for (const text of texts) seen.set(text, (seen.get(text) ?? 0) + 1);
        for (const [text, times] of seen) {
          if (times > 1) duplicated.push(text);
          if (!acknowledged.has(text) && !unacknowledged.has(text)) unexpected.push(text);
          if (unacknowledged.has(text)) unacknowledgedDelivered++;
        }
        for (const text of acknowledged) if (text.startsWith(`${prefix}-`) && !seen.has(text)) lost.push(text);
      }
    }
    return { rounds: options.rounds, acknowledged: acknowledged.size, unacknowledged: unacknowledged.size, lost, duplicated, unacknowledgedDelivered, unexpected, restartSeconds };
  } finally {
    for (const device of devices) device.close();
    await server.stop('SIGKILL');
    dir.remove();
  }
}
