import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCbor } from './codec.js';
import { decodeRequest, decodeServerMessage, encodeErrorReply, encodeEvent, encodeReply, encodeRequest, parseResponse } from './envelope.js';
import { ErrorCode, ParleyError } from './errors.js';
import { fragment, Reassembler } from './fragment.js';
import { normalizeUsername } from './identifiers.js';

describe('request envelopes', () => {
  it('round-trips a valid request', () => {
    const frame = encodeRequest('login.start', 7, { username: 'alice', request: new Uint8Array([1, 2, 3]) });
    const decoded = decodeRequest(frame);
    expect(decoded).toEqual({ ok: true, request: { op: 'login.start', id: 7, body: { username: 'alice', request: new Uint8Array([1, 2, 3]) } } });
  });

  it('rejects an unknown op with its id so the client can match the error', () => {
    const decoded = decodeRequest(encodeCbor({ op: 'nope', id: 3, body: {} }));
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) {
      expect(decoded.id).toBe(3);
      expect(decoded.error.code).toBe(ErrorCode.UNKNOWN_OP);
    }
  });

  it('names the bad field of a body that fails its schema', () => {
    const decoded = decodeRequest(encodeCbor({ op: 'login.start', id: 1, body: { username: 42, request: new Uint8Array(1) } }));
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) {
      expect(decoded.error.code).toBe(ErrorCode.BAD_REQUEST);
      expect(decoded.error.message).toContain('body.username');
    }
  });

  it('refuses extra fields', () => {
    const decoded = decodeRequest(encodeCbor({ op: 'ping', id: 1, body: { sneaky: true } }));
    expect(decoded.ok || decoded.error.code).toBe(ErrorCode.BAD_REQUEST);
  });

  it('never throws on arbitrary bytes or arbitrary maps', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const decoded = decodeRequest(bytes);
      if (!decoded.ok) expect(decoded.error).toBeInstanceOf(ParleyError);
    }), { numRuns: 3000 });
    fc.assert(fc.property(fc.record({ op: fc.oneof(fc.constantFrom('ping', 'login.start', 'device.auth'), fc.string()), id: fc.anything(), body: fc.anything() }), (value) => {
      let frame: Uint8Array;
      try {
        frame = encodeCbor(value);
      } catch {
        return; // not encodable as CBOR at all: nothing to send
      }
      const decoded = decodeRequest(frame);
      if (!decoded.ok) expect(Object.values(ErrorCode)).toContain(decoded.error.code);
    }), { numRuns: 3000 });
  });
});

describe('server messages', () => {
  it('round-trips replies, errors and events', () => {
    const reply = decodeServerMessage(encodeReply<'ping'>(5, { time: 99 }));
    expect(reply).toEqual({ type: 'reply', id: 5, ok: true, body: { time: 99 } });
    if (reply.type === 'reply' && reply.ok) expect(parseResponse('ping', reply.body)).toEqual({ time: 99 });
    expect(decodeServerMessage(encodeErrorReply(6, { code: 'AUTH_FAILED', message: 'no' }))).toEqual({
      type: 'reply', id: 6, ok: false, error: { code: 'AUTH_FAILED', message: 'no' },
    });
    expect(decodeServerMessage(encodeEvent('session.revoked', { reason: 'logged out' }))).toEqual({
      type: 'event', event: { op: 'event', kind: 'session.revoked', body: { reason: 'logged out' } },
    });
  });

  it('maps an unknown error code to INTERNAL but keeps the message', () => {
    const message = decodeServerMessage(encodeCbor({ id: 1, ok: false, error: { code: 'FROM_THE_FUTURE', message: 'hi' } }));
    expect(message).toMatchObject({ ok: false, error: { code: 'INTERNAL', message: 'hi' } });
  });
});

describe('fragmentation', () => {
  it('splits and joins envelopes of any size up to the limit', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 5000 }), fc.integer({ min: 1, max: 700 }), (envelope, chunkBytes) => {
      const joiner = new Reassembler();
      const chunks = fragment(envelope, chunkBytes);
      const outputs = chunks.map((chunk) => joiner.push(chunk));
      expect(outputs.slice(0, -1).every((output) => output === undefined)).toBe(true);
      expect(outputs.at(-1)).toEqual(envelope);
    }));
  });

  it('refuses to buffer past its limit', () => {
    const joiner = new Reassembler(10);
    expect(joiner.push(new Uint8Array([1, 1, 2, 3, 4, 5, 6]))).toBeUndefined();
    expect(() => joiner.push(new Uint8Array([1, 1, 2, 3, 4, 5, 6]))).toThrow(/exceeds/);
  });
});

describe('usernames', () => {
  it('case-folds and validates', () => {
    expect(normalizeUsername(' Alice_01 ')).toBe('alice_01');
    for (const bad of ['ab', 'a'.repeat(33), 'al ice', 'ålice', '']) {
      expect(() => normalizeUsername(bad)).toThrow(expect.objectContaining({ code: 'INVALID_USERNAME' }));
    }
  });
});
