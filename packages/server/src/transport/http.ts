/** @module HTTP and WebSocket transport: `/healthz`, and binary WebSocket frames at `/v1/ws`. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode, NOISE_FRAME_LIMIT } from './limits.js';

export const WEBSOCKET_PATH = '/v1/ws';

export interface TransportHandlers {
  onSocket(socket: WebSocket, request: IncomingMessage): void;
  onHttp(request: IncomingMessage, response: ServerResponse): void;
}

export function createTransport(handlers: TransportHandlers, tls?: { cert: string | Buffer; key: string | Buffer }): { http: Server; wss: WebSocketServer } {
  const http: Server = tls ? createTlsServer({ cert: tls.cert, key: tls.key }, handlers.onHttp) : createServer(handlers.onHttp);
  // Explicit timeouts so a slow client cannot hold a request open (slowloris).
  http.headersTimeout = 10_000;
  http.requestTimeout = 30_000;
  http.keepAliveTimeout = 5_000;
  const wss = new WebSocketServer({ noServer: true, maxPayload: NOISE_FRAME_LIMIT, perMessageDeflate: false });
  http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path !== WEBSOCKET_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      ws.binaryType = 'nodebuffer';
      ws.on('message', (_data, isBinary) => {
        if (!isBinary) ws.close(CloseCode.TEXT_FRAME, 'binary frames only');
      });
      handlers.onSocket(ws, request);
    });
  });
  return { http, wss };
}
