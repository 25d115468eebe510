/**
 * @module The Noise NX handshake (Noise rev 34 §7.4): the initiator stays anonymous and learns
 * the responder's authenticated static key. Sans-I/O: each step takes bytes and returns bytes.
 *
 *   NX:
 *     -> e
 *     <- e, ee, s, es
 */
import { concatBytes } from '@noble/hashes/utils.js';
import { asChannelError, channelError, requireBytes } from './fail.js';
import { DH_LEN, dh, generateStaticKeyPair, ownKeyPair } from './keys.js';
import { NOISE_NX_BLAKE2S, type NoiseSuite } from './suite.js';
import { SymmetricState, TAG_LEN } from './symmetric.js';
import { transportCipher } from './transport.js';
import { NOISE_MAX_MESSAGE, type HandshakeResult, type StaticKeyPair } from './types.js';

const EMPTY = new Uint8Array(0);
/** Message 1 carries `e` then a cleartext payload. */
const MESSAGE1_MAX_PAYLOAD = NOISE_MAX_MESSAGE - DH_LEN;
/** Message 2 carries `e`, the encrypted `s` (key + tag), then the encrypted payload (+ tag). */
const MESSAGE2_OVERHEAD = DH_LEN + DH_LEN + TAG_LEN + TAG_LEN;
const MESSAGE2_MAX_PAYLOAD = NOISE_MAX_MESSAGE - MESSAGE2_OVERHEAD;

type Phase = 'start' | 'message1-done' | 'done' | 'failed';

export interface NoiseNXInitiatorOptions {
  /** §6: data both sides must agree on (e.g. a protocol version string); mismatches fail message 2. */
  prologue?: Uint8Array;
  /** Fixed ephemeral key, for replaying test vectors only: reusing an ephemeral breaks forward secrecy. */
  ephemeral?: StaticKeyPair;
}

export interface NoiseNXResponderOptions extends NoiseNXInitiatorOptions {
  /** The responder's long-term key; the initiator receives its public half authenticated. */
  staticKey: StaticKeyPair;
}

/** §5.2 MixKey(DH(...)), zeroing the shared secret once it is absorbed into the chaining key. */
function mixDh(symmetric: SymmetricState, privateKey: Uint8Array, publicKey: Uint8Array): void {
  const shared = dh(privateKey, publicKey);
  symmetric.mixKey(shared);
  shared.fill(0);
}

function startSymmetric(suite: NoiseSuite, prologue: Uint8Array | undefined): SymmetricState {
  if (prologue !== undefined) requireBytes(prologue, 'prologue');
  return new SymmetricState(suite, prologue ?? EMPTY);
}

export class NoiseNXInitiator {
  readonly #symmetric: SymmetricState;
  readonly #ephemeral: StaticKeyPair;
  #phase: Phase = 'start';

  /** `suite` is internal: it exists so tests can replay the SHA-256 vectors; leave it at the default. */
  constructor(options: NoiseNXInitiatorOptions = {}, suite: NoiseSuite = NOISE_NX_BLAKE2S) {
    this.#symmetric = startSymmetric(suite, options.prologue);
    this.#ephemeral = options.ephemeral ? ownKeyPair(options.ephemeral, 'ephemeral') : generateStaticKeyPair();
  }

