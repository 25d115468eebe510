/**
 * Exactly once across a lost reply (issue #15): a client that resends the ciphertext it kept
 * (`onSealed`, then `sealed`) gets the first sequence number back from the real server, even after
 * the group's epoch moved on, and the other members receive the message once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SealedText } from '@parley/client';
import { TestDevice } from '../support/device.js';
import { startTestServer, type TestServer } from '../support/harness.js';

const PASSWORD = 'resend test password';

describe('resending a message whose reply was lost', () => {
  let server: TestServer;
  const devices: TestDevice[] = [];

  async function account(username: string): Promise<TestDevice> {
    const device = new TestDevice(server);
    devices.push(device);
    await (await device.open()).register(username, PASSWORD, { deviceName: `${username}-1` });
    await device.messenger();
    return device;
  }

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    for (const device of devices) device.close();
    await server.close();
  });

  it('is stored once, with its first sequence number, though the epoch moved on in between', async () => {
    const alice = await account('alice');
    const bob = await account('bob');
    await account('carol');
    const messenger = await alice.messenger();
    await messenger.createGroup('resend club', ['bob']);

    const kept: SealedText[] = [];
    const onSealed = async (sealed: SealedText) => void kept.push(sealed);
    // The server stores it; say its reply was lost, so the app still holds it in its outbox.
    const first = await messenger.sendToGroup('resend club', 'exactly once', { onSealed });
    expect(kept).toHaveLength(1);
    const sealed = kept[0] as SealedText;

    await messenger.addToGroup('resend club', ['carol']);
    const again = await messenger.sendToGroup('resend club', 'exactly once', { sealed, onSealed });
    expect(again.seq).toBe(first.seq);
    expect(kept).toHaveLength(1);

    await messenger.sendToGroup('resend club', 'and then this');
    expect(await bob.receive()).toEqual(['alice: exactly once', 'alice: and then this']);
    const own = await alice.messages.listMessages(first.groupId);
    expect(own.map((m) => m.text)).toEqual(['exactly once', 'and then this']);
  });
});
