/** @module Transport-phase ciphers (Noise rev 34 §5, after Split): size limits and empty associated data. */
import { channelError, requireBytes } from './fail.js';
import { TAG_LEN, type CipherState } from './symmetric.js';
import { NOISE_MAX_MESSAGE, type TransportCipher } from './types.js';

const EMPTY = new Uint8Array(0);

/**
 * Wraps one split CipherState. Transport messages use zero-length associated data (§5.3: after
 * Split the application calls EncryptWithAd with ad = empty). The state is owned here: callers
 * never see the key or the nonce, so they cannot reuse a nonce.
 */
export function transportCipher(state: CipherState): TransportCipher {
  return new SplitCipher(state);
}

/** A class rather than closures: a server holds two per open connection, and idle ones are many. */
class SplitCipher implements TransportCipher {
  readonly #state: CipherState;

  constructor(state: CipherState) {
    this.#state = state;
  }

  encrypt(plaintext: Uint8Array): Uint8Array {
    requireBytes(plaintext, 'plaintext');
    // §3: the whole message, tag included, must fit in 65535 bytes.
    if (plaintext.length > NOISE_MAX_MESSAGE - TAG_LEN) {
      throw channelError(`plaintext of ${plaintext.length} bytes exceeds ${NOISE_MAX_MESSAGE - TAG_LEN}`);
    }
    return this.#state.encryptWithAd(EMPTY, plaintext);
  }

  decrypt(ciphertext: Uint8Array): Uint8Array {
    requireBytes(ciphertext, 'ciphertext');
    if (ciphertext.length > NOISE_MAX_MESSAGE) {
      throw channelError(`message of ${ciphertext.length} bytes exceeds ${NOISE_MAX_MESSAGE}`);
    }
    if (ciphertext.length < TAG_LEN) throw channelError('message shorter than the authentication tag');
    // A failure leaves the nonce where it was (§5.1); the connection layer closes the channel.
    return this.#state.decryptWithAd(EMPTY, ciphertext);
  }
}
