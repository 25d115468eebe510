/**
 * @module The fast squaring kernel: WebAssembly with 128-bit SIMD (in Node and every current
 * browser), generated here for the modulus at hand, no toolchain needed. x stays in the module's
 * memory for a whole slice of squarings; JavaScript converts it once at each end.
 *
 * Numbers are balanced 14-bit limbs in 16-bit lanes, multiplied by `i32x4.dot_i16x8_s` (x86
 * `pmaddwd`: eight products per instruction, summed in pairs into four i32 lanes). A squaring:
 *   1. x² by its triangle: each product x_i·x_j with i < j once, doubled, plus the squares. A pair
 *      of limbs (x_2p, x_2p+1) is splat across a vector and dotted with the pairs (x_t, x_(t−1))
 *      of four consecutive t, so both products in a lane belong to one column (2p + t): four
 *      columns per instruction and no horizontal sums.
 *   2. A fold instead of a division: with M columns kept and R_j = 2^(14(M+j)) mod N precomputed,
 *      x² ≡ Σ_(c<M) s_c·2^(14c) + Σ_j h_j·R_j (mod N), the high limbs h_j splat against the
 *      table the same way. Montgomery's reduction costs as many products, but each quotient
 *      digit waits for the column before it; here no product waits for another.
 * Lanes move their high bits into a carry vector every few dot products, and two vector carry
 * rounds make limbs again (squaring-layout.ts bounds every lane). x stays a few limbs above N,
 * not reduced: it is reduced mod N once, when the slice ends. Checked against BigInt in
 * wasm-squaring.test.ts.
 */
import { bitLength } from './integers.js';
import type { SquaringKernel } from './solver.js';
import { FunctionBody } from './wasm-code.js';
import { encodeModule, ValueType } from './wasm-encoding.js';
import { GROUP, HALF, LIMB_BITS, readValue, squaringLayout, writeTables, writeValue, type Layout } from './squaring-layout.js';

/** Shuffle of (a, b) into (a3, b0, b1, b2): each lane gets the lane below it, across two vectors. */
const FROM_BELOW = [12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27];
/** In the diagonal block (row pair p, columns 4p…4p+3), the products of the triangle, i < j. */
const UPPER = [0, 0, 0xffff, 0, 0xffff, 0, 0xffff, 0xffff];
/** The squares x_2p² and x_(2p+1)² in columns 4p and 4p + 2. */
const SQUARES = [0xffff, 0, 0, 0, 0, 0xffff, 0, 0];

