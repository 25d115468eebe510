import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { startPinging, type Pinger } from './websocket.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let wss: WebSocketServer | undefined;
let pinger: Pinger | undefined;
const clients: WebSocket[] = [];

afterEach(async () => {
  pinger?.stop();
  for (const client of clients.splice(0)) client.terminate();
  const server = wss;
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
