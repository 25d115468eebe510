import { readFileSync } from 'node:fs';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { expectCryptoError, handshake, text } from './noise.testkit.js';
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
