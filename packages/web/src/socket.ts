/** @module The browser's socket factory for the SDK: the platform WebSocket as it is. */
import type { SocketFactory } from '@parley/client';

export const browserSocketFactory: SocketFactory = (url) => new WebSocket(url);
