import { readFileSync } from 'node:fs';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CryptoError } from '../errors.js';
import { nodeCryptoProvider } from '../node.js';
import { installCryptoProvider } from '../provider/installed.js';
import { nobleCryptoProvider } from '../provider/noble.js';
import {
  NOISE_MAX_MESSAGE,
  NoiseNXInitiator,
  NoiseNXResponder,
  generateStaticKeyPair,
  publicKeyFromPrivate,
  type StaticKeyPair,
} from './index.js';
import { NOISE_NX_BLAKE2S, NOISE_NX_SHA256, type NoiseSuite } from './suite.js';
import { CipherState } from './symmetric.js';

interface Vector {
  protocol_name: string;
  init_prologue: string;
  init_ephemeral: string;
  resp_prologue: string;
  resp_static: string;
  resp_ephemeral: string;
  messages: { payload: string; ciphertext: string }[];
}
const fixture = JSON.parse(readFileSync(new URL('./noise-vectors.json', import.meta.url), 'utf8')) as {
  source: string;
  vectors: Vector[];
};
const suites: Record<string, NoiseSuite> = {
  [NOISE_NX_BLAKE2S.protocolName]: NOISE_NX_BLAKE2S,
  [NOISE_NX_SHA256.protocolName]: NOISE_NX_SHA256,
};

const pair = (privateHex: string): StaticKeyPair => {
  const privateKey = hexToBytes(privateHex);
  return { privateKey, publicKey: publicKeyFromPrivate(privateKey) };
};
const text = (value: string): Uint8Array => new TextEncoder().encode(value);

/** Asserts `fn` throws a CryptoError with the given code (CHANNEL_FAILED unless told). */
function expectCryptoError(fn: () => unknown, code = 'CHANNEL_FAILED'): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(CryptoError);
  expect((thrown as CryptoError).code).toBe(code);
}

function handshake(options: { prologue?: Uint8Array } = {}) {
  const server = generateStaticKeyPair();
  const initiator = new NoiseNXInitiator(options);
  const responder = new NoiseNXResponder({ ...options, staticKey: server });
  const message1 = initiator.writeMessage1(text('hello'));
  expect(responder.readMessage1(message1)).toEqual(text('hello'));
  const { message, result: responderResult } = responder.writeMessage2(text('welcome'));
  const { payload, result: initiatorResult } = initiator.readMessage2(message);
  expect(payload).toEqual(text('welcome'));
  return { server, initiator, responder, initiatorResult, responderResult };
}

