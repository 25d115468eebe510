/**
 * @module The little of the WebAssembly binary format (WebAssembly Core Specification 2.0, §5)
 * that the squaring kernel needs: LEB128 integers, and a module of one exported function
 * `run(i32)` plus its own exported memory.
 */

/** Unsigned LEB128 (§5.2.2). */
export function uleb(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  do {
    let byte = rest & 0x7f;
    rest = Math.floor(rest / 128);
    if (rest !== 0) byte |= 0x80;
    out.push(byte);
  } while (rest !== 0);
  return out;
}

/** Signed LEB128 (§5.2.2). */
export function sleb(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  for (;;) {
    const byte = rest & 0x7f;
    rest = Math.floor(rest / 128);
    if ((rest === 0 && (byte & 0x40) === 0) || (rest === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

const vector = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];
const name = (text: string): number[] => vector([...new TextEncoder().encode(text)].map((byte) => [byte]));

export const ValueType = { i32: 0x7f, i64: 0x7e, v128: 0x7b } as const;

/**
 * A module with memory of `pages` 64 KiB pages exported as `memory`, and one function `run(i32)`
 * with the given locals (after its parameter) and body (without the final `end`).
 */
export function encodeModule(options: { pages: number; locals: [count: number, type: number][]; body: number[] }): Uint8Array<ArrayBuffer> {
  const code = [...vector(options.locals.map(([count, type]) => [...uleb(count), type])), ...options.body, 0x0b];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector([[0x60, ...vector([[ValueType.i32]]), ...vector([])]])),
    ...section(3, vector([[0]])),
    ...section(5, vector([[0x00, ...uleb(options.pages)]])),
    ...section(7, vector([[...name('run'), 0x00, 0], [...name('memory'), 0x02, 0]])),
    ...section(10, vector([[...uleb(code.length), ...code]])),
  ]);
}
