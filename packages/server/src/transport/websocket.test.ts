import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { boundedSender } from './websocket.js';

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
afterEach(() => cleanup?.());

describe('boundedSender', () => {
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
    const send = boundedSender(server, stream, MAX_BUFFERED, () => undefined);
    for (const text of ['reply', 'push', 'ack reply']) send(new TextEncoder().encode(text));
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
    const send = boundedSender(server, stream, 1000, () => overflowed++);
    send(new Uint8Array(600));
    expect(overflowed).toBe(0);
    send(new Uint8Array(600));
    expect(overflowed).toBe(1);
    await closed;
  });
});