// The channel runs on whichever provider is installed: replay everything on each of them.
describe.each([nodeCryptoProvider, nobleCryptoProvider].map((provider) => [provider.name, provider] as const))('on %s', (_name, provider) => {
  beforeAll(() => installCryptoProvider(provider));
  afterAll(() => installCryptoProvider(undefined));

  describe('cacophony vectors', () => {
    it('cover the BLAKE2s suite and name their source', () => {
      expect(fixture.source).toContain('haskell-cryptography/cacophony');
      expect(fixture.vectors.map((v) => v.protocol_name)).toContain('Noise_NX_25519_ChaChaPoly_BLAKE2s');
    });

    describe.each(fixture.vectors)('$protocol_name', (vector) => {
      it('replays every handshake and transport message byte-exactly', () => {
        const suite = suites[vector.protocol_name];
        if (suite === undefined) throw new Error(`no suite for ${vector.protocol_name}`);
        const initiatorEphemeral = pair(vector.init_ephemeral);
        const initiator = new NoiseNXInitiator(
          { prologue: hexToBytes(vector.init_prologue), ephemeral: initiatorEphemeral },
          suite,
        );
        const responder = new NoiseNXResponder(
          {
            prologue: hexToBytes(vector.resp_prologue),
            staticKey: pair(vector.resp_static),
            ephemeral: pair(vector.resp_ephemeral),
          },
          suite,
        );
        const [first, second, ...transport] = vector.messages;
        if (first === undefined || second === undefined) throw new Error('vector has no handshake');

        const message1 = initiator.writeMessage1(hexToBytes(first.payload));
        expect(bytesToHex(message1)).toBe(first.ciphertext);
        expect(bytesToHex(responder.readMessage1(hexToBytes(first.ciphertext)))).toBe(first.payload);

        const { message: message2, result: r } = responder.writeMessage2(hexToBytes(second.payload));
        expect(bytesToHex(message2)).toBe(second.ciphertext);
        const { payload, result: i } = initiator.readMessage2(hexToBytes(second.ciphertext));
        expect(bytesToHex(payload)).toBe(second.payload);
        expect(i.remoteStatic).toEqual(publicKeyFromPrivate(hexToBytes(vector.resp_static)));
        expect(i.handshakeHash).toEqual(r.handshakeHash);
        expect(r.remoteStatic).toBeUndefined();
        // The handshake zeroes its own copies, never the caller's key buffers.
        expect(bytesToHex(initiatorEphemeral.privateKey)).toBe(vector.init_ephemeral);

        // After a two-message handshake the vectors alternate, initiator first.
        transport.forEach((step, index) => {
          const [sender, receiver] = index % 2 === 0 ? [i, r] : [r, i];
          expect(bytesToHex(sender.send.encrypt(hexToBytes(step.payload)))).toBe(step.ciphertext);
          expect(bytesToHex(receiver.receive.decrypt(hexToBytes(step.ciphertext)))).toBe(step.payload);
        });
      });
    });
  });

  describe('Noise NX channel', () => {
    it('round-trips a handshake and transport messages with random keys', () => {
      const { server, initiatorResult: i, responderResult: r } = handshake({ prologue: text('parley/1') });
      expect(i.remoteStatic).toEqual(server.publicKey);
      expect(i.handshakeHash).toEqual(r.handshakeHash);
      for (let n = 0; n < 5; n++) {
        expect(r.receive.decrypt(i.send.encrypt(text(`ping ${n}`)))).toEqual(text(`ping ${n}`));
        expect(i.receive.decrypt(r.send.encrypt(text(`pong ${n}`)))).toEqual(text(`pong ${n}`));
      }
      expect(r.receive.decrypt(i.send.encrypt(new Uint8Array(0)))).toEqual(new Uint8Array(0));
    });

    it('fails the handshake when the prologues differ', () => {
      const server = generateStaticKeyPair();
      const initiator = new NoiseNXInitiator({ prologue: text('v1') });
      const responder = new NoiseNXResponder({ prologue: text('v2'), staticKey: server });
      responder.readMessage1(initiator.writeMessage1());
      expectCryptoError(() => initiator.readMessage2(responder.writeMessage2().message));
    });

    it('rejects a tampered handshake message and ends the handshake', () => {
      const initiator = new NoiseNXInitiator();
      const responder = new NoiseNXResponder({ staticKey: generateStaticKeyPair() });
      responder.readMessage1(initiator.writeMessage1());
      const { message } = responder.writeMessage2(text('payload'));
      const tampered = message.slice();
      tampered[40] = (tampered[40] ?? 0) ^ 1;
      expectCryptoError(() => initiator.readMessage2(tampered));
      expectCryptoError(() => initiator.readMessage2(message)); // no retry after a failure
    });

    it('rejects a tampered transport message without advancing the nonce', () => {
      const { initiatorResult: i, responderResult: r } = handshake();
      const ciphertext = i.send.encrypt(text('secret'));
      const tampered = ciphertext.slice();
      tampered[0] = (tampered[0] ?? 0) ^ 0x80;
      expectCryptoError(() => r.receive.decrypt(tampered));
      // Noise §5.1: a failed decryption leaves the nonce alone (callers close the channel anyway).
      expect(r.receive.decrypt(ciphertext)).toEqual(text('secret'));
    });

    it('rejects a replayed or reordered transport message', () => {
      const { initiatorResult: i, responderResult: r } = handshake();
      const first = i.send.encrypt(text('one'));
      const second = i.send.encrypt(text('two'));
      expectCryptoError(() => r.receive.decrypt(second));
      expect(r.receive.decrypt(first)).toEqual(text('one'));
      expectCryptoError(() => r.receive.decrypt(first));
      expect(r.receive.decrypt(second)).toEqual(text('two'));
    });

    it('enforces the 65535-byte message limit', () => {
      const { initiatorResult: i, responderResult: r } = handshake();
      const largest = i.send.encrypt(new Uint8Array(NOISE_MAX_MESSAGE - 16));
      expect(largest.length).toBe(NOISE_MAX_MESSAGE);
      expect(r.receive.decrypt(largest).length).toBe(NOISE_MAX_MESSAGE - 16);
      expectCryptoError(() => i.send.encrypt(new Uint8Array(NOISE_MAX_MESSAGE - 15)));
      expectCryptoError(() => r.receive.decrypt(new Uint8Array(NOISE_MAX_MESSAGE + 1)));

      expectCryptoError(() => new NoiseNXInitiator().writeMessage1(new Uint8Array(NOISE_MAX_MESSAGE - 31)));
      expect(new NoiseNXInitiator().writeMessage1(new Uint8Array(NOISE_MAX_MESSAGE - 32)).length).toBe(NOISE_MAX_MESSAGE);
      const responder = new NoiseNXResponder({ staticKey: generateStaticKeyPair() });
      expectCryptoError(() => responder.readMessage1(new Uint8Array(NOISE_MAX_MESSAGE + 1)));

      const initiator = new NoiseNXInitiator();
      const accepting = new NoiseNXResponder({ staticKey: generateStaticKeyPair() });
      accepting.readMessage1(initiator.writeMessage1());
      expectCryptoError(() => accepting.writeMessage2(new Uint8Array(NOISE_MAX_MESSAGE - 95)));
      const { message } = accepting.writeMessage2(new Uint8Array(NOISE_MAX_MESSAGE - 96));
      expect(message.length).toBe(NOISE_MAX_MESSAGE);
      expect(initiator.readMessage2(message).payload.length).toBe(NOISE_MAX_MESSAGE - 96);
    });

    it('rejects calls out of order', () => {
      const initiator = new NoiseNXInitiator();
      const responder = new NoiseNXResponder({ staticKey: generateStaticKeyPair() });
      expectCryptoError(() => initiator.readMessage2(new Uint8Array(96)));
      expectCryptoError(() => responder.writeMessage2());
      const message1 = initiator.writeMessage1();
      expectCryptoError(() => initiator.writeMessage1());
      responder.readMessage1(message1);
      expectCryptoError(() => responder.readMessage1(message1));
      const { message } = responder.writeMessage2();
      expectCryptoError(() => responder.writeMessage2());
      initiator.readMessage2(message);
      expectCryptoError(() => initiator.readMessage2(message));
    });

    it('rejects a low-order ephemeral key from the initiator', () => {
      const responder = new NoiseNXResponder({ staticKey: generateStaticKeyPair() });
      responder.readMessage1(new Uint8Array(32)); // u = 0: every DH with it is all zeros (§12.1)
      expectCryptoError(() => responder.writeMessage2());
      const again = new NoiseNXResponder({ staticKey: generateStaticKeyPair() });
      again.readMessage1(new Uint8Array(32));
      // The message names the fault, for the server's log line.
      expect(() => again.writeMessage2()).toThrow("noise: the initiator's ephemeral key is not a usable X25519 public key");
    });

    it('refuses mismatched or malformed keys and non-byte arguments with BAD_INPUT', () => {
      const server = generateStaticKeyPair();
      const other = generateStaticKeyPair();
      expectCryptoError(() => new NoiseNXResponder({ staticKey: { ...server, publicKey: other.publicKey } }), 'BAD_INPUT');
      expectCryptoError(() => publicKeyFromPrivate(new Uint8Array(31)), 'BAD_INPUT');
      expectCryptoError(() => new NoiseNXInitiator().writeMessage1('hi' as unknown as Uint8Array), 'BAD_INPUT');
    });

    it('encodes the nonce as 64-bit little-endian and refuses it past 2^53', () => {
      const key = new Uint8Array(32).fill(7);
      const n = 2 ** 40 + 5;
      const nonce = new Uint8Array(12);
      new DataView(nonce.buffer).setBigUint64(4, BigInt(n), true);
      const expected = chacha20poly1305(key, nonce, new Uint8Array(0)).encrypt(text('x'));
      expect(new CipherState(key, n).encryptWithAd(new Uint8Array(0), text('x'))).toEqual(expected);

      const last = new CipherState(key, Number.MAX_SAFE_INTEGER);
      last.encryptWithAd(new Uint8Array(0), text('last'));
      expectCryptoError(() => last.encryptWithAd(new Uint8Array(0), text('one too many')));
    });
  });
});

