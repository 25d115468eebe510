import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { BoundedSocket, startPinging, type Pinger } from './websocket.js';

const MAX_BUFFERED = 1024 * 1024;

/** A loopback WebSocket pair: the server end with the stream beneath it, and the client end. */
async function socketPair(): Promise<{ http: Server; server: WebSocket; stream: Duplex; client: WebSocket }> {
  const http = createServer();
  const wss = new WebSocketServer({ noServer: true });
  const accepted = new Promise<{ server: WebSocket; stream: Duplex }>((resolve) => {
    http.on('upgrade', (request, stream: Duplex, head) => wss.handleUpgrade(request, stream, head, (server) => resolve({ server, stream })));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`);
  await new Promise((resolve) => client.once('open', resolve));
  return { http, client, ...(await accepted) };
}

let cleanup: (() => void) | undefined;

describe('BoundedSocket', () => {
  it('holds the frames of one tick and writes them together once it has run, in order', async () => {
    const { http, server, stream, client } = await socketPair();
    cleanup = () => {
      client.terminate();
      http.close();
    };
    const received: string[] = [];
    const all = new Promise<void>((resolve) =>
      client.on('message', (data: Buffer) => {
        received.push(data.toString());
        if (received.length === 3) resolve();
      }),
    );
    const socket = new BoundedSocket(server, stream, MAX_BUFFERED, () => undefined);
    for (const text of ['reply', 'push', 'ack reply']) socket.send(new TextEncoder().encode(text));
    // Corked: nothing is written while this tick runs; the three frames wait in the stream.
    expect(stream.writableCorked).toBe(1);
    expect(stream.writableLength).toBeGreaterThan(0);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(stream.writableCorked).toBe(0);
    await all;
    expect(received).toEqual(['reply', 'push', 'ack reply']);
  });

  it('cuts a connection whose unread frames pass the limit, corked or not', async () => {
    const { http, server, stream, client } = await socketPair();
    cleanup = () => http.close();
    let overflowed = 0;
    const closed = new Promise((resolve) => client.once('close', resolve));
    const socket = new BoundedSocket(server, stream, 1000, () => overflowed++);
    socket.send(new Uint8Array(600));
    expect(overflowed).toBe(0);
    socket.send(new Uint8Array(600));
    expect(overflowed).toBe(1);
    await closed;
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let wss: WebSocketServer | undefined;
let pinger: Pinger | undefined;
const clients: WebSocket[] = [];

afterEach(async () => {
  cleanup?.();
  cleanup = undefined;
  pinger?.stop();
  pinger = undefined;
  for (const client of clients.splice(0)) client.terminate();
  const server = wss;
  wss = undefined;
  if (server) await new Promise((resolve) => server.close(resolve));
});

/** A loopback ws server whose sockets `startPinging` watches; resolves to the pinger's dead count and a client opener. */
async function pingingServer(pingIntervalMs: number, pongTimeoutMs: number) {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss = server;
  await new Promise((resolve) => server.once('listening', resolve));
  const dead = { count: 0 };
  const watching = startPinging(server.clients, { pingIntervalMs, pongTimeoutMs }, () => dead.count++);
  pinger = watching;
  server.on('connection', (ws) => watching.watch(ws));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const open = async (answers: boolean) => {
    const client = new WebSocket(url, { autoPong: answers });
    clients.push(client);
    let pings = 0;
    client.on('ping', () => pings++);
    const closed = new Promise<number>((resolve) => client.on('close', (code) => resolve(code)));
    await new Promise((resolve) => client.once('open', resolve));
    return { client, pings: () => pings, closed };
  };
  return { dead, open };
}

describe('startPinging', () => {
  // Both orders of the two delays: rounds overlap when the pong timeout is the longer.
  const delays: Array<[pingIntervalMs: number, pongTimeoutMs: number]> = [
    [40, 20],
    [20, 60],
  ];
  for (const [pingIntervalMs, pongTimeoutMs] of delays) {
    it(`keeps a socket that answers and cuts one that does not (ping every ${pingIntervalMs} ms, pong within ${pongTimeoutMs} ms)`, async () => {
      const { dead, open } = await pingingServer(pingIntervalMs, pongTimeoutMs);
      const answering = await open(true);
      const deaf = await open(false);
      expect(await deaf.closed).toBe(1006); // terminated, no close frame
      expect(deaf.pings()).toBeGreaterThanOrEqual(1);
      await sleep(5 * (pingIntervalMs + pongTimeoutMs));
      expect(answering.client.readyState).toBe(WebSocket.OPEN);
      expect(answering.pings()).toBeGreaterThanOrEqual(5);
      expect(dead.count).toBe(1);
    });
  }

  it('pings no more once stopped', async () => {
    const { open } = await pingingServer(20, 20);
    const answering = await open(true);
    await sleep(100);
    pinger?.stop();
    await sleep(20); // a ping sent just before may still be on its way
    const pings = answering.pings();
    expect(pings).toBeGreaterThanOrEqual(1);
    await sleep(100);
    expect(answering.pings()).toBe(pings);
  });
});
