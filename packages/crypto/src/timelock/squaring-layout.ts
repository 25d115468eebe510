/**
 * @module The numbers of the WebAssembly squaring kernel (wasm-squaring.ts): their limbs, where
 * they live in the module's memory, the precomputed tables, and the bounds that keep every 32-bit
 * lane exact. Plain arithmetic, no WebAssembly: the bounds are checked here for each modulus size.
 */

/**
 * Bits per limb. A `pmaddwd` lane sums two products of balanced 14-bit limbs (below 2^27 each), so
 * it takes 15 dot products before a flush; 15-bit limbs would allow 3, and flushes would cost more
 * than the fewer limbs save.
 */
export const LIMB_BITS = 14;
/** Limbs are balanced, in [−HALF, HALF) (plus a small carry), so products are half as large. */
export const HALF = 1 << (LIMB_BITS - 1);
/** Column blocks (one i32x4 of four columns each) that one pass accumulates at once: four sums and their carries stay in x64's sixteen vector registers. */
export const GROUP = 4;
const I32_MAX = 2 ** 31 - 1;

export interface Layout {
  /** Columns kept below the fold (M, a multiple of 4, above N's limbs), limbs of x (n = M + 2). */
  low: number;
  limbs: number;
  /** Groups of column blocks in x²'s triangle; limbs of x²'s part above `low` after its carries. */
  triangleGroups: number;
  highLimbs: number;
  /** Pairs of high limbs the fold runs over, and its groups of column blocks. */
  foldRows: number;
  foldGroups: { blocks: number; table: number }[];
  /** Dot products a lane takes between two flushes. */
  flushEvery: number;
  /** Byte addresses: limbs of x (i16); pairs (x_t, x_(t−1)) as i32 words; x²'s high limbs (i16); column sums (sum and carry, i32x4 each, per block); the triangle's group table. */
  x: number;
  pairs: number;
  high: number;
  columns: number;
  groups: number;
  pages: number;
}

/**
 * The largest |limb| after two carry rounds and the dot products a lane can take between flushes,
 * found by iterating to a fixed point: larger limbs make larger column sums, whose carries make the
 * limbs larger. Every lane stays below 2^31 including the rounding bias the carry rounds add.
 */
export function laneBounds(limbs: number, foldRows: number): { flushEvery: number; limbBound: number } {
  for (let limb = HALF; ; ) {
    const pair = 2 * limb * limb;
    const flushEvery = Math.floor((I32_MAX - 2 ** LIMB_BITS - HALF) / pair);
    // A column of x² has at most `limbs` products; the fold adds a product of a limb and a table entry (below HALF) per row.
    const column = limbs * limb * limb + foldRows * 2 * limb * HALF;
    // Its carry part: (column − lane) / 2^14 with the lane below 2^31 in magnitude.
    const carry = Math.ceil((column + 2 ** 31) / 2 ** LIMB_BITS);
    const firstCarry = 2 ** (31 - LIMB_BITS) + carry;
    const secondCarry = Math.ceil((2 * HALF + firstCarry) / 2 ** LIMB_BITS);
    if (HALF + secondCarry <= limb) {
      // The triangle's diagonal rows (up to GROUP dot products after a flush) are doubled and get the squares' dot product before the next flush.
      if (2 ** (LIMB_BITS + 1) + (2 * GROUP + 1) * pair > I32_MAX - HALF) throw new RangeError('a modulus this large overflows the kernel’s 32-bit lanes');
      return { flushEvery, limbBound: limb };
    }
    limb = HALF + secondCarry;
  }
}