  /** `-> e`. The payload travels in cleartext and unauthenticated (§7.7: payload security 0). */
  writeMessage1(payload: Uint8Array = EMPTY): Uint8Array {
    requireBytes(payload, 'payload');
    if (this.#phase !== 'start') throw channelError('writeMessage1 called out of order');
    if (payload.length > MESSAGE1_MAX_PAYLOAD) {
      throw channelError(`message 1 payload of ${payload.length} bytes exceeds ${MESSAGE1_MAX_PAYLOAD}`);
    }
    // §5.3 token "e": send e.pub and MixHash it (no MixKey: that is only for PSK handshakes, §9.2).
    this.#symmetric.mixHash(this.#ephemeral.publicKey);
    const body = this.#symmetric.encryptAndHash(payload);
    this.#phase = 'message1-done';
    return concatBytes(this.#ephemeral.publicKey, body);
  }

  /**
   * `<- e, ee, s, es`. Any failure ends the handshake and the object cannot be retried: a partial
   * transcript must not be reused (§5.3 processes a message only once, in order).
   */
  readMessage2(message: Uint8Array): { payload: Uint8Array; result: HandshakeResult & { remoteStatic: Uint8Array } } {
    requireBytes(message, 'message');
    if (this.#phase !== 'message1-done') throw channelError('readMessage2 called out of order');
    try {
      if (message.length > NOISE_MAX_MESSAGE) throw channelError(`message 2 of ${message.length} bytes is too long`);
      if (message.length < MESSAGE2_OVERHEAD) throw channelError(`message 2 of ${message.length} bytes is too short`);
      const symmetric = this.#symmetric;
      const remoteEphemeral = message.subarray(0, DH_LEN);
      symmetric.mixHash(remoteEphemeral);
      mixDh(symmetric, this.#ephemeral.privateKey, remoteEphemeral); // ee
      // Token "s": the responder's static key arrives encrypted under the ee key, so it is hidden
      // from passive observers and bound to the transcript (§7.7).
      const remoteStatic = symmetric.decryptAndHash(message.subarray(DH_LEN, DH_LEN * 2 + TAG_LEN));
      mixDh(symmetric, this.#ephemeral.privateKey, remoteStatic); // es: proves the responder holds s
      const payload = symmetric.decryptAndHash(message.subarray(DH_LEN * 2 + TAG_LEN));
      const [initiatorToResponder, responderToInitiator] = symmetric.split();
      const result = {
        send: transportCipher(initiatorToResponder),
        receive: transportCipher(responderToInitiator),
        handshakeHash: symmetric.handshakeHash,
        remoteStatic,
      };
      this.#finish('done');
      return { payload, result };
    } catch (error) {
      this.#finish('failed');
      throw asChannelError(error);
    }
  }

  #finish(phase: Phase): void {
    this.#phase = phase;
    this.#ephemeral.privateKey.fill(0);
    this.#symmetric.destroy();
  }
}

export class NoiseNXResponder {
  readonly #symmetric: SymmetricState;
  readonly #static: StaticKeyPair;
  readonly #ephemeral: StaticKeyPair;
  #remoteEphemeral: Uint8Array = EMPTY;
  #phase: Phase = 'start';

  /** `suite` is internal: it exists so tests can replay the SHA-256 vectors; leave it at the default. */
  constructor(options: NoiseNXResponderOptions, suite: NoiseSuite = NOISE_NX_BLAKE2S) {
    this.#symmetric = startSymmetric(suite, options.prologue);
    this.#static = ownKeyPair(options.staticKey, 'staticKey');
    this.#ephemeral = options.ephemeral ? ownKeyPair(options.ephemeral, 'ephemeral') : generateStaticKeyPair();
  }

  /** `-> e`; returns the initiator's (cleartext, unauthenticated) payload. */
  readMessage1(message: Uint8Array): Uint8Array {
    requireBytes(message, 'message');
    if (this.#phase !== 'start') throw channelError('readMessage1 called out of order');
    try {
      if (message.length > NOISE_MAX_MESSAGE) throw channelError(`message 1 of ${message.length} bytes is too long`);
      if (message.length < DH_LEN) throw channelError(`message 1 of ${message.length} bytes is too short`);
      this.#remoteEphemeral = message.slice(0, DH_LEN);
      this.#symmetric.mixHash(this.#remoteEphemeral);
      const payload = this.#symmetric.decryptAndHash(message.subarray(DH_LEN));
      this.#phase = 'message1-done';
      return payload;
    } catch (error) {
      this.#finish('failed');
      throw asChannelError(error);
    }
  }

  /**
   * `<- e, ee, s, es`. The initiator's `e` is only checked here (noble rejects a low-order point
   * in the ee DH), so a bad message 1 can surface as CHANNEL_FAILED from this call, saying so.
   */
  writeMessage2(payload: Uint8Array = EMPTY): { message: Uint8Array; result: HandshakeResult } {
    requireBytes(payload, 'payload');
    if (this.#phase !== 'message1-done') throw channelError('writeMessage2 called out of order');
    if (payload.length > MESSAGE2_MAX_PAYLOAD) {
      throw channelError(`message 2 payload of ${payload.length} bytes exceeds ${MESSAGE2_MAX_PAYLOAD}`);
    }
    try {
      const symmetric = this.#symmetric;
      symmetric.mixHash(this.#ephemeral.publicKey); // e
      try {
        mixDh(symmetric, this.#ephemeral.privateKey, this.#remoteEphemeral); // ee
      } catch (error) {
        throw channelError("the initiator's ephemeral key is not a usable X25519 public key", error);
      }
      const encryptedStatic = symmetric.encryptAndHash(this.#static.publicKey); // s
      mixDh(symmetric, this.#static.privateKey, this.#remoteEphemeral); // es
      const body = symmetric.encryptAndHash(payload);
      const [initiatorToResponder, responderToInitiator] = symmetric.split();
      const result = {
        send: transportCipher(responderToInitiator),
        receive: transportCipher(initiatorToResponder),
        handshakeHash: symmetric.handshakeHash,
      };
      const message = concatBytes(this.#ephemeral.publicKey, encryptedStatic, body);
      this.#finish('done');
      return { message, result };
    } catch (error) {
      this.#finish('failed');
      throw asChannelError(error);
    }
  }

  #finish(phase: Phase): void {
    this.#phase = phase;
    this.#ephemeral.privateKey.fill(0);
    this.#static.privateKey.fill(0); // our copy only; the caller's key pair is untouched
    this.#symmetric.destroy();
  }
}
