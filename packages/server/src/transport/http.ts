/**
 * @module HTTP and WebSocket transport: `/healthz`, `/metrics`, the web client, and binary
 * WebSocket frames at `/v1/ws`, with the deadlines and admission checks of DESIGN §10:
 *
 * - at TCP accept, before any TLS or HTTP work: banned addresses and addresses over their
 *   connection limit are cut (`Gate.admit`);
 * - from accept (with TLS: from the end of the TLS handshake, itself bounded by the same time)
 *   to a complete HTTP request or WebSocket upgrade: `upgradeTimeoutMs`, else cut and a strike;
 * - HTTP headers, whole requests and idle keep-alive connections have explicit timeouts; a
 *   request that runs out of time or does not parse counts a strike (slowloris);
 * - before the upgrade, the shared ban list is consulted (`Gate.admitUpgrade`): 403 if banned;
 * - after it, the WebSocket is pinged and cut when it stops answering (`startPinging`).
 *
 * Idle WebSockets are many: listeners that outlive the upgrade are shared functions or closures
 * over the socket and address alone, never over the upgrade's request (its headers and buffers).
 */
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ServerMetrics } from '../metrics.js';
import type { Refusal, StrikeReason } from '../services/abuse.js';
import { addressKey, clientAddress } from './address.js';
import { CloseCode, NOISE_FRAME_LIMIT } from './limits.js';
import { startPinging, type LivenessOptions } from './websocket.js';

export const WEBSOCKET_PATH = '/v1/ws';

/** The admission and strike side of the abuse defences (services `AbuseGuard`). */
export interface Gate {
  admit(ip: string): Refusal | undefined;
  release(ip: string): void;
  admitUpgrade(ip: string): Promise<Refusal | undefined>;
  strike(ip: string, reason: StrikeReason): void;
}

export interface TransportHandlers {
  /** `stream`: the TCP (or TLS) stream beneath the WebSocket, whose writes a sender may cork. */
  onSocket(socket: WebSocket, clientIp: string, stream: Duplex): void;
  onHttp(request: IncomingMessage, response: ServerResponse): void;
  gate?: Gate;
  metrics?: ServerMetrics;
}