export function squaringLayout(modulusBits: number): Layout {
  const modulusLimbs = Math.ceil(modulusBits / LIMB_BITS);
  // One limb above N's, so a table entry (below N) always has a balanced form in `low` limbs.
  const low = 4 * Math.ceil((modulusLimbs + 1) / 4);
  const limbs = low + 2;
  const triangleGroups = Math.ceil((2 * limbs - 1) / (4 * GROUP));
  // x² has columns up to 2n − 2; two carry rounds move carries two columns further.
  const highLimbs = 2 * limbs + 1 - low;
  const foldRows = Math.ceil(highLimbs / 2);
  const highBlocks = Math.ceil(highLimbs / 4);
  let offset = 0;
  const take = (bytes: number) => {
    const at = offset;
    offset += Math.ceil(bytes / 64) * 64;
    return at;
  };
  // The triangle's last groups read splats and windows past x's top limb: they must find zeros.
  const reach = 4 * GROUP * triangleGroups + 4 * GROUP + 16;
  const x = take(2 * reach);
  const pairs = take(4 * reach);
  const high = take(8 * highBlocks);
  const columns = take(32 * Math.max(GROUP * triangleGroups, low / 4 + highBlocks));
  const groups = take(16 * triangleGroups);
  // One table, group after group, so the fold's pointer runs from each group's rows into the next's.
  const table = take(16 * foldRows * (low / 4));
  const foldGroups: { blocks: number; table: number }[] = [];
  for (let block = 0; block < low / 4; block += GROUP) {
    foldGroups.push({ blocks: Math.min(GROUP, low / 4 - block), table: table + 16 * foldRows * block });
  }
  return {
    low, limbs, triangleGroups, highLimbs, foldRows, foldGroups, flushEvery: laneBounds(limbs, foldRows).flushEvery,
    x, pairs, high, columns, groups, pages: Math.ceil(offset / 65536),
  };
}

/** `value` as `count` balanced limbs, least significant first; throws a RangeError when it does not fit. */
export function balancedLimbs(value: bigint, count: number): number[] {
  const limbs: number[] = [];
  let rest = value;
  for (let i = 0; i < count; i++) {
    const limb = Number(BigInt.asIntN(LIMB_BITS, rest));
    limbs.push(limb);
    rest = (rest - BigInt(limb)) >> BigInt(LIMB_BITS);
  }
  if (rest !== 0n) throw new RangeError(`integer does not fit in ${count} limbs`);
  return limbs;
}

/**
 * The precomputed parts, written once per modulus: for each triangle group, where its rows start
 * and how many there are; and the fold's table, R_j = 2^(14(M+j)) mod N as balanced limbs, laid
 * out so a row's pair of entries (R_2p[k], R_(2p+1)[k]) for four columns k is one vector.
 */
export function writeTables(view: DataView, l: Layout, modulus: bigint): void {
  for (let group = 0; group < l.triangleGroups; group++) {
    const block = group * GROUP;
    // Row pair p reaches column 4·block only if 4·block − 2p ≤ n; it stays in the triangle (p < block).
    const first = Math.max(0, Math.ceil((4 * block - l.limbs) / 2));
    const last = Math.min(block - 1, Math.floor((l.limbs - 1) / 2));
    const at = l.groups + 16 * group;
    view.setInt32(at, l.x + 4 * first, true);
    view.setInt32(at + 4, l.pairs + 4 * (4 * block - 2 * first), true);
    view.setInt32(at + 8, Math.max(0, last - first + 1), true);
    view.setInt32(at + 12, block, true);
  }
  for (let j = 0; j < 2 * l.foldRows; j++) {
    const residue = balancedLimbs((1n << BigInt(LIMB_BITS * (l.low + j))) % modulus, l.low);
    let column = 0;
    for (const { blocks, table } of l.foldGroups) {
      for (let k = 0; k < 4 * blocks; k++, column++) {
        view.setInt16(table + 16 * blocks * (j >> 1) + 4 * k + 2 * (j & 1), residue[column] ?? 0, true);
      }
    }
  }
}

/** Puts x (balanced limbs) where the kernel reads it: the limbs, and the pairs (x_t, x_(t−1)), zeros above. */
export function writeValue(view: DataView, l: Layout, value: bigint): void {
  const limbs = balancedLimbs(value, l.limbs);
  for (let t = 0; t < l.limbs + 2; t++) {
    view.setInt16(l.x + 2 * t, limbs[t] ?? 0, true);
    view.setInt16(l.pairs + 4 * t, limbs[t] ?? 0, true);
    view.setInt16(l.pairs + 4 * t + 2, limbs[t - 1] ?? 0, true);
  }
}

/** x as the kernel left it; congruent to the result mod N, not reduced. */
export function readValue(view: DataView, l: Layout): bigint {
  let value = 0n;
  for (let t = l.limbs - 1; t >= 0; t--) value = (value << BigInt(LIMB_BITS)) + BigInt(view.getInt16(l.x + 2 * t, true));
  return value;
}
