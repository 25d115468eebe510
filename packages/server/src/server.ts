/** @module Starting and stopping a Parley server: storage, keys, services, transport. */
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { opaqueReady } from '@parley/crypto';
import { CloseCode } from '@parley/protocol';
import type { WebSocket } from 'ws';
import { MemoryBus, type Bus } from './bus/index.js';
import { resolveConfig, type ServerConfig } from './config.js';
import { loadOrCreateServerKeys } from './keys.js';
import { createLogger, type Logger } from './logger.js';
import { AccountService } from './services/accounts.js';
import { Connection } from './session/connection.js';
import { sessionKey } from './session/state.js';
import { openSqliteStorage, type Storage } from './storage/index.js';
import { createTransport } from './transport/http.js';

export interface RunningServer {
  /** http://host:port */
  url: string;
  port: number;
  /** The Noise static key's fingerprint, which clients pin. */
  fingerprint: string;
  publicKey: Uint8Array;
  /** Stop accepting, close every connection, wait for in-flight work, close storage. */
  close(): Promise<void>;
}

export interface StartOptions extends Partial<ServerConfig> {
  logger?: Logger;
}

export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const config = resolveConfig(options);
  const log = options.logger ?? createLogger(config.logLevel);
  await opaqueReady;
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const keys = await loadOrCreateServerKeys(config.dataDir);
  const storage: Storage = await openSqliteStorage(join(config.dataDir, 'parley.db'));
  const bus: Bus = new MemoryBus();
  const services = { accounts: new AccountService(storage, bus, keys.opaqueSetup, log.child({ module: 'accounts' })) };

  const connections = new Set<Connection>();
  const byDevice = new Map<string, Set<Connection>>();
  let nextConnectionId = 1;

  const unsubscribe = bus.subscribe('devices.revoked', ({ username, deviceIds }) => {
    for (const deviceId of deviceIds) {
      for (const connection of byDevice.get(sessionKey(username, deviceId)) ?? []) connection.revoke();
    }
  });

  const onSocket = (ws: WebSocket) => {
    const connection: Connection = new Connection(
      {
        send: (frame) => ws.send(frame),
        close: (code, reason) => ws.close(code, reason),
      },
      {
        staticKey: keys.noise,
        services,
        log,
        handshakeTimeoutMs: config.handshakeTimeoutMs,
        authTimeoutMs: config.authTimeoutMs,
        maxBadFrames: config.maxBadFrames,
        onAuthenticated: (conn, session) => {
          const key = sessionKey(session.username, session.deviceId);
          const set = byDevice.get(key) ?? new Set();
          set.add(conn);
          byDevice.set(key, set);
        },
        onClosed: (conn) => {
          connections.delete(conn);
          const session = conn.session;
          if (!session) return;
          const key = sessionKey(session.username, session.deviceId);
          byDevice.get(key)?.delete(conn);
          if (byDevice.get(key)?.size === 0) byDevice.delete(key);
        },
      },
      log.child({ conn: nextConnectionId++ }),
    );
    connections.add(connection);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) connection.receive(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
    ws.on('close', () => connection.socketClosed());
    ws.on('error', (error) => {
      connection.log.debug({ err: error }, 'socket error');
      connection.socketClosed();
    });
  };

  const { http, wss } = createTransport({
    onSocket,
    onHttp: (request, response) => {
      const path = new URL(request.url ?? '/', 'http://localhost').pathname;
      if (path === '/healthz') {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', serverKey: keys.fingerprint }));
        return;
      }
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    },
  }, config.tls);

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  log.info({ event: 'server.started', port, serverKey: keys.fingerprint }, 'server started');

  let closing: Promise<void> | undefined;
  return {
    url: `${config.tls ? 'https' : 'http'}://${host}:${port}`,
    port,
    fingerprint: keys.fingerprint,
    publicKey: keys.noise.publicKey,
    close: () => {
      closing ??= (async () => {
        unsubscribe();
        for (const connection of connections) connection.close(CloseCode.SERVER_SHUTDOWN, 'server shutting down');
        for (const client of wss.clients) client.terminate();
        await new Promise<void>((resolve) => http.close(() => resolve()));
        http.closeAllConnections();
        await bus.close();
        await storage.close();
        log.info({ event: 'server.stopped' }, 'server stopped');
      })();
      return closing;
    },
  };
}
