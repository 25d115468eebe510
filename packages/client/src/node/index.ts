/** @module `@parley/client/node`: the SDK's Node adapters. The only Node-only code of the SDK lives in this folder. */
export { DirectoryProfileStore } from './profile-directory.js';
export { SqliteClientStore } from './sqlite-store.js';
export { nodeSocketFactory } from './ws-socket.js';
