/** @module Starting and stopping a Parley server: storage, keys, services, transport. */
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { deriveKey, opaqueReady } from '@parley/crypto';
import { installNodeCryptoProvider } from '@parley/crypto/node';
import { CloseCode } from '@parley/protocol';
import type { WebSocket } from 'ws';
import { connectRedisBus, MemoryBus, MemoryPresenceStore, RedisPresenceStore, type Bus, type PresenceStore } from './bus/index.js';
import { resolveConfig, type ServerConfig } from './config.js';
import { createDefences } from './defences.js';
import { checkServerKey, KEY_FILE, loadOrCreateServerKeys } from './server-keys.js';
import { createLogger, type Logger } from './logger.js';
import { Gauge, METRICS_CONTENT_TYPE } from './metrics.js';
import type { DirectoryTamper } from './services/directory.js';
import { createServices } from './services/index.js';
import { Connection, type ConnectionOptions } from './session/connection.js';
import { LocalConnections } from './session/local-connections.js';
import { openPostgresStorage, openSqliteStorage, type Storage } from './storage/index.js';
import { createTransport } from './transport/http.js';
import { serveStatic } from './transport/static.js';
import { BoundedSocket } from './transport/websocket.js';

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
  /** The bus to carry events on, instead of the in-process one (or Redis with `redisUrl`): for embedding, and tests. */
  bus?: Bus;
  /** Only for tests of a malicious server (DESIGN §2, §11): rewrites directory answers before they are sent. */
  directoryTamper?: DirectoryTamper;
}

