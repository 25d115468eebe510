import { encode, rfc8949EncodeOptions } from 'cborg';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCbor, encodeCbor, MAX_ENVELOPE_BYTES } from './codec.js';
import { CodecError } from './errors.js';

const cborValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 64 }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 8 }).filter((key) => key !== '__proto__'), tie('value'), { maxKeys: 5 }),
  ),
})).value;

describe('CBOR codec', () => {
  it('round-trips values', () => {
    fc.assert(fc.property(cborValue, (value) => {
      expect(decodeCbor(encodeCbor(value))).toEqual(value);
    }));
  });

  it("orders map keys as RFC 8949 §4.2.1 does, byte for byte the same as cborg's own sorter", () => {
    const key = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 30 }), fc.constantFrom('id', 'ok', 'body', 'op', 'kind', 'groupId', 'é', 'z', 'aa'));
    const map = fc.dictionary(key.filter((k) => k !== '__proto__'), cborValue, { maxKeys: 8 });
    fc.assert(fc.property(map, (value) => {
      expect(encodeCbor(value)).toEqual(encode(value, rfc8949EncodeOptions));
    }));
  });

  it('encodes deterministically regardless of key insertion order', () => {
    expect(encodeCbor({ b: 1, a: 2 })).toEqual(encodeCbor({ a: 2, b: 1 }));
  });

  it('matches RFC 8949 Appendix A examples', () => {
    const hex = (value: unknown) => Buffer.from(encodeCbor(value)).toString('hex');
    expect(hex(0)).toBe('00');
    expect(hex(1000000)).toBe('1a000f4240');
    expect(hex(-1000)).toBe('3903e7');
    expect(hex('IETF')).toBe('6449455446');
    expect(hex([1, [2, 3], [4, 5]])).toBe('8301820203820405');
    expect(hex({ a: 1, b: [2, 3] })).toBe('a26161016162820203');
  });

  it('turns arbitrary bytes into a value or a CodecError, nothing else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      try {
        decodeCbor(bytes);
      } catch (error) {
        expect(error).toBeInstanceOf(CodecError);
      }
    }), { numRuns: 5000 });
  });

  it('refuses trailing bytes, non-minimal encodings, duplicate keys and indefinite lengths', () => {
    const bad = ['0000', '1800', 'a2616101616102', '9fff', '5f41004100ff'];
    for (const hex of bad) expect(() => decodeCbor(Buffer.from(hex, 'hex'))).toThrow(CodecError);
  });

  it('refuses oversized and empty input before decoding', () => {
    expect(() => decodeCbor(new Uint8Array(MAX_ENVELOPE_BYTES + 1))).toThrow(/exceeds/);
    expect(() => decodeCbor(new Uint8Array(0))).toThrow(CodecError);
  });

  it('refuses deep nesting without crashing', () => {
    const deep = new Uint8Array(100_000).fill(0x81);
    expect(() => decodeCbor(deep)).toThrow(CodecError);
  });
});
