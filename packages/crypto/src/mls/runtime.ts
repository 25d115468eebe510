/**
 * @module What every facade operation shares: the ciphersuite implementations, the ts-mls
 * ClientConfig built per call (so the caller's credential check is always the one in force), and
 * the wipe-on-exit bookkeeping that keeps "state in, new state out" honest (STYLE §9).
 */
import {
  defaultKeyPackageEqualityConfig,
  defaultLifetimeConfig,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  type CiphersuiteImpl,
  type ClientConfig,
} from 'ts-mls';
import { installedCryptoProvider } from '../provider/installed.js';
import { nobleCryptoProvider } from '../provider/noble.js';
import type { CryptoProvider } from '../provider/provider.js';
import { providerCiphersuite } from './ciphersuite.js';
import { asMlsError, mlsError } from './fail.js';
import { MlsKeyRetention, MlsSuite, type ValidateCredential } from './types.js';

/** Per suite: the implementation, and the installed provider it was built for. */
const suites = new Map<MlsSuite, { provider: CryptoProvider | undefined; impl: Promise<CiphersuiteImpl> }>();

export function isSupportedSuite(name: unknown): name is MlsSuite {
  return Object.values(MlsSuite).some((suite) => suite === name);
}

/**
 * The ciphersuite implementation, cached per suite until another provider is installed: on the
 * installed provider if there is one (Node: node:crypto); else WebCrypto (ts-mls's default) where
 * the platform's supports Ed25519 and X25519; else pure JavaScript.
 */
export function suiteImpl(name: unknown): Promise<CiphersuiteImpl> {
  if (!isSupportedSuite(name)) return Promise.reject(mlsError(`unsupported cipher suite ${String(name)}`));
  const provider = installedCryptoProvider();
  const cached = suites.get(name);
  if (cached !== undefined && cached.provider === provider) return cached.impl;
  const impl = loadSuite(name, provider);
  // A failed load must not poison the cache for good.
  impl.catch(() => {
    if (suites.get(name)?.impl === impl) suites.delete(name);
  });
  suites.set(name, { provider, impl });
  return impl;
}

async function loadSuite(name: MlsSuite, provider: CryptoProvider | undefined): Promise<CiphersuiteImpl> {
  if (provider !== undefined) return providerCiphersuite(provider);
  if (await webCryptoHasSuite()) return getCiphersuiteImpl(getCiphersuiteFromName(name));
  return providerCiphersuite(nobleCryptoProvider);
}

/**
 * Whether WebCrypto can run the suite: browsers leave `crypto.subtle` out of insecure (plain
 * http) pages, and older ones lack Ed25519 or X25519. AES-GCM, HMAC and SHA-256 are everywhere.
 */
async function webCryptoHasSuite(): Promise<boolean> {
  const subtle = globalThis.crypto?.subtle;
  if (subtle === undefined) return false;
  try {
    await subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
    await subtle.generateKey({ name: 'X25519' }, false, ['deriveBits']);
    return true;
  } catch {
    // NotSupportedError (or a browser's own variant): the answer to the probe, not a failure.
    return false;
  }
}

/**
 * RFC 9420 §6.3.1: PrivateMessage content is padded. Padding every message up to 256 bytes hides
 * the length of short texts (the common case) from the Delivery Service at a small cost.
 */
const PADDING = { kind: 'padUntilLength', padUntilLength: 256 } as const;

/**
 * One facade call. Holds the ClientConfig handed to ts-mls and every buffer to zero when the call
 * ends: private copies of the caller's inputs (ts-mls decoders return views into the bytes they
 * parse, and wiping those views must never touch the caller's buffers) and the secrets ts-mls
 * reports as `consumed`.
 */
export class MlsOperation {
  readonly config: ClientConfig;
  #credentialRejected = false;
  readonly #toWipe: Uint8Array[] = [];
  /** The memory `#toWipe` zeroes, to tell whether a buffer will be zeroed. */
  readonly #wipedMemory = new Set<ArrayBufferLike>();
  readonly #atEnd: (() => void)[] = [];

  constructor(
    readonly name: string,
    validateCredential: ValidateCredential | undefined,
  ) {
    this.config = {
      keyRetentionConfig: { ...MlsKeyRetention },
      lifetimeConfig: defaultLifetimeConfig,
      keyPackageEqualityConfig: defaultKeyPackageEqualityConfig,
      paddingConfig: PADDING,
      authService: {
        // RFC 9420 §5.3.1: the application authenticates every credential. Only BasicCredential
        // is used by Parley; anything else is refused. With no callback (operations that admit
        // nobody new) the answer is "no", so an unexpected check fails closed.
        validateCredential: async (credential, signaturePublicKey) => {
          const accepted =
            credential.credentialType === 'basic' &&
            validateCredential !== undefined &&
            (await validateCredential(credential.identity.slice(), signaturePublicKey.slice())) === true;
          if (!accepted) this.#credentialRejected = true;
          return accepted;
        },
      },
    };
  }

  get credentialRejected(): boolean {
    return this.#credentialRejected;
  }

  /**
   * A private copy of `bytes`, zeroed when the operation ends. `new Uint8Array` and not `slice`:
   * a Node Buffer's slice is a view, and zeroing it would zero the caller's bytes.
   */
  own(bytes: Uint8Array): Uint8Array {
    const copy = new Uint8Array(bytes);
    this.consumed([copy]);
    return copy;
  }

  /** Secrets ts-mls says are used up (its `consumed` lists): zeroed when the operation ends. */
  consumed(secrets: readonly Uint8Array[]): void {
    for (const secret of secrets) {
      this.#toWipe.push(secret);
      this.#wipedMemory.add(secret.buffer);
    }
  }

  /** Whether the operation zeroes memory of `bytes` when it ends (or any other bytes in the same ArrayBuffer). */
  wipes(bytes: Uint8Array): boolean {
    return this.#wipedMemory.has(bytes.buffer);
  }

  /** Runs `dispose` when the operation ends, after its buffers are zeroed. */
  atEnd(dispose: () => void): void {
    this.#atEnd.push(dispose);
  }

  wipe(): void {
    for (const buffer of this.#toWipe) buffer.fill(0);
    this.#toWipe.length = 0;
    this.#wipedMemory.clear();
    for (const dispose of this.#atEnd.splice(0)) dispose();
  }
}

/**
 * Runs one facade operation: every failure becomes a `CryptoError`, and secrets are zeroed on
 * success and failure alike. Results must be fresh bytes (encoded or copied), never views.
 */
export async function runOperation<T>(
  name: string,
  validateCredential: ValidateCredential | undefined,
  body: (op: MlsOperation) => Promise<T>,
): Promise<T> {
  const op = new MlsOperation(name, validateCredential);
  try {
    return await body(op);
  } catch (error) {
    if (op.credentialRejected) throw mlsError(`${name}: a credential was rejected by validateCredential`, error);
    throw asMlsError(error, name);
  } finally {
    op.wipe();
  }
}
