/** The browser bundle: built by Vite from packages/web, free of server code, and split so the shell paints first. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/harness.js';
import { buildWebClient } from './support.js';

/** Strings that only server-side code contains: its dependencies, Node built-ins, server modules. */
const SERVER_MARKERS: [string, RegExp][] = [
  ['better-sqlite3', /better-sqlite3|better_sqlite3/],
  ['kysely', /kysely/i],
  ['pino', /\bpino\b/],
  ['pg', /pg-pool|pg-protocol|pgpass/],
  ['ioredis', /ioredis/],
  ['ws (the Node WebSocket server)', /WebSocketServer|perMessageDeflate/],
  ['a node: built-in', /["'`]node:[a-z_/]+["'`]/],
  // Imported or required, not any string: a link finder's "http" and "https" schemes are no Node modules.
  ['a Node-only module', /(?:from|require\(|import\()\s*["'`](fs|fs\/promises|net|http|https|child_process|worker_threads)["'`]/],
  ['the server package', /@parley\/server|AccountService|loadOrCreateServerKeys|registration record store/],
  ['the Node SDK adapters', /DirectoryProfileStore|SqliteClientStore|nodeSocketFactory/],
];

const WEB_SRC = fileURLToPath(new URL('../../packages/web/src', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? files(join(dir, entry.name)) : [join(dir, entry.name)]));
}

describe('the web bundle', () => {
  const dir = tempDir('web-bundle');
  const dist = join(dir.path, 'dist');
  let built: string[] = [];

  beforeAll(async () => {
    await buildWebClient(dist);
    built = files(dist);
  }, 120_000);
  afterAll(() => dir.remove());

  it('is built from sources that reach the SDK only through @parley/client, and nothing Node-only', () => {
    const violations: string[] = [];
    for (const file of files(WEB_SRC).filter((path) => /\.tsx?$/.test(path))) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
        const specifier = match[1] ?? '';
        const where = relative(WEB_SRC, file);
        // Test kits (never in the bundle) may also run the SDK's store conformance suite.
        const allowed = file.endsWith('.testkit.ts') ? ['@parley/client', '@parley/client/conformance'] : ['@parley/client'];
        if (specifier.startsWith('@parley/') && !allowed.includes(specifier)) violations.push(`${where} imports ${specifier}`);
        if (/^(node:|ws$|better-sqlite3|pino|kysely|pg$|ioredis)/.test(specifier)) violations.push(`${where} imports ${specifier}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('contains no server code', () => {
    const scripts = built.filter((file) => /\.(js|mjs|html)$/.test(file));
    expect(scripts.length).toBeGreaterThan(1);
    const found: string[] = [];
    for (const file of scripts) {
      const text = readFileSync(file, 'utf8');
      for (const [what, pattern] of SERVER_MARKERS) if (pattern.test(text)) found.push(`${what} in ${file.slice(dist.length)}`);
    }
    expect(found).toEqual([]);
  });

  it('paints the shell before the SDK loads: OPAQUE, MLS and the Noise channel live in a chunk of their own', () => {
    const html = readFileSync(join(dist, 'index.html'), 'utf8');
    const entry = /<script type="module" crossorigin src="(\/assets\/[^"]+\.js)"><\/script>/.exec(html)?.[1];
    expect(entry).toBeDefined();
    const entryCode = readFileSync(join(dist, entry ?? ''), 'utf8');
    // OPAQUE's WASM ships inlined as base64: "AGFzbQ" is the base64 of the WASM magic number.
    expect(entryCode).not.toContain('AGFzbQ');
    expect(entryCode).not.toMatch(/Noise_NX|MLS 1\.0/);
    const sdk = built.filter((file) => file.endsWith('.js') && readFileSync(file, 'utf8').includes('AGFzbQ'));
    expect(sdk).toHaveLength(1);
    expect(entryCode).toMatch(/import\(/);

    // Recorded for the report (sizes are not asserted: that is what the page-load figures are for).
    const sizes = Object.fromEntries(
      built
        .filter((file) => /\.(js|css|html)$/.test(file))
        .map((file) => [file.slice(dist.length), { bytes: statSync(file).size, gzip: gzipSync(readFileSync(file)).byteLength }]),
    );
    console.info(`web bundle sizes: ${JSON.stringify(sizes)}`);
  });
});
