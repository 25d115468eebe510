/**
 * @module Writing one WebAssembly function body (Core Specification 2.0 §5.4), with names for the
 * scalar and SIMD instructions the squaring kernel uses; `encodeModule` wraps it in a module.
 */
import { sleb, uleb, type ValueType } from './wasm-encoding.js';

type LocalType = (typeof ValueType)[keyof typeof ValueType];

// Opcodes (§5.4); the SIMD ones follow the 0xfd prefix (§5.4.8).
const Op = {
  block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d, select: 0x1b, localGet: 0x20, localSet: 0x21, localTee: 0x22,
  i32Load: 0x28, i32Const: 0x41, i32Eqz: 0x45, i32LtS: 0x48, i32Add: 0x6a, i32Sub: 0x6b, i32Shl: 0x74, simd: 0xfd,
} as const;
const Simd = {
  load: 0x00, load32Splat: 0x09, store: 0x0b, const: 0x0c, shuffle: 0x0d, and: 0x4e, or: 0x50, store64Lane: 0x5b,
  i16x8NarrowI32x4S: 0x85, i32x4Shl: 0xab, i32x4ShrS: 0xac, i32x4Add: 0xae, i32x4Sub: 0xb1, i32x4DotI16x8S: 0xba,
} as const;

/** log2 of the alignment hinted for 16-, 8- and 4-byte accesses (§5.4.6 memarg). */
const ALIGN_16 = 4, ALIGN_8 = 3, ALIGN_4 = 2;

/** A function body under construction: each method appends one instruction (or a structured one). */
export class FunctionBody {
  readonly code: number[] = [];
  private readonly localTypes: LocalType[] = [];

  constructor(private readonly parameters: number) {}

  /** Declares a new local; returns its index. */
  local(type: LocalType): number {
    this.localTypes.push(type);
    return this.parameters + this.localTypes.length - 1;
  }

  /** The locals as the code section declares them: runs of one type (§5.5.13). */
  localDeclarations(): [count: number, type: number][] {
    const runs: [number, number][] = [];
    for (const type of this.localTypes) {
      const last = runs.at(-1);
      if (last && last[1] === type) last[0] += 1;
      else runs.push([1, type]);
    }
    return runs;
  }

  private simd(opcode: number, ...immediates: number[]): this {
    this.code.push(Op.simd, ...uleb(opcode), ...immediates);
    return this;
  }

  private memory(opcode: number, align: number, offset: number, simd = true): this {
    if (simd) return this.simd(opcode, align, ...uleb(offset));
    this.code.push(opcode, align, ...uleb(offset));
    return this;
  }

  // Control (§5.4.1): structured blocks, with branches counted outward from the innermost.
  block(body: () => void): this { return this.structured(Op.block, body); }
  loop(body: () => void): this { return this.structured(Op.loop, body); }
  private structured(opcode: number, body: () => void): this {
    this.code.push(opcode, 0x40);
    body();
    this.code.push(Op.end);
    return this;
  }
  /** if (the i32 on the stack) then … else … (§5.4.1). */
  ifElse(then: () => void, otherwise: () => void): this {
    this.code.push(Op.if, 0x40);
    then();
    this.code.push(Op.else);
    otherwise();
    this.code.push(Op.end);
    return this;
  }
  br(depth: number): this { this.code.push(Op.br, depth); return this; }
  brIf(depth: number): this { this.code.push(Op.brIf, depth); return this; }
  select(): this { this.code.push(Op.select); return this; }

  // Locals and i32 arithmetic.
  get(local: number): this { this.code.push(Op.localGet, ...uleb(local)); return this; }
  set(local: number): this { this.code.push(Op.localSet, ...uleb(local)); return this; }
  tee(local: number): this { this.code.push(Op.localTee, ...uleb(local)); return this; }
  i32(value: number): this { this.code.push(Op.i32Const, ...sleb(value)); return this; }
  i32Add(): this { this.code.push(Op.i32Add); return this; }
  i32Sub(): this { this.code.push(Op.i32Sub); return this; }
  i32Shl(): this { this.code.push(Op.i32Shl); return this; }
  i32LtS(): this { this.code.push(Op.i32LtS); return this; }
  i32Eqz(): this { this.code.push(Op.i32Eqz); return this; }
  i32Load(offset: number): this { return this.memory(Op.i32Load, ALIGN_4, offset, false); }
  /** local += delta */
  step(local: number, delta: number): this { return this.get(local).i32(delta).i32Add().set(local); }

  // Memory and SIMD (§5.4.8): addresses come from the stack, offsets are immediates.
  v128Load(offset: number): this { return this.memory(Simd.load, ALIGN_16, offset); }
  /** Four copies of the 32-bit word at the address. */
  load32Splat(offset: number): this { return this.memory(Simd.load32Splat, ALIGN_4, offset); }
  v128Store(offset: number): this { return this.memory(Simd.store, ALIGN_16, offset); }
  /** Stores the low 8 bytes of the vector. */
  store64Low(offset: number): this {
    this.memory(Simd.store64Lane, ALIGN_8, offset);
    this.code.push(0);
    return this;
  }
  i32x4(value: number): this {
    const bytes = [0, 8, 16, 24].map((shift) => (value >>> shift) & 0xff);
    return this.simd(Simd.const, ...bytes, ...bytes, ...bytes, ...bytes);
  }
  i16x8(lanes: readonly number[]): this { return this.simd(Simd.const, ...lanes.flatMap((lane) => [lane & 0xff, (lane >>> 8) & 0xff])); }
  /** Bytes of two vectors a, b picked by index (0–15 from a, 16–31 from b). */
  shuffle(bytes: readonly number[]): this { return this.simd(Simd.shuffle, ...bytes); }
  and(): this { return this.simd(Simd.and); }
  or(): this { return this.simd(Simd.or); }
  i16x8NarrowI32x4S(): this { return this.simd(Simd.i16x8NarrowI32x4S); }
  i32x4Shl(): this { return this.simd(Simd.i32x4Shl); }
  i32x4ShrS(): this { return this.simd(Simd.i32x4ShrS); }
  i32x4Add(): this { return this.simd(Simd.i32x4Add); }
  i32x4Sub(): this { return this.simd(Simd.i32x4Sub); }
  /** Lane k = a[2k]·b[2k] + a[2k+1]·b[2k+1], i16 products summed in i32 (x86 pmaddwd). */
  i32x4DotI16x8S(): this { return this.simd(Simd.i32x4DotI16x8S); }
}
