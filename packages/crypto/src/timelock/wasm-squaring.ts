/**
 * @module A faster squaring kernel: WebAssembly with 128-bit SIMD (in Node and every current
 * browser), generated here byte by byte for the modulus at hand, no toolchain needed.
 *
 * Numbers are W-bit limbs (W = 14, or 13 for moduli past ~3500 bits) in 16-bit lanes, so
 * `i32x4.dot_i16x8_s` (x86 `pmaddwd`) does eight limb products per instruction. A squaring is:
 *   1. x² by product scanning: column k = Σ x_i·x_(k−i), as dot products of x against x reversed;
 *      lane sums stay below 2^32 (limits below), then the columns are carried into limbs s_k.
 *   2. A fold instead of a division: with m = ⌈bits(N)/W⌉ and R_j = 2^(W(m+j)) mod N
 *      precomputed, x² ≡ Σ_(k<m) s_k·2^(Wk) + Σ_j s_(m+j)·R_j (mod N), again dot products
 *      (a Barrett- or Montgomery-free reduction; cf. Menezes, van Oorschot, Vanstone, Handbook
 *      of Applied Cryptography §14.3 on precomputed residues).
 * The result is not below N, only below 2^(W(m+2)), which keeps every bound: it is reduced mod N
 * once, when the slice of squarings ends. Checked against BigInt in wasm-squaring.test.ts.
 */
import { encodeModule, sleb, uleb, ValueType } from './wasm-encoding.js';
import type { SquaringKernel } from './solver.js';

/** Dot products summed per 32-bit lane before they are widened: 2·(2^W−1)² each, the sum below 2^32. */
const laneCapacity = (W: number) => Math.floor(0xffffffff / (2 * ((1 << W) - 1) ** 2));
/** Each loop turn takes four 8-lane chunks into four accumulators. */
const LANES_PER_TURN = 32;
/** Zeros around each array, so the chunks past a range read nothing but zeros. */
const PADDING = 48;

interface Layout {
  W: number;
  m: number;
  n: number;
  /** High limbs of x² that are folded, rounded up to whole loop turns. */
  high: number;
  x: number;
  xReversed: number;
  low: number;
  highLimbs: number;
  table: number;
  pages: number;
}

function layout(modulusBits: number): Layout {
  for (const W of [14, 13]) {
    const m = Math.ceil(modulusBits / W);
    const n = m + 2;
    const high = Math.ceil((2 * n - m) / LANES_PER_TURN) * LANES_PER_TURN;
    if (Math.ceil(n / LANES_PER_TURN) > laneCapacity(W) || high / LANES_PER_TURN > laneCapacity(W)) continue;
    let offset = 0;
    const take = (bytes: number) => {
      const at = offset;
      offset += Math.ceil(bytes / 16) * 16;
      return at;
    };
    const x = take(2 * (n + 2 * PADDING));
    const xReversed = take(2 * (n + 2 * PADDING));
    const low = take(4 * m);
    const highLimbs = take(2 * (high + PADDING));
    const table = take(2 * m * high);
    return { W, m, n, high, x, xReversed, low, highLimbs, table, pages: Math.ceil(offset / 65536) };
  }
  throw new RangeError(`no limb size fits a ${modulusBits}-bit modulus`);
}

// Locals after the parameter `count` (0).
const [K, LO, HI, A, B, TURNS] = [1, 2, 3, 4, 5, 6];
const ACCUMULATORS = [7, 8, 9, 10];
const [SUM, COLUMN, CARRY] = [11, 12, 13];

// Opcodes (WebAssembly Core Specification 2.0 §5.4; SIMD ones follow the 0xfd prefix).
const I32_LT_S = 0x48, I32_GT_S = 0x4a, I32_ADD = 0x6a, I32_SUB = 0x6b, I32_MUL = 0x6c, I32_AND = 0x71, I32_SHL = 0x74, I32_SHR_U = 0x76;
const I64_ADD = 0x7c, I64_SHR_U = 0x88, I32_WRAP_I64 = 0xa7, SELECT = 0x1b, BR_IF = 0x0d, END = 0x0b;
const V128_LOAD = 0x00, V128_CONST = 0x0c, I64X2_EXTRACT_LANE = 0x1d, I32X4_ADD = 0xae, I32X4_DOT_I16X8_S = 0xba;
const I64X2_EXTEND_LOW_I32X4_U = 0xc9, I64X2_EXTEND_HIGH_I32X4_U = 0xca, I64X2_ADD = 0xce;