export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const config = resolveConfig(options);
  const log = options.logger ?? createLogger(config.logLevel);
  installNodeCryptoProvider();
  await opaqueReady;
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const keys = await loadOrCreateServerKeys(config.keyFile ?? join(config.dataDir, KEY_FILE));
  const { startupTimeoutMs } = config;
  const storage: Storage = config.postgresUrl
    ? await openPostgresStorage(config.postgresUrl, { log: log.child({ module: 'postgres' }), startupTimeoutMs })
    : await openSqliteStorage(join(config.dataDir, 'parley.db'));
  await checkServerKey(storage, keys.fingerprint).catch(async (error: unknown) => {
    await storage.close();
    throw error;
  });
  const redis = config.redisUrl
    ? await connectRedisBus(config.redisUrl, { log: log.child({ module: 'redis' }), namespace: config.redisNamespace, startupTimeoutMs }).catch(async (error: unknown) => {
        await storage.close();
        throw error;
      })
    : undefined;
  const bus: Bus = options.bus ?? redis ?? new MemoryBus();
  // Several nodes share who is online through Redis, and expire the users of a node that died.
  const presenceStore: PresenceStore = redis
    ? new RedisPresenceStore(redis, { ttlMs: config.presenceTtlMs, log: log.child({ module: 'presence-store' }) })
    : new MemoryPresenceStore();
  const defences = createDefences(config, { serverPrivateKey: keys.noise.privateKey, log, ...(redis ? { redis } : {}) });
  const { metrics, guard } = defences;
  const timelock = {
    squaringsPerSecond: config.timelockSquaringsPerSecond,
    maxHorizonMs: config.timelockMaxHorizonMs,
    locksPerMinute: config.timelockLocksPerMinute,
    maxPendingPerAccount: config.timelockMaxPendingPerAccount,
    bits: config.timelockModulusBits,
    rotationMs: config.timelockRotationMs,
    // Trapdoors are sealed in the database under a key from the key file (DESIGN §8; see timelock-moduli).
    sealKey: deriveKey(keys.noise.privateKey, 'parley/timelock/trapdoor/v1'),
  };
  const services = createServices({ storage, bus, presenceStore, log, opaqueSetup: keys.opaqueSetup, serverPrivateKey: keys.noise.privateKey, openDirectory: config.openDirectory, retentionMs: config.retentionMs, deviceBacklogQuota: config.deviceBacklogQuota, maxGroupDevices: config.maxGroupDevices, maxGroupsPerUser: config.maxGroupsPerUser, fetchBytesPerSecond: config.fetchBytesPerSecond, pow: defences.pow, timelock,
    direct: { iceServers: config.iceServers, requestsPerMinute: config.directRequestsPerMinute, signalsPerMinute: config.directSignalsPerMinute },
    ...(options.directoryTamper ? { directoryTamper: options.directoryTamper } : {}),
  });

  const connections = new Set<Connection>();
  /** Open connections by client address, so a ban closes them at once. */
  const byAddress = new Map<string, Set<Connection>>();
  const local = new LocalConnections();
  let nextConnectionId = 1;
  const stopBans = guard.onBan((ip) => {
    for (const connection of [...(byAddress.get(ip) ?? [])]) connection.close(CloseCode.BANNED, 'this address is banned for a while after repeated abuse');
  });

  const unsubscribeLocal = local.listen(bus);
  const unsubscribeDirect = services.direct.listen();
  const unsubscribe = () => {
    unsubscribeLocal();
    unsubscribeDirect();
  };
  const stopRetention = services.delivery.startRetention();
  const stopPresence = services.presence.startHeartbeat();
  const stopTimelock = services.timelock.start();

  // One options object for all connections, its callbacks told which connection: idle connections are many.
  const connectionOptions: ConnectionOptions = {
    staticKey: keys.noise,
    services,
    log,
    handshakeTimeoutMs: config.handshakeTimeoutMs,
    authTimeoutMs: config.authTimeoutMs,
    maxBadFrames: config.maxBadFrames,
    requestsPerSecond: config.connectionRequestsPerSecond,
    accountLimiter: defences.accountLimiter,
    metrics,
    onStrike: (ip, reason) => void guard.strike(ip, reason),
    onFailedProof: (username) => void defences.accounts.failed(username),
    onAuthenticated: (connection, session) => {
      local.add(connection, session);
      services.presence.connected(session);
    },
    onClosed: (connection) => {
      connections.delete(connection);
      const sameAddress = byAddress.get(connection.address);
      sameAddress?.delete(connection);
      if (sameAddress?.size === 0) byAddress.delete(connection.address);
      const session = connection.session;
      if (!session) return;
      local.remove(connection, session);
      services.presence.disconnected(session);
      void services.direct.disconnected(session).catch((error: unknown) => log.warn({ err: error, event: 'direct.cleanup_failed' }, 'direct sessions of a closed connection not ended'));
    },
  };
  const onSlowReader = () => metrics.closed.inc({ reason: 'slow_reader' });

  const onSocket = (ws: WebSocket, ip: string, stream: Duplex) => {
    const connection = new Connection(new BoundedSocket(ws, stream, config.maxBufferedBytes, onSlowReader), connectionOptions, nextConnectionId++, ip);
    connections.add(connection);
    byAddress.set(ip, (byAddress.get(ip) ?? new Set()).add(connection));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) connection.receive(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
    ws.on('close', () => connection.socketClosed());
    ws.on('error', (error) => {
      connection.log.debug({ err: error }, 'socket error');
      connection.socketClosed();
    });
  };

  const serveWeb = config.webRoot ? serveStatic(config.webRoot) : undefined;
  metrics.registry.register(new Gauge('parley_websocket_connections', 'Open WebSocket connections.', [], (set) => set({}, connections.size)));
  const { http, wss } = createTransport({
    onSocket,
    gate: guard,
    metrics,
    onHttp: (request, response) => {
      const path = new URL(request.url ?? '/', 'http://localhost').pathname;
      if (path === '/healthz') {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', serverKey: keys.fingerprint }));
        return;
      }
      if (path === '/metrics') {
        response.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE }).end(metrics.registry.expose());
        return;
      }
      if (serveWeb?.(request, response)) return;
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    },
  }, config);

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, () => {
      http.off('error', reject);
      resolve();
    });
  }).catch(async (error: unknown) => {
    // Port taken, say: let go of storage and Redis too, so the process can exit with the error.
    unsubscribe();
    stopBans();
    await defences.close();
    await stopRetention();
    await stopPresence();
    await stopTimelock();
    await services.presence.leave();
    await bus.close();
    await storage.close();
    throw error;
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
        stopBans();
        for (const connection of connections) connection.close(CloseCode.SERVER_SHUTDOWN, 'server shutting down');
        for (const client of wss.clients) client.terminate();
        await new Promise<void>((resolve) => http.close(() => resolve()));
        http.closeAllConnections();
        await stopRetention();
        await stopPresence();
        await stopTimelock();
        await defences.close();
        // Offline announcements for the connections just closed, and this node's presence entries
        // removed from the shared registry, before the bus and storage go.
        await services.presence.leave();
        await bus.close();
        await storage.close();
        log.info({ event: 'server.stopped' }, 'server stopped');
      })();
      return closing;
    },
  };
}
