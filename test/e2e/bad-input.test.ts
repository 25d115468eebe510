import { Connection, MemoryProfileStore, parseGroupId, websocketUrl, type ProfileStore } from '@parley/client';
import { nodeSocketFactory } from '@parley/client/node';
import { channelAuthMessage, NoiseNXInitiator, sign } from '@parley/crypto';
import { CloseCode, decodeCbor, encodeCbor, encodeRequest, serverHelloSchema, type RequestOf } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, startTestServer, type TestServer } from '../support/harness.js';
import { openRawChannel, openSocket } from '../support/raw-channel.js';

describe('bad input', () => {
  let server: TestServer;
  beforeAll(async () => {
    // Everything here comes from 127.0.0.1, the honest client too: no bans (abuse.test.ts covers them).
    server = await startTestServer({ maxBadFrames: 5, strikeLimit: 1_000_000 });
  });
  afterAll(async () => {
    await server.close();
  });

  it('closes a connection whose first frame is not a handshake', async () => {
    const { ws, closed } = await openSocket(server.url);
    ws.send(Buffer.from('GET / HTTP/1.1 and other garbage'));
    expect((await closed).code).toBe(CloseCode.BAD_HANDSHAKE);
  });

  it('refuses text frames', async () => {
    const { ws, closed } = await openSocket(server.url);
    ws.send('hello');
    expect((await closed).code).toBe(CloseCode.TEXT_FRAME);
  });

  it('refuses an unknown protocol version with a clear error', async () => {
    const { ws, closed } = await openSocket(server.url);
    const initiator = new NoiseNXInitiator();
    const reply = new Promise<Buffer>((resolve) => ws.once('message', resolve));
    ws.send(initiator.writeMessage1(encodeCbor({ v: 99 })));
    const hello = serverHelloSchema.parse(decodeCbor(initiator.readMessage2(new Uint8Array(await reply)).payload));
    expect(hello.error?.code).toBe('UNSUPPORTED_VERSION');
    expect((await closed).code).toBe(CloseCode.UNSUPPORTED_VERSION);
  });

  it('answers malformed, unknown and mistyped requests with error codes, then closes after too many', async () => {
    const raw = await openRawChannel(server.url);
    raw.send(new Uint8Array([0xff, 0x00, 0x13]));
    expect(await raw.next()).toMatchObject({ ok: false, error: { code: 'BAD_FRAME' } });
    raw.send(encodeCbor({ op: 'teleport', id: 4, body: {} }));
    expect(await raw.next()).toMatchObject({ id: 4, ok: false, error: { code: 'UNKNOWN_OP' } });
    raw.send(encodeCbor({ op: 'login.start', id: 5, body: { username: ['x'], request: 'nope' } }));
    expect(await raw.next()).toMatchObject({ id: 5, ok: false, error: { code: 'BAD_REQUEST' } });
    raw.send(encodeRequest('account.whoami', 6, {}));
    expect(await raw.next()).toMatchObject({ id: 6, ok: false, error: { code: 'UNAUTHENTICATED' } });
    raw.send(encodeRequest('login.finish', 7, { finish: new Uint8Array(64) }));
    expect(await raw.next()).toMatchObject({ id: 7, ok: false, error: { code: 'BAD_REQUEST' } });
    raw.send(encodeRequest('ping', 8, {}));
    expect(await raw.next()).toMatchObject({ id: 8, ok: true });
    for (let i = 0; i < 3; i++) raw.send(encodeCbor('not a map'));
    expect((await raw.closed).code).toBe(CloseCode.TOO_MANY_BAD_FRAMES);
  });

  it("refuses a bad sync.fetch range with a clear error, and the device's connection serves on", async () => {
    const profile: ProfileStore = new MemoryProfileStore();
    const client = await connectClient(server, profile);
    await client.register('ranger', 'ranger password 1');
    const group = await (await client.messenger()).createGroup('ranges', []);
    client.close();
    const { account } = await profile.load();
    const secrets = await profile.loadSecrets();
    if (!account || !secrets) throw new Error('not registered');
    const link = await Connection.open(websocketUrl(server.url), { socketFactory: nodeSocketFactory, verifyServerKey: () => undefined });
    const signature = sign(secrets.devicePrivateKey, channelAuthMessage(link.handshakeHash, account.username, account.deviceId));
    await link.request('device.auth', { username: account.username, deviceId: account.deviceId, signature });
    const groupId = parseGroupId(group.groupId) ?? new Uint8Array();
    const fetchRange = (range: unknown) => link.request('sync.fetch', { range } as RequestOf<'sync.fetch'>);

    await expect(fetchRange({ groupId, fromSeq: 5, toSeq: 2 })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: 'range ends (toSeq 2) before it starts (fromSeq 5)' });
    await expect(fetchRange({ groupId: new Uint8Array(16).fill(1), fromSeq: 1 })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/^this device is not in group /) });
    await expect(fetchRange({ groupId: new Uint8Array(3), fromSeq: 1 })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('groupId') });
    await expect(fetchRange({ groupId, fromSeq: -1 })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('fromSeq') });
    await expect(fetchRange({ groupId, fromSeq: 1, toSeq: 'all' })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('toSeq') });
    expect(await fetchRange({ groupId, fromSeq: 1 })).toEqual({ mailbox: [], entries: [], gaps: [], more: false });
    link.close();
  });

  it('closes the channel on a frame that fails authentication, and on an oversized frame', async () => {
    const tampered = await openRawChannel(server.url);
    const sealed = tampered.channel.send.encrypt(new Uint8Array([0, 1, 2, 3]));
    sealed[0] = (sealed[0] ?? 0) ^ 0xff;
    tampered.ws.send(sealed);
    expect((await tampered.closed).code).toBe(CloseCode.CHANNEL_BROKEN);

    const huge = await openRawChannel(server.url);
    huge.ws.send(new Uint8Array(70_000));
    expect((await huge.closed).code).toBe(1009); // RFC 6455 §7.4.1: message too big
  });

  it('keeps serving everyone else while garbage flows', async () => {
    const garbage = Array.from({ length: 20 }, async (_, i) => {
      const raw = await openRawChannel(server.url);
      for (let j = 0; j < 10; j++) raw.send(crypto.getRandomValues(new Uint8Array(1 + ((i * 37 + j * 11) % 300))));
      return raw.closed;
    });
    const honest = await connectClient(server);
    const registration = await honest.register('honest', 'honest password 1');
    expect(registration.username).toBe('honest');
    expect((await honest.whoami()).username).toBe('honest');
    honest.close();
    const codes = await Promise.all(garbage);
    expect(codes.every(({ code }) => code === CloseCode.TOO_MANY_BAD_FRAMES)).toBe(true);
  });
});
