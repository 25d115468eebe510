import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCbor } from './codec.js';
import { decodeDirectFrame, decodeDirectHello, encodeDirectFrame, encodeDirectHello, MAX_SIGNAL_LENGTH, sdpFingerprint, type DirectFrame } from './direct.js';
import { CodecError, ValidationError } from './errors.js';
import { ops } from './ops.js';

const SDP = ['v=0', 'o=- 1 2 IN IP4 127.0.0.1', 'a=fingerprint:SHA-256 6D:DA:35:A2:2F', 'a=setup:actpass', ''].join('\r\n');

describe('direct-session frames and statements', () => {
  it('round-trips a message frame, with and without a log position, an ack and a goodbye', () => {
    const frames: DirectFrame[] = [
      { t: 'msg', id: 0, payload: new Uint8Array([1, 2, 3]) },
      { t: 'msg', id: 7, payload: new Uint8Array([4]), seq: 12 },
      { t: 'ack', id: 7 },
      { t: 'bye', reason: 'logged out' },
    ];
    for (const frame of frames) expect(decodeDirectFrame(encodeDirectFrame(frame))).toEqual(frame);
  });

  it('round-trips any frame', () => {
    const frame = fc.oneof(
      fc.record({ t: fc.constant('msg' as const), id: fc.nat(), payload: fc.uint8Array({ minLength: 1, maxLength: 200 }) }),
      fc.record({ t: fc.constant('ack' as const), id: fc.nat() }),
      fc.record({ t: fc.constant('bye' as const), reason: fc.string({ minLength: 1, maxLength: 200 }) }),
    );
    fc.assert(
      fc.property(frame, (value) => {
        expect(decodeDirectFrame(encodeDirectFrame(value))).toEqual(value);
      }),
    );
  });

  it('refuses anything else with a codec or validation error, never another failure', () => {
    expect(() => decodeDirectFrame(encodeCbor({ t: 'msg' }))).toThrow(ValidationError);
    expect(() => decodeDirectFrame(encodeCbor({ t: 'bye', reason: '' }))).toThrow(ValidationError);
    expect(() => decodeDirectFrame(encodeCbor({ t: 'msg', id: 1, payload: new Uint8Array(1), extra: 1 }))).toThrow(ValidationError);
    expect(() => decodeDirectFrame(encodeCbor({ t: 'msg', payload: new Uint8Array(1) }))).toThrow(/id/);
    expect(() => decodeDirectFrame(encodeCbor({ t: 'ack', id: -1 }))).toThrow(ValidationError);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodeDirectFrame(bytes);
        } catch (error) {
          expect(error instanceof CodecError || error instanceof ValidationError).toBe(true);
        }
      }),
    );
  });

  it('round-trips a signed fingerprint statement and bounds its fields', () => {
    const hello = { t: 'direct-hello' as const, sessionId: new Uint8Array(16).fill(1), fingerprint: 'sha-256 6d:da', peerFingerprint: '', signature: new Uint8Array(64).fill(2) };
    expect(decodeDirectHello(encodeDirectHello(hello))).toEqual(hello);
    expect(() => decodeDirectHello(encodeCbor({ ...hello, signature: new Uint8Array(63) }))).toThrow(/signature/);
    expect(() => decodeDirectHello(encodeCbor({ ...hello, fingerprint: 'x'.repeat(257) }))).toThrow(/fingerprint/);
  });

  it('reads the DTLS fingerprint of an SDP in the form the clients compare', () => {
    expect(sdpFingerprint(SDP)).toBe('sha-256 6d:da:35:a2:2f');
    expect(sdpFingerprint('v=0\r\n')).toBeUndefined();
  });

  it('bounds what the server relays', () => {
    const signal = { sessionId: new Uint8Array(16), kind: 'offer', data: SDP };
    expect(ops['direct.signal'].request.parse(signal)).toEqual(signal);
    expect(() => ops['direct.signal'].request.parse({ ...signal, data: 'x'.repeat(MAX_SIGNAL_LENGTH + 1) })).toThrow(/data/);
    expect(() => ops['direct.signal'].request.parse({ ...signal, kind: 'hijack' })).toThrow(/kind/);
    expect(() => ops['direct.signal'].request.parse({ ...signal, auth: new Uint8Array(9 * 1024) })).toThrow(/auth/);
  });
});
