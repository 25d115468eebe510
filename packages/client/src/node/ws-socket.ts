/** @module Node's WebSocket for the SDK: the `ws` package, which offers the web-standard surface it needs. */
import { WebSocket } from 'ws';
import type { SocketFactory, SocketLike } from '../connection/socket.js';

export const nodeSocketFactory: SocketFactory = (url) => new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 10_000 }) as unknown as SocketLike;