describe('Noise NX channel properties', () => {
  const isChannelError = (error: unknown): boolean =>
    error instanceof CryptoError && error.code === 'CHANNEL_FAILED';
  const onlyChannelErrors = (fn: () => unknown): boolean => {
    try {
      fn();
      return true;
    } catch (error) {
      return isChannelError(error);
    }
  };
  const bytes = fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ minLength: 65530, maxLength: 65540 }));

  it('readMessage1 (and the writeMessage2 it enables) only throw CryptoError', () => {
    const staticKey = generateStaticKeyPair();
    fc.assert(
      fc.property(bytes, (input) => {
        const responder = new NoiseNXResponder({ staticKey });
        return onlyChannelErrors(() => {
          responder.readMessage1(input);
          responder.writeMessage2();
        });
      }),
      { numRuns: 200 },
    );
  });

  it('readMessage2 only throws CryptoError', () => {
    fc.assert(
      fc.property(bytes, (input) => {
        const initiator = new NoiseNXInitiator();
        initiator.writeMessage1();
        return onlyChannelErrors(() => initiator.readMessage2(input));
      }),
      { numRuns: 200 },
    );
  });

  it('any single bit flip in message 2 fails the handshake', () => {
    const options = { ephemeral: generateStaticKeyPair() };
    const responderOptions = { staticKey: generateStaticKeyPair(), ephemeral: generateStaticKeyPair() };
    const makeMessage2 = (): { initiator: NoiseNXInitiator; message: Uint8Array } => {
      const initiator = new NoiseNXInitiator(options);
      const responder = new NoiseNXResponder(responderOptions);
      responder.readMessage1(initiator.writeMessage1());
      return { initiator, message: responder.writeMessage2(text('payload')).message };
    };
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 0, max: 7 }), (position, bit) => {
        const { initiator, message } = makeMessage2();
        const index = position % message.length;
        message[index] = (message[index] ?? 0) ^ (1 << bit);
        try {
          initiator.readMessage2(message);
          return false;
        } catch (error) {
          return isChannelError(error);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('decrypt only throws CryptoError', () => {
    const { responderResult: r } = handshake();
    fc.assert(fc.property(bytes, (input) => onlyChannelErrors(() => r.receive.decrypt(input))), { numRuns: 300 });
  });
});
