/** @module @parley/client: the Parley SDK. Isomorphic; Node adapters live in `@parley/client/node`. */
export { ParleyClient, type ClientOptions, type Registration } from './client.js';
export { Connection, type ConnectOptions } from './connection.js';
export { MemoryProfileStore, type DeviceAccount, type DeviceSecrets, type Profile, type ProfileStore } from './profile.js';
export { serverOrigin, websocketUrl, type SocketFactory, type SocketLike } from './socket.js';
export { Messenger, type Message, type SyncResult } from './messenger.js';
export { MemoryClientStore, type ClientStore, type ConversationRecord, type ConversationUpdate, type KeyPackageSecret, type StoredMessage } from './store.js';
export { ErrorCode, ParleyError } from '@parley/protocol';
