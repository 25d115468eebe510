/**
 * The time-lock squaring kernel in a real browser: Chromium runs the WebAssembly the kernel
 * generates, in the page and in a Web Worker (where the web client solves), with its default
 * settings, and must agree with BigInt here. Its speed there is recorded, not asserted.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, RESULTS_DIR } from './support.js';

const SOURCES = fileURLToPath(new URL('../../packages/crypto/src/timelock/', import.meta.url));

/** In the browser: value^(2^count) mod modulus (hex) by the kernel `fastestSquaring` picks there; it must not fall back. */
const SQUARE = `
import { fastestSquaring } from '/timelock/wasm-squaring.js';
const unavailable = { prepare: () => { throw new Error('no WebAssembly SIMD'); } };
export const square = (modulus, value, count) => fastestSquaring(unavailable).prepare(BigInt('0x' + modulus))(BigInt('0x' + value), count).toString(16);
`;
const WORKER = "import { square } from '/square.js'; onmessage = (event) => postMessage(square(...event.data));";

/** Serves an empty page, `square` for the page and a worker, and the kernel's modules compiled from the sources as they are now. */
function serveKernel(): Promise<Server> {
  const server = createServer((request, response) => {
    const url = request.url ?? '';
    const module = /^\/timelock\/([\w-]+)\.js$/.exec(url)?.[1];
    response.setHeader('content-type', url === '/' ? 'text/html' : 'text/javascript');
    if (url === '/') response.end('<!doctype html><title>kernel</title>');
    else if (url === '/square.js') response.end(SQUARE);
    else if (url === '/worker.js') response.end(WORKER);
    else if (module) {
      const source = readFileSync(join(SOURCES, `${module}.ts`), 'utf8');
      response.end(ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText);
    } else {
      response.statusCode = 404;
      response.end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** A script for `page.evaluate`, as text: Vitest would rewrite `import()` in a function. */
const inPageSquare = (args: readonly (string | number)[]) => `import('/square.js').then(({ square }) => square(...${JSON.stringify(args)}))`;

const random = (bits: number) => BigInt(`0x${randomBytes(bits / 8).toString('hex')}`);
const reference = (modulus: bigint, value: bigint, count: number) => {
  let result = value;
  for (let i = 0; i < count; i++) result = (result * result) % modulus;
  return result;
};

describe('time-lock squaring kernel in Chromium', () => {
  let server: Server;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    server = await serveKernel();
    browser = await launchChromium();
    page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('agrees with BigInt in the page and in a Web Worker', async () => {
    for (const bits of [2048, 4096]) {
      const modulus = random(bits) | (1n << BigInt(bits - 1)) | 1n;
      const value = random(bits) % modulus;
      const args = [modulus.toString(16), value.toString(16), 2_000] as const;
      const expected = reference(modulus, value, 2_000).toString(16);
      const inPage = await page.evaluate(inPageSquare(args));
      const inWorker = await page.evaluate(
        (args) =>
          new Promise((resolve, reject) => {
            const worker = new Worker('/worker.js', { type: 'module' });
            worker.onmessage = (event) => resolve(event.data);
            worker.onerror = (event) => reject(new Error(event.message));
            worker.postMessage(args);
          }),
        args,
      );
      expect(inPage, `${bits} bits in the page`).toBe(expected);
      expect(inWorker, `${bits} bits in a worker`).toBe(expected);
    }
  }, 60_000);

  it('records its speed in CPU time of the page thread', async () => {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const threadTime = async () => (await cdp.send('Performance.getMetrics')).metrics.find((metric) => metric.name === 'ThreadTime')?.value ?? NaN;
    const modulus = random(2048) | (1n << 2047n) | 1n;
    const args = [modulus.toString(16), (random(2048) % modulus).toString(16)];
    const squareFor = (count: number) => page.evaluate(inPageSquare([...args, count]));
    await squareFor(5_000);
    const squarings = 200_000;
    const before = await threadTime();
    await squareFor(squarings);
    const seconds = (await threadTime()) - before;
    const result = { browser: `Chromium ${browser.version()}`, modulusBits: 2048, squarings, squaringsPerSecond: Math.round(squarings / seconds) };
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(join(RESULTS_DIR, 'timelock-kernel-chromium.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log(`time-lock kernel in ${result.browser}: ${result.squaringsPerSecond.toLocaleString('en')} 2048-bit squarings/s (CPU time)`);
    expect(seconds).toBeGreaterThan(0);
  }, 60_000);
});
