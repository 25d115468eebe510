/**
 * Direct sessions through the SDK (issue #13, DESIGN §9): what goes device to device reaches
 * only the device at the other end; with a copy through the server, every device of the account
 * gets it, and the device at the other end shows it once.
 */
import { type ConversationEvent, type DirectSessions } from '@parley/client';
import { weriftLinkFactory } from '@parley/client/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDevice } from '../support/device.js';
import { startTestServer, type TestServer } from '../support/harness.js';

const PASSWORD = 'direct sessions password';

async function until(what: string, probe: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('direct sessions in the SDK', () => {
  let server: TestServer;
  const alice = new TestDevice({ url: '' });
  let bobPhone: TestDevice;
  let bobLaptop: TestDevice;
  let sessions: DirectSessions;
  const phoneSaw: string[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    alice.moveTo(server);
    bobPhone = new TestDevice(server);
    bobLaptop = new TestDevice(server);
    await (await alice.open()).register('alice', PASSWORD);
    await (await bobPhone.open()).register('bob', PASSWORD);
    await (await bobLaptop.open()).login('bob', PASSWORD);
    await (await alice.messenger()).sendDirect('bob', 'hello bob');
    expect(await bobPhone.acceptRequests()).toEqual(['alice']);
    await bobLaptop.receive();
    const phone = await bobPhone.open();
    phone.onConversationEvent((event: ConversationEvent) => {
      if (event.kind === 'message') phoneSaw.push(`${event.message.text} via ${event.message.via ?? 'server'}`);
    });
    (await phone.direct({ links: weriftLinkFactory })).answer(
      () => true,
      () => undefined,
    );
    sessions = await (await alice.open()).direct({ links: weriftLinkFactory });
  });
  afterAll(async () => {
    for (const device of [alice, bobPhone, bobLaptop]) device.close();
    await server.close();
  });

  it('device to device by default: the other end gets it, its other devices never do', async () => {
    const session = await sessions.open('bob');
    await session.opened;
    const sent = await session.send('for your phone only');
    expect(sent).toMatchObject({ via: 'direct', text: 'for your phone only', seq: expect.any(Number) });
    expect(Number.isInteger(sent.seq)).toBe(false);
    await until('the phone to show it', () => phoneSaw.includes('for your phone only via direct'));
    await session.end();
    expect(await bobLaptop.receive()).toEqual([]);
    // Kept in the history on both ends, in order after what came before.
    const phoneHistory = await bobPhone.messages.listMessages(sent.groupId);
    expect(phoneHistory.map((message) => message.text)).toEqual(['hello bob', 'for your phone only']);
  });

  it('with a copy through the server: every device of the account gets it, the other end shows it once', async () => {
    const session = await sessions.open('bob', { copyToServer: true });
    await session.opened;
    const sent = await session.send('for all your devices');
    expect(sent).toMatchObject({ via: 'direct', text: 'for all your devices' });
    expect(Number.isInteger(sent.seq)).toBe(true);
    await until('the phone to show it', () => phoneSaw.some((line) => line.startsWith('for all your devices')));
    expect(await bobLaptop.receive()).toEqual(['alice: for all your devices']);
    // It reached the phone twice, by the channel and from the server; whichever came second was a duplicate.
    await (await bobPhone.messenger()).sync();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(phoneSaw.filter((line) => line.startsWith('for all your devices'))).toHaveLength(1);
    await session.end();
  });

  it('falls back to the server while no session is open', async () => {
    const session = await sessions.open('bob');
    await session.opened;
    await session.end();
    expect(session.state).toBe('closed');
    expect((await session.send('after the end')).via).toBe('server');
    await until('the phone to get it through the server', () => phoneSaw.includes('after the end via server'));
  });
});