function kernelCode(l: Layout): number[] {
  const out: number[] = [];
  const op = (...bytes: number[]) => out.push(...bytes);
  const simd = (...codes: number[]) => codes.forEach((code) => op(0xfd, ...uleb(code)));
  const get = (...locals: number[]) => locals.forEach((local) => op(0x20, local));
  const set = (local: number) => op(0x21, local);
  const tee = (local: number) => op(0x22, local);
  const i32 = (value: number) => op(0x41, ...sleb(value));
  const i64 = (value: number) => op(0x42, ...sleb(value));
  const loop = (body: () => void) => {
    op(0x03, 0x40);
    body();
    op(END);
  };
  const store16 = (address: number) => op(0x3b, 1, ...uleb(address));
  /** The low W bits of COLUMN, as an i32 on the stack. */
  const limb = () => {
    get(COLUMN); op(I32_WRAP_I64); i32((1 << l.W) - 1); op(I32_AND);
  };

  /** COLUMN = Σ over TURNS loop turns of dot(A…, B…), both pointers advancing 64 bytes a turn. */
  const dotProducts = () => {
    for (const acc of ACCUMULATORS) {
      simd(V128_CONST); op(...new Array<number>(16).fill(0)); set(acc);
    }
    loop(() => {
      ACCUMULATORS.forEach((acc, q) => {
        get(acc, A); simd(V128_LOAD); op(0, ...uleb(16 * q)); get(B); simd(V128_LOAD); op(0, ...uleb(16 * q));
        simd(I32X4_DOT_I16X8_S, I32X4_ADD); set(acc);
      });
      for (const pointer of [A, B]) {
        get(pointer); i32(64); op(I32_ADD); set(pointer);
      }
      get(TURNS); i32(1); op(I32_SUB); tee(TURNS); op(BR_IF, 0);
    });
    // Every lane widened (unsigned) to 64 bits, and all of them added up.
    ACCUMULATORS.forEach((acc, index) => {
      get(acc); simd(I64X2_EXTEND_LOW_I32X4_U);
      if (index > 0) simd(I64X2_ADD);
      get(acc); simd(I64X2_EXTEND_HIGH_I32X4_U, I64X2_ADD);
    });
    tee(SUM); simd(I64X2_EXTRACT_LANE); op(0); get(SUM); simd(I64X2_EXTRACT_LANE); op(1); op(I64_ADD); set(COLUMN);
  };
  /** COLUMN += CARRY; CARRY = COLUMN >> W (the limb is COLUMN's low W bits). */
  const carry = () => {
    get(COLUMN, CARRY); op(I64_ADD); tee(COLUMN); i64(l.W); op(I64_SHR_U); set(CARRY);
  };
  const startColumns = () => {
    i64(0); set(CARRY); i32(0); set(K);
  };
  const nextColumn = (end: number) => {
    get(K); i32(1); op(I32_ADD); tee(K); i32(end); op(I32_LT_S, BR_IF, 0);
  };

  loop(() => {
    // 1. x²: column k over i in [max(0, k−n+1), min(k, n−1)], x_i against x reversed at n−1−k+i.
    startColumns();
    loop(() => {
      get(K); i32(l.n - 1); op(I32_SUB); tee(LO); i32(0); get(LO); i32(0); op(I32_GT_S, SELECT); set(LO);
      get(K); i32(l.n - 1); get(K); i32(l.n - 1); op(I32_LT_S, SELECT); set(HI);
      get(HI, LO); op(I32_SUB); i32(5); op(I32_SHR_U); i32(1); op(I32_ADD); set(TURNS);
      get(LO); i32(1); op(I32_SHL); i32(l.x + 2 * PADDING); op(I32_ADD); set(A);
      get(LO, K); op(I32_SUB); i32(1); op(I32_SHL); i32(l.xReversed + 2 * (PADDING + l.n - 1)); op(I32_ADD); set(B);
      dotProducts();
      carry();
      // Limbs below m stay as they are (as i32); the ones above are folded (as i16).
      get(K); i32(l.m); op(I32_LT_S); op(0x04, 0x40);
      get(K); i32(2); op(I32_SHL); limb(); op(0x36, 2, ...uleb(l.low));
      op(0x05);
      get(K); i32(l.m); op(I32_SUB); i32(1); op(I32_SHL); limb(); store16(l.highLimbs);
      op(END);
      nextColumn(2 * l.n - 1);
    });
    // The last carry is the top limb of x².
    i32(0); get(CARRY); op(I32_WRAP_I64); store16(l.highLimbs + 2 * (2 * l.n - 1 - l.m));

    // 2. The fold: limb l = low_l + Σ_j high_j·R_j[l], stored into x and x reversed.
    startColumns();
    loop(() => {
      i32(l.highLimbs); set(A); get(K); i32(2 * l.high); op(I32_MUL); i32(l.table); op(I32_ADD); set(B);
      i32(l.high / LANES_PER_TURN); set(TURNS);
      dotProducts();
      get(COLUMN, K); i32(2); op(I32_SHL); op(0x35, 2, ...uleb(l.low)); op(I64_ADD); set(COLUMN); // + i64.load32_u low[k]
      carry();
      get(K); i32(1); op(I32_SHL); limb(); store16(l.x + 2 * PADDING);
      i32(l.n - 1); get(K); op(I32_SUB); i32(1); op(I32_SHL); limb(); store16(l.xReversed + 2 * PADDING);
      nextColumn(l.m);
    });
    for (let index = l.m; index < l.n; index++) {
      get(CARRY); set(COLUMN); i64(0); set(CARRY); carry();
      i32(0); limb(); store16(l.x + 2 * (PADDING + index));
      i32(0); limb(); store16(l.xReversed + 2 * (PADDING + l.n - 1 - index));
    }
    get(0); i32(1); op(I32_SUB); tee(0); op(BR_IF, 0);
  });
  return out;
}

