/** @module @parley/client: the Parley SDK. Isomorphic; Node adapters live in `@parley/client/node`. */
export { ParleyClient, type ClientOptions, type Registration, type SignInOptions } from './client.js';
export { withProofOfWork, type PowProgress, type PowSolver } from './pow.js';
// For a Web Worker that solves proofs of work off the page's thread (ClientOptions.solvePow).
export { solvePow } from '@parley/crypto';
export { Connection, type ConnectOptions } from './connection.js';
export { MemoryProfileStore, type DeviceAccount, type DeviceSecrets, type Profile, type ProfileStore } from './profile.js';
export { serverOrigin, websocketUrl, type SocketFactory, type SocketLike } from './socket.js';
export { Messenger, type Message, type SyncResult } from './messenger.js';
export { MemoryClientStore, type ClientStore, type ConversationRecord, type ConversationUpdate, type KeyPackageSecret, type StoredMessage } from './store.js';
export { equalBytes, ErrorCode, groupIdText, ParleyError, parseGroupId, type DeviceRef } from '@parley/protocol';
