import { MemoryProfileStore } from '@parley/client';
import { encodeCbor } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, startTestServer, type TestServer } from '../support/harness.js';
import { startRelay, websocketPayloads, type Relay } from '../support/relay.js';

describe('what a network observer sees', () => {
  let server: TestServer;
  let relay: Relay;
  beforeAll(async () => {
    server = await startTestServer();
    relay = await startRelay(server.url);
  });
  afterAll(async () => {
    await relay.close();
    await server.close();
  });

  it('neither the username nor the password crosses the wire in clear', async () => {
    const username = 'wiretapped-user';
    const password = 'wiretap password 123';
    const store = new MemoryProfileStore();
    const first = await connectClient(relay, store);
    await first.register(username, password);
    first.close();
    const second = await connectClient(relay, new MemoryProfileStore());
    await second.login(username, password);
    expect((await second.whoami()).username).toBe(username);
    second.close();
    await new Promise((resolve) => setTimeout(resolve, 100));

    const up = websocketPayloads(relay.upstream());
    const down = relay.downstream();
    expect(up.length).toBeGreaterThan(1000);
    expect(down.length).toBeGreaterThan(1000);
    // The capture parser really does see frame contents: the handshake's protocol-version payload is readable.
    expect(up.includes(Buffer.from(encodeCbor({ v: 1 })))).toBe(true);
    for (const needle of [username, password]) {
      for (const encoding of ['utf8', 'utf16le', 'base64'] as const) {
        const bytes = Buffer.from(needle, encoding === 'base64' ? 'utf8' : encoding);
        const form = encoding === 'base64' ? Buffer.from(bytes.toString('base64').slice(0, 12)) : bytes;
        expect(up.includes(form)).toBe(false);
        expect(down.includes(form)).toBe(false);
      }
    }
  });
});