/** Squarings per call into WebAssembly: short enough that V8 moves the code to its optimizing tier early. */
const SLICE = 512;

function prepareWasm(modulus: bigint): (value: bigint, count: number) => bigint {
  const l = layout(modulus.toString(2).length);
  const bytes = encodeModule({
    pages: l.pages,
    locals: [
      [6, ValueType.i32],
      [5, ValueType.v128],
      [2, ValueType.i64],
    ],
    body: kernelCode(l),
  });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  const { run, memory } = instance.exports as { run: (count: number) => void; memory: WebAssembly.Memory };
  const view = new DataView(memory.buffer);
  const W = BigInt(l.W);
  const mask = (1n << W) - 1n;
  for (let j = 0; j < 2 * l.n - l.m; j++) {
    let residue = (1n << (W * BigInt(l.m + j))) % modulus;
    for (let limb = 0; limb < l.m; limb++, residue >>= W) view.setInt16(l.table + 2 * (limb * l.high + j), Number(residue & mask), true);
  }
  return (value, count) => {
    let rest = value;
    for (let i = 0; i < l.n; i++, rest >>= W) {
      const limb = Number(rest & mask);
      view.setInt16(l.x + 2 * (PADDING + i), limb, true);
      view.setInt16(l.xReversed + 2 * (PADDING + l.n - 1 - i), limb, true);
    }
    for (let done = 0; done < count; done += SLICE) run(Math.min(SLICE, count - done));
    let result = 0n;
    for (let i = l.n - 1; i >= 0; i--) result = (result << W) | BigInt(view.getInt16(l.x + 2 * (PADDING + i), true));
    return result % modulus;
  };
}

/** The WebAssembly kernel; `prepare` throws where WebAssembly SIMD is missing (see `fastestSquaring`). */
export const wasmSquaring: SquaringKernel = { prepare: prepareWasm };

let simdSupported: boolean | undefined;

/** The WebAssembly kernel where the runtime has WebAssembly SIMD (Node 16.4+, current browsers), else BigInt. */
export function fastestSquaring(fallback: SquaringKernel): SquaringKernel {
  simdSupported ??= typeof WebAssembly === 'object' && WebAssembly.validate(encodeModule({ pages: 1, locals: [[1, ValueType.v128]], body: [] }));
  return simdSupported ? wasmSquaring : fallback;
}
