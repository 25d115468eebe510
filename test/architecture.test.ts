import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import madge from 'madge';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const packagesDir = join(root, 'packages');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' || name === 'dist' ? [] : sourceFiles(path);
    return /\.tsx?$/.test(path) && !path.endsWith('.d.ts') ? [path] : [];
  });
}

// DESIGN §3: protocol ← crypto ← client ← (cli, web); protocol ← crypto ← server ← cli.
// Besides its index, a package may publish one Node-only entry: its Node adapters.
const nodeEntries = ['@parley/client/node', '@parley/crypto/node'];
const allowed: Record<string, string[]> = {
  protocol: [],
  crypto: ['protocol'],
  server: ['protocol', 'crypto'],
  client: ['protocol', 'crypto'],
  cli: ['protocol', 'crypto', 'server', 'client'],
  web: ['client'],
};

// The SDK's entries besides its index: Node adapters, and the store conformance suite adapters run.
const clientSubpaths = ['/node', '/conformance'];

// Inside the SDK, folders by capability (README, Architecture): the connection and the store
// depend on no other folder; trust builds on them; account and conversations on those three;
// node/ adapts the store and the connection to Node. Only index.ts and client.ts compose them all.
const clientLayers: Record<string, string[]> = {
  connection: [],
  store: [],
  trust: ['connection', 'store'],
  account: ['connection', 'store', 'trust'],
  conversations: ['connection', 'store', 'trust'],
  // Direct sessions (DESIGN §9) carry conversations' MLS messages over a data channel.
  direct: ['connection', 'store', 'trust', 'conversations'],
  // The Node adapters: sockets and stores, and the werift data channel for direct sessions.
  node: ['connection', 'store', 'direct'],
};
const clientSrc = join(packagesDir, 'client', 'src');

describe('architecture', () => {
  it('has no import cycles', async () => {
    const result = await madge(packagesDir, {
      fileExtensions: ['ts', 'tsx'],
      excludeRegExp: [/node_modules/, /dist\//, /\.d\.ts$/],
      tsConfig: join(root, 'tsconfig.base.json'),
      detectiveOptions: { ts: { skipTypeImports: true } },
    });
    expect(Object.keys(result.obj()).length).toBeGreaterThan(30);
    expect(result.circular()).toEqual([]);
  });

  it('packages import each other only in the allowed direction, and only through their public entry', () => {
    const violations: string[] = [];
    for (const [pkg, deps] of Object.entries(allowed)) {
      for (const file of sourceFiles(join(packagesDir, pkg, 'src'))) {
        const text = readFileSync(file, 'utf8');
        for (const match of text.matchAll(/from '(@parley\/[a-z]+)(\/[^']*)?'/g)) {
          const target = (match[1] ?? '').slice('@parley/'.length);
          const subpath = match[2] ?? '';
          const where = relative(root, file);
          if (!deps.includes(target)) violations.push(`${where} imports @parley/${target}`);
          if (subpath && !(target === 'client' && clientSubpaths.includes(subpath)) && !nodeEntries.includes(`@parley/${target}${subpath}`)) {
            violations.push(`${where} reaches into @parley/${target}${subpath}`);
          }
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it('keeps the SDK in capability folders that import only the folders below them', () => {
    const violations: string[] = [];
    for (const file of sourceFiles(clientSrc)) {
      const [folder, ...rest] = relative(clientSrc, file).split('/');
      if (rest.length === 0) {
        if (!['index.ts', 'client.ts'].includes(folder ?? '')) violations.push(`${relative(root, file)} is outside the capability folders`);
        continue;
      }
      const allowedFolders = clientLayers[folder ?? ''];
      if (!allowedFolders) {
        violations.push(`${relative(root, file)} is in no known folder`);
        continue;
      }
      for (const match of readFileSync(file, 'utf8').matchAll(/from '(\.{1,2}\/[^']*)'/g)) {
        const target = relative(clientSrc, join(dirname(file), match[1] ?? '')).split('/')[0] ?? '';
        if (target !== folder && !allowedFolders.includes(target)) violations.push(`${relative(root, file)} imports ${match[1]} (${folder}/ may use ${allowedFolders.join(', ') || 'no other folder'})`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('imports ioredis, pg and better-sqlite3 only in the adapter files named for them (STYLE §4)', () => {
    const adapters: [RegExp, RegExp][] = [
      [/from 'ioredis'/, /redis[^/]*\.ts$/],
      [/from 'pg'/, /postgres[^/]*\.ts$/],
      [/from 'better-sqlite3'/, /sqlite[^/]*\.ts$/],
    ];
    const offenders = Object.keys(allowed)
      .flatMap((pkg) => sourceFiles(join(packagesDir, pkg, 'src')))
      .filter((file) => !file.endsWith('.test.ts'))
      .flatMap((file) => {
        const text = readFileSync(file, 'utf8');
        return adapters.filter(([dependency, name]) => dependency.test(text) && !name.test(file)).map(([dependency]) => `${relative(root, file)}: ${dependency.source}`);
      });
    expect(offenders).toEqual([]);
  });

  it('keeps heavy Node-only dependencies out of the isomorphic packages', () => {
    const nodeOnly = /from '(ws|better-sqlite3|pino|kysely|pg|ioredis|node:[a-z/]+)'/;
    const offenders = ['protocol', 'crypto', 'client', 'web']
      .flatMap((pkg) => sourceFiles(join(packagesDir, pkg, 'src')))
      // Node adapters live in the SDK's node/ folder and in crypto's node.ts, reached only through @parley/client/node and @parley/crypto/node.
      .filter((file) => !file.endsWith('.test.ts') && !file.startsWith(join(clientSrc, 'node') + '/') && !file.endsWith(join('crypto', 'src', 'node.ts')))
      .filter((file) => nodeOnly.test(readFileSync(file, 'utf8')))
      .map((file) => relative(root, file));
    expect(offenders).toEqual([]);
  });
});
