/** Noise NX under arbitrary input (fast-check): whatever arrives, the only failure is a CryptoError. */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { CryptoError } from '../errors.js';
import { NoiseNXInitiator, NoiseNXResponder, generateStaticKeyPair } from './index.js';
import { handshake, text } from './noise.testkit.js';

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
