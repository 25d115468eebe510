/**
 * @module Which provider is in force. The default is pure JavaScript (@noble, works everywhere); a
 * runtime with faster native crypto installs its own at start-up (Node: `@parley/crypto/node`).
 */
import { nobleCryptoProvider } from './noble.js';
import type { CryptoProvider } from './provider.js';

let installed: CryptoProvider | undefined;

/**
 * Makes `provider` the one every later channel and MLS operation uses (`undefined` restores the
 * default). Call it at start-up: a channel keeps the provider it started with.
 */
export function installCryptoProvider(provider: CryptoProvider | undefined): void {
  installed = provider;
}

/** The installed provider, or `undefined` when none is (MLS then prefers the platform's WebCrypto). */
export function installedCryptoProvider(): CryptoProvider | undefined {
  return installed;
}

/** The provider in force: the installed one, else pure JavaScript. */
export function cryptoProvider(): CryptoProvider {
  return installed ?? nobleCryptoProvider;
}