function kernelBody(l: Layout): FunctionBody {
  const f = new FunctionBody(1);
  const count = 0;
  const i32 = () => f.local(ValueType.i32);
  const v128 = () => f.local(ValueType.v128);
  // Addresses and counters.
  const group = i32(), left = i32(), splat = i32(), window = i32(), rows = i32(), chunk = i32();
  const diagonal = i32(), out = i32(), limbsOut = i32(), pairsOut = i32(), backward = i32();
  /** Per column block of a group: the lanes' sums, and what flushes moved out of them (units of 2^14). */
  const blocks = Array.from({ length: GROUP }, () => ({ sum: v128(), carry: v128() }));
  // A row pair splat across the vector; scratch lanes; the two carry rounds' carries; the last block's limbs, and this one's.
  const row = v128(), lanes = v128(), carry1 = v128(), carry2 = v128(), previous = v128(), limbs = v128();
  const zero = (...locals: number[]) => locals.forEach((local) => f.i32x4(0).set(local));

  /** `sum += dot(row, vector(j))` for the first `width` blocks j of the group. */
  const dotRow = (width: number, vector: (j: number) => void) => {
    blocks.slice(0, width).forEach(({ sum }, j) => {
      f.get(sum).get(row);
      vector(j);
      f.i32x4DotI16x8S().i32x4Add().set(sum);
    });
  };
  /** Moves each lane's bits above the limb into its carry: the lane is then in [0, 2^14). */
  const flush = (width: number) => {
    blocks.slice(0, width).forEach(({ sum, carry }) => {
      f.get(sum).i32(LIMB_BITS).i32x4ShrS().get(carry).i32x4Add().set(carry);
      f.get(sum).i32x4((1 << LIMB_BITS) - 1).and().set(sum);
    });
  };
  /** `rows` turns of `turn` (none if `rows` is 0), flushing after every `flushEvery` turns. */
  const rowsLoop = (width: number, turn: () => void) => {
    f.block(() => f.loop(() => {
      f.get(rows).i32Eqz().brIf(1);
      f.get(rows).i32(l.flushEvery).get(rows).i32(l.flushEvery).i32LtS().select().set(chunk);
      f.get(rows).get(chunk).i32Sub().set(rows);
      f.loop(() => {
        turn();
        f.get(chunk).i32(1).i32Sub().tee(chunk).brIf(0);
      });
      flush(width);
      f.br(0);
    }));
  };
  /**
   * One carry round over four columns: the value on the stack (plus `carryIn`, in units of 2^14)
   * becomes a balanced limb, plus the carry of the column below, taken from `carry` (the previous
   * block's carries) and this block's. Leaves the new value on the stack.
   */
  const carryRound = (carry: number, carryIn?: () => void) => {
    f.i32x4(HALF).i32x4Add().set(lanes);
    f.get(carry).get(lanes).i32(LIMB_BITS).i32x4ShrS();
    if (carryIn) {
      carryIn();
      f.i32x4Add();
    }
    f.tee(carry).shuffle(FROM_BELOW);
    f.get(lanes).i32x4((1 << LIMB_BITS) - 1).and().i32x4(HALF).i32x4Sub().i32x4Add();
  };
  /** Two carry rounds: limbs within the bound laneBounds finds, into `limbs`. */
  const makeLimbs = (sum: () => void, carry: () => void) => {
    sum();
    carryRound(carry1, carry);
    carryRound(carry2);
    f.set(limbs);
  };

  const triangle = () => {
    f.i32(l.groups).set(group).i32(l.triangleGroups).set(left);
    f.loop(() => {
      f.get(group).i32Load(0).set(splat).get(group).i32Load(4).set(window).get(group).i32Load(8).set(rows);
      f.get(group).i32Load(12).tee(diagonal).i32(5).i32Shl().i32(l.columns).i32Add().set(out);
      zero(...blocks.flatMap(({ sum, carry }) => [sum, carry]));
      // Row pairs p below the group's first block: all four blocks are above the diagonal.
      rowsLoop(GROUP, () => {
        f.get(splat).load32Splat(0).set(row);
        dotRow(GROUP, (j) => f.get(window).v128Load(16 * j));
        f.step(splat, 4).step(window, -8);
      });
      // Flushed by the rows loop. Row pairs p = block + r: blocks j > r whole, the diagonal block j = r masked.
      f.get(diagonal).i32(2).i32Shl().i32(l.x).i32Add().set(splat);
      f.get(diagonal).i32(3).i32Shl().i32(l.pairs).i32Add().set(window);
      for (let r = 0; r < GROUP; r++) {
        f.get(splat).load32Splat(4 * r).set(row);
        blocks.slice(r).forEach(({ sum }, k) => {
          f.get(sum).get(row).get(window).v128Load(16 * (r + k) - 8 * r);
          if (k === 0) f.i16x8(UPPER).and();
          f.i32x4DotI16x8S().i32x4Add().set(sum);
        });
      }
      // Doubled, plus the squares: still within the lanes without a flush (laneBounds checks it).
      blocks.forEach(({ sum, carry }, j) => {
        f.get(splat).load32Splat(4 * j).tee(row).get(row).i16x8(SQUARES).and().i32x4DotI16x8S();
        f.get(sum).i32(1).i32x4Shl().i32x4Add().set(sum);
        f.get(carry).i32(1).i32x4Shl().set(carry);
      });
      flush(GROUP);
      blocks.forEach(({ sum, carry }, j) => {
        f.get(out).get(sum).v128Store(32 * j);
        f.get(out).get(carry).v128Store(32 * j + 16);
      });
      f.step(group, 16).get(left).i32(1).i32Sub().tee(left).brIf(0);
    });
  };

  /** Limbs from `blockCount` blocks of column sums at address `from`, in order: `store` takes each block's from `limbs`. */
  const limbsPass = (from: number, blockCount: number, store: () => void) => {
    zero(carry1, carry2, previous);
    f.i32(from).set(out).i32(blockCount).set(left);
    f.loop(() => {
      makeLimbs(() => f.get(out).v128Load(0), () => f.get(out).v128Load(16));
      store();
      f.step(out, 32).get(left).i32(1).i32Sub().tee(left).brIf(0);
    });
  };
  // x²'s columns from M up, into limbs; nothing carries in from below M (those columns stay sums).
  const highLimbs = () => {
    f.i32(l.high).set(limbsOut);
    limbsPass(l.columns + 8 * l.low, Math.ceil(l.highLimbs / 4), () => {
      f.get(limbsOut).get(limbs).get(limbs).i16x8NarrowI32x4S().store64Low(0);
      f.step(limbsOut, 8);
    });
  };
  /** The new x, four limbs at a time: as i16 limbs, and as pairs (x_t, x_(t−1)). */
  const storeLimbs = () => {
    f.get(limbsOut).get(limbs).get(limbs).i16x8NarrowI32x4S().store64Low(0);
    f.get(pairsOut).get(limbs).i32x4(0xffff).and();
    f.get(previous).get(limbs).shuffle(FROM_BELOW).i32(16).i32x4Shl().or().v128Store(0);
    f.get(limbs).set(previous);
    f.step(limbsOut, 8).step(pairsOut, 16);
  };
  const newLimbs = () => {
    f.i32(l.x).set(limbsOut).i32(l.pairs).set(pairsOut);
    limbsPass(l.columns, l.low / 4, storeLimbs);
    // Columns M and M + 1 hold only what carries out of the columns below.
    makeLimbs(() => f.i32x4(0), () => f.i32x4(0));
    storeLimbs();
  };

  /**
   * The fold adds Σ_j h_j·R_j to the column sums below M, a group of blocks at a time, from the
   * table's first row to its last or (backward) from its last to its first. Squarings alternate:
   * the table (45 KB at 2048 bits) and the rest do not quite fit a 48 KB L1 cache, and a pass in
   * the same order as the last one would find each line evicted just before it is needed.
   */
  const foldGroup = (width: number, backward: boolean) => {
    const direction = backward ? -1 : 1;
    blocks.slice(0, width).forEach(({ sum, carry }, j) => {
      f.get(out).v128Load(32 * j).set(sum);
      f.get(out).v128Load(32 * j + 16).set(carry);
    });
    f.i32(l.high + (backward ? 4 * (l.foldRows - 1) : 0)).set(splat).i32(l.foldRows).set(rows);
    rowsLoop(width, () => {
      f.get(splat).load32Splat(0).set(row);
      dotRow(width, (j) => f.get(window).v128Load(16 * j));
      f.step(splat, 4 * direction).step(window, 16 * width * direction);
    });
    blocks.slice(0, width).forEach(({ sum, carry }, j) => {
      f.get(out).get(sum).v128Store(32 * j);
      f.get(out).get(carry).v128Store(32 * j + 16);
    });
  };
  const fold = (backward: boolean) => {
    const whole = l.foldGroups.filter((g) => g.blocks === GROUP);
    const rest = l.foldGroups.find((g) => g.blocks !== GROUP);
    const lastRow = (group: { blocks: number; table: number }) => group.table + 16 * group.blocks * (l.foldRows - 1);
    const wholeGroups = () => {
      if (whole.length === 0) return;
      f.i32(whole.length).set(left);
      f.loop(() => {
        foldGroup(GROUP, backward);
        // Forward, the table runs on into the next group's rows; backward, into the last row of the group before.
        f.step(out, backward ? -32 * GROUP : 32 * GROUP).get(left).i32(1).i32Sub().tee(left).brIf(0);
      });
    };
    const restGroup = () => {
      if (!rest) return;
      f.i32(l.columns + 32 * GROUP * whole.length).set(out).i32(backward ? lastRow(rest) : rest.table).set(window);
      foldGroup(rest.blocks, backward);
    };
    if (!backward) {
      f.i32(l.columns).set(out).i32(whole[0]?.table ?? 0).set(window);
      wholeGroups();
      restGroup();
    } else {
      restGroup();
      const last = whole.at(-1);
      if (last) f.i32(l.columns + 32 * GROUP * (whole.length - 1)).set(out).i32(lastRow(last)).set(window);
      wholeGroups();
    }
  };

  f.loop(() => {
    triangle();
    highLimbs();
    f.get(backward).ifElse(() => fold(true), () => fold(false));
    newLimbs();
    f.get(backward).i32Eqz().set(backward);
    f.get(count).i32(1).i32Sub().tee(count).brIf(0);
  });
  return f;
}

