/** @module The web-standard WebSocket surface the SDK needs; browsers' WebSocket and Node's `ws` both provide it. */

export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
}

export type SocketFactory = (url: string) => SocketLike;

/** The WebSocket endpoint for a server base URL: http → ws, https → wss, path /v1/ws. */
export function websocketUrl(server: string): string {
  const url = new URL(server);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  url.pathname = '/v1/ws';
  url.search = '';
  url.hash = '';
  return url.toString();
}

/** The key under which a server's pinned fingerprint is kept. */
export function serverOrigin(server: string): string {
  return new URL(server).origin;
}