export interface TransportOptions extends LivenessOptions {
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** From accept (or the TLS handshake's end) to a complete request or WebSocket upgrade. Also the TLS handshake's own limit. */
  upgradeTimeoutMs: number;
  /** Node's `headersTimeout`: all of a request's headers, for every request on a connection. */
  headersTimeoutMs: number;
  /** Node's `requestTimeout`: a whole HTTP request, body included. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long. */
  keepAliveTimeoutMs: number;
  /** Reverse proxies whose `X-Forwarded-For` names the client (exact addresses). */
  trustedProxies?: readonly string[];
}

export const defaultTransportOptions: Omit<TransportOptions, 'tls'> = {
  upgradeTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  pingIntervalMs: 30_000,
  pongTimeoutMs: 10_000,
};

function refusalResponse(refusal: Refusal): string {
  const status = refusal.status === 403 ? '403 Forbidden' : '429 Too Many Requests';
  const body = `${refusal.code}: ${refusal.message}\n`;
  return (
    `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
    `Retry-After: ${Math.ceil(refusal.retryAfterMs / 1000)}\r\nX-Parley-Error: ${refusal.code}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/** A socket's 'error' before the upgrade: ws has no listener of its own on it yet. */
function destroyOnError(this: Duplex): void {
  this.destroy();
}

export function createTransport(handlers: TransportHandlers, options: TransportOptions = defaultTransportOptions): { http: Server; wss: WebSocketServer } {
  const { gate, metrics } = handlers;
  const trusted = new Set(options.trustedProxies ?? []);
  const timeouts: ServerOptions = {
    headersTimeout: options.headersTimeoutMs,
    requestTimeout: options.requestTimeoutMs,
    keepAliveTimeout: options.keepAliveTimeoutMs,
    // How often Node checks the two timeouts above (default 30 s, too coarse for them).
    connectionsCheckingInterval: Math.max(100, Math.min(1_000, options.headersTimeoutMs / 4)),
  };
  const http: Server = options.tls
    ? createTlsServer({ ...timeouts, cert: options.tls.cert, key: options.tls.key, handshakeTimeout: options.upgradeTimeoutMs }, handlers.onHttp)
    : createServer(timeouts, handlers.onHttp);
  // Explicit, so a slow client cannot hold a request open (slowloris), whatever Node's defaults become.
  http.headersTimeout = options.headersTimeoutMs;
  http.requestTimeout = options.requestTimeoutMs;
  http.keepAliveTimeout = options.keepAliveTimeoutMs;

  const peerOf = (socket: Duplex): string => addressKey((socket as Socket).remoteAddress);
  const strike = (ip: string, reason: StrikeReason) => {
    if (!trusted.has(ip)) gate?.strike(ip, reason);
  };

  const deadlines = new WeakMap<Duplex, NodeJS.Timeout>();
  const startDeadline = (socket: Duplex) => {
    const timer = setTimeout(() => {
      deadlines.delete(socket);
      metrics?.closed.inc({ reason: 'upgrade_timeout' });
      strike(peerOf(socket), 'upgrade_timeout');
      socket.destroy();
    }, options.upgradeTimeoutMs);
    deadlines.set(socket, timer);
    socket.on('close', clearDeadlineOnClose);
  };
  const clearDeadline = (socket: Duplex) => {
    clearTimeout(deadlines.get(socket));
    deadlines.delete(socket);
    socket.off('close', clearDeadlineOnClose);
  };
  function clearDeadlineOnClose(this: Duplex): void {
    clearDeadline(this);
  }

  // Prepended, so a refused socket is cut before Node's HTTP (or TLS) machinery touches it.
  http.prependListener('connection', (socket: Socket) => {
    const peer = addressKey(socket.remoteAddress);
    if (gate && !trusted.has(peer)) {
      const refusal = gate.admit(peer);
      if (refusal) {
        socket.destroy();
        return;
      }
      // 'close' comes once: `on` spares the wrapper `once` would keep for the socket's life.
      socket.on('close', () => gate.release(peer));
    }
    if (!options.tls) startDeadline(socket);
  });
  if (options.tls) {
    http.on('secureConnection', (socket: TLSSocket) => startDeadline(socket));
    http.on('tlsClientError', (error: NodeJS.ErrnoException, socket: TLSSocket) => {
      if (error.code === 'ERR_TLS_HANDSHAKE_TIMEOUT') {
        metrics?.closed.inc({ reason: 'upgrade_timeout' });
        strike(peerOf(socket), 'upgrade_timeout');
      }
      socket.destroy();
    });
  }
  http.on('request', (request: IncomingMessage) => clearDeadline(request.socket));
  // With a listener here Node leaves the answer to us: 408 for a request out of time, 400 otherwise.
  http.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const timedOut = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    metrics?.closed.inc({ reason: timedOut ? 'request_timeout' : 'bad_http' });
    strike(peerOf(socket), timedOut ? 'slow_request' : 'bad_http');
    socket.end(timedOut ? 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n' : 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: NOISE_FRAME_LIMIT, perMessageDeflate: false });
  const pinger = startPinging(wss.clients, options, () => metrics?.closed.inc({ reason: 'pong_timeout' }));
  http.once('close', () => pinger.stop());
  http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', destroyOnError);
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path !== WEBSOCKET_PATH) {
      clearDeadline(socket);
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    const ip = clientAddress(peerOf(socket), request.headers['x-forwarded-for'], trusted);
    // The upgrade deadline still runs: a shared ban list that answers slowly cannot hold sockets open.
    void (gate?.admitUpgrade(ip) ?? Promise.resolve(undefined))
      .catch(() => undefined)
      .then((refusal) => {
        if (socket.destroyed) return;
        if (refusal) {
          clearDeadline(socket);
          socket.end(refusalResponse(refusal));
          return;
        }
        wss.handleUpgrade(request, socket, head, (ws) => {
          clearDeadline(socket);
          adopt(ws, ip, socket);
        });
      });
  });
  // Out of the upgrade handler, so its listeners hold the socket and the address, not the request.
  const adopt = (ws: WebSocket, ip: string, stream: Duplex) => {
    ws.binaryType = 'nodebuffer';
    ws.on('message', (_data, isBinary) => {
      if (isBinary) return;
      metrics?.closed.inc({ reason: 'text_frame' });
      strike(ip, 'bad_websocket');
      ws.close(CloseCode.TEXT_FRAME, 'binary frames only');
    });
    // ws closes the connection itself on framing errors (1002) and oversized messages (1009).
    ws.on('error', (error: NodeJS.ErrnoException) => {
      if (!error.code?.startsWith('WS_ERR_')) return;
      metrics?.closed.inc({ reason: error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'frame_too_large' : 'bad_websocket' });
      strike(ip, 'bad_websocket');
    });
    pinger.watch(ws);
    handlers.onSocket(ws, ip, stream);
  };
  return { http, wss };
}
