/** Helpers for the abuse-defence tests (DESIGN §10): /metrics, raw TCP, idle WebSockets, timings. */
import { connect, type Socket } from 'node:net';
import { WebSocket } from 'ws';

/** The server's /metrics text. */
export async function scrapeMetrics(url: string, options: { localAddress?: string } = {}): Promise<string> {
  if (!options.localAddress) return (await fetch(`${url}/metrics`)).text();
  // fetch cannot pick a source address; a raw request can.
  const { hostname, port } = new URL(url);
  const socket = await rawConnect(url, options.localAddress);
  socket.write(`GET /metrics HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n\r\n`);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  await new Promise((resolve) => socket.on('close', resolve));
  const text = Buffer.concat(chunks).toString('utf8');
  return text.slice(text.indexOf('\r\n\r\n') + 4);
}

/** The sum of the samples of `name` whose labels include `labels` (0 when none). */
export function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) total += Number(match[3]);
  }
  return total;
}

/** A plain TCP connection to the server's port, from `localAddress`. Resolves once connected. */
export function rawConnect(url: string, localAddress = '127.0.0.1'): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), localAddress });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Milliseconds from now until `socket` closes (from either side). */
export function closedAfter(socket: Socket): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) => {
    if (socket.destroyed) resolve(0);
    socket.on('error', () => undefined);
    socket.once('close', () => resolve(performance.now() - started));
  });
}

export interface IdleSocket {
  ws: WebSocket;
  /** When the WebSocket opened (performance.now()). */
  openedAt: number;
  /** Close code and milliseconds after opening; code 1006 is a cut without a close frame. */
  closed: Promise<{ code: number; afterMs: number }>;
}

/** A WebSocket that upgrades and then never speaks. Rejects if the upgrade is refused. */
export function openIdleSocket(url: string, localAddress: string): Promise<IdleSocket> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`, { localAddress, perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => {
      const openedAt = performance.now();
      ws.on('error', () => undefined);
      const closed = new Promise<{ code: number; afterMs: number }>((done) => ws.once('close', (code) => done({ code, afterMs: performance.now() - openedAt })));
      resolve({ ws, openedAt, closed });
    });
  });
}

/** Resolves true if a WebSocket from `localAddress` is refused (reset at accept, or 403/429 at the upgrade). */
export async function refused(url: string, localAddress: string): Promise<boolean> {
  try {
    const socket = await openIdleSocket(url, localAddress);
    socket.ws.terminate();
    return false;
  } catch {
    return true;
  }
}

export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

/** The p-th percentile (0..100) of `values`, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

export const round = (value: number, digits = 0): number => Number(value.toFixed(digits));

/** Print a scenario's figures in one block, so a test run's output reads as a report. */
export function report(title: string, figures: Record<string, unknown>): void {
  const width = Math.max(...Object.keys(figures).map((key) => key.length));
  const lines = Object.entries(figures).map(([key, value]) => `  ${key.padEnd(width)}  ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  console.log(`\n== ${title}\n${lines.join('\n')}\n`);
}