/** Squarings per call into WebAssembly: short enough that V8 moves the code to its optimizing tier early. */
const SLICE = 512;
/** Compiled kernels of the last few moduli: a solver calls `prepare` for every slice of a puzzle. */
const compiled = new Map<bigint, (value: bigint, count: number) => bigint>();
const COMPILED_KEPT = 4;

function compile(modulus: bigint): (value: bigint, count: number) => bigint {
  const l = squaringLayout(bitLength(modulus));
  const body = kernelBody(l);
  const bytes = encodeModule({ pages: l.pages, locals: body.localDeclarations(), body: body.code });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  const { run, memory } = instance.exports as { run: (count: number) => void; memory: WebAssembly.Memory };
  const view = new DataView(memory.buffer);
  writeTables(view, l, modulus);
  return (value, count) => {
    writeValue(view, l, ((value % modulus) + modulus) % modulus);
    for (let done = 0; done < count; done += SLICE) run(Math.min(SLICE, count - done));
    const result = readValue(view, l) % modulus;
    return result < 0n ? result + modulus : result;
  };
}

function prepareWasm(modulus: bigint): (value: bigint, count: number) => bigint {
  let square = compiled.get(modulus);
  if (!square) {
    square = compile(modulus);
    compiled.set(modulus, square);
    for (const old of compiled.keys()) if (compiled.size > COMPILED_KEPT) compiled.delete(old);
  }
  return square;
}

/** The WebAssembly kernel; `prepare` throws where WebAssembly SIMD is missing (see `fastestSquaring`). */
export const wasmSquaring: SquaringKernel = { prepare: prepareWasm };

let simdSupported: boolean | undefined;

/** The WebAssembly kernel where the runtime has WebAssembly SIMD (Node 16.4+, current browsers), else BigInt. */
export function fastestSquaring(fallback: SquaringKernel): SquaringKernel {
  simdSupported ??= typeof WebAssembly === 'object' && WebAssembly.validate(encodeModule({ pages: 1, locals: [[1, ValueType.v128]], body: [] }));
  return simdSupported ? wasmSquaring : fallback;
}
