/** @module `@parley/client/node`: the SDK's Node adapters. The only Node-only code of the SDK lives in this folder. */
import { installNodeCryptoProvider } from '@parley/crypto/node';

// Whoever uses the Node adapters is in Node: let MLS and the channel run on node:crypto.
installNodeCryptoProvider();

export { DirectoryProfileStore } from './profile-directory.js';
export { SqliteClientStore } from './sqlite-store.js';
export { nodeSocketFactory } from './ws-socket.js';
export { weriftLinkFactory } from './werift-link.js';
