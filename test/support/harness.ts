/** Test harness: a real server on a free loopback port with its own data directory. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { MemoryProfileStore, ParleyClient, type ClientStore, type PowSolver, type ProfileStore, type SocketFactory, type SocketLike } from '@parley/client';
import { nodeSocketFactory } from '@parley/client/node';
import { createLogger, startServer, type RunningServer, type StartOptions } from '@parley/server';
import { WebSocket } from 'ws';

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `parley-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface TestServer extends RunningServer {
  dataDir: string;
  /** Everything the server logged, as raw JSON lines. */
  logs(): string;
}

export async function startTestServer(options: StartOptions & { dataDir?: string; port?: number } = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDir('server').path;
  let captured = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      captured += chunk.toString('utf8');
      done();
    },
  });
  const server = await startServer({ host: '127.0.0.1', port: 0, ...options, dataDir, logger: createLogger('debug', sink) });
  return { ...server, dataDir, logs: () => captured };
}

export async function connectClient(
  server: { url: string },
  store: ProfileStore = new MemoryProfileStore(),
  options: { serverKey?: string; socketFactory?: SocketFactory; solvePow?: PowSolver } = {},
  messages?: ClientStore,
): Promise<ParleyClient> {
  return ParleyClient.connect({ server: server.url, store, socketFactory: nodeSocketFactory, ...options, ...(messages ? { messages } : {}) });
}

/** Sockets from `localAddress` (any of 127.0.0.0/8 on loopback): a client that looks like another host. */
export function socketFactoryFrom(localAddress: string): SocketFactory {
  return (url) => new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 10_000, localAddress }) as unknown as SocketLike;
}
