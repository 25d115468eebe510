/**
 * @module Static files for the web client (packages/web/dist) at `/`. Only files found under the
 * root when it was scanned are ever served (a lookup table, so no path can climb out of it);
 * paths that look like client routes get index.html. Hashed assets are cached for a year,
 * everything else is revalidated (RFC 9111 §5.2.2). Compressible files are sent gzipped once
 * compressed (cached in memory, keyed by modification time).
 */
import { createReadStream, readdirSync, statSync, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';

const gzip = promisify(gzipCallback);

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.map', '.webmanifest', '.txt', '.svg', '.wasm']);
const MIN_COMPRESS_BYTES = 1024;

/** Vite names built assets `name-<hash>.ext`: their content never changes under that name. */
const HASHED_ASSET = /^\/assets\/.+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

/**
 * The page may load script, style and WASM only from this origin and connect only back to it:
 * end-to-end encryption is only as good as the code the page runs.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Paths the server itself answers; never a client route. */
const SERVER_PATHS = /^\/(v\d+\/|healthz$|metrics$)/;
const RESCAN_AFTER_MS = 2_000;

export type StaticHandler = (request: IncomingMessage, response: ServerResponse) => boolean;

function scan(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string, prefix: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      // Dotfiles are never served; neither are symlinks, which could point outside the root.
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path, `${prefix}${entry.name}/`);
      else if (entry.isFile()) files.set(`${prefix}${entry.name}`, path);
    }
  };
  walk(root, '/');
  return files;
}

function decodePath(url: string | undefined): string | undefined {
  try {
    const pathname = new URL(url ?? '/', 'http://localhost').pathname;
    const decoded = decodeURIComponent(pathname);
    return decoded.includes('\0') ? undefined : decoded;
  } catch {
    return undefined;
  }
}

/**
 * A request handler serving the files under `rootDir`. It returns false for requests it leaves to
 * the caller (not GET or HEAD, a server path, or a missing file that is not a client route), and
 * true once it has taken the response.
 */
export function serveStatic(rootDir: string, options: { rescanAfterMs?: number } = {}): StaticHandler {
  const root = resolve(rootDir);
  const rescanAfterMs = options.rescanAfterMs ?? RESCAN_AFTER_MS;
  let files = new Map<string, string>();
  let scannedAt = 0;
  const rescan = () => {
    scannedAt = Date.now();
    try {
      files = statSync(root).isDirectory() ? scan(root) : new Map();
    } catch {
      files = new Map();
    }
  };
  rescan();
  const compressed = new Map<string, { mtimeMs: number; body: Promise<Buffer> }>();

  const lookup = (path: string): string | undefined => {
    let file = files.get(path) ?? (path.endsWith('/') ? files.get(`${path}index.html`) : undefined);
    // A rebuilt bundle has new file names: look again, at most every couple of seconds.
    if (!file && Date.now() - scannedAt >= rescanAfterMs) {
      rescan();
      file = files.get(path) ?? (path.endsWith('/') ? files.get(`${path}index.html`) : undefined);
    }
    return file;
  };

  const gzipped = (file: string, stats: Stats): Promise<Buffer> => {
    const cached = compressed.get(file);
    if (cached && cached.mtimeMs === stats.mtimeMs) return cached.body;
    const body = readFile(file).then((content) => gzip(content, { level: 9 }));
    compressed.set(file, { mtimeMs: stats.mtimeMs, body });
    body.catch(() => compressed.delete(file));
    return body;
  };

  const send = async (request: IncomingMessage, response: ServerResponse, path: string, file: string, isFallback: boolean): Promise<void> => {
    let stats: Stats;
    try {
      stats = await stat(file);
    } catch {
      rescan();
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    const ext = extname(file).toLowerCase();
    const isHtml = ext === '.html';
    const etag = `W/"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
    const headers: Record<string, string> = {
      'content-type': CONTENT_TYPES[ext] ?? 'application/octet-stream',
      'cache-control': !isFallback && HASHED_ASSET.test(path) ? IMMUTABLE : REVALIDATE,
      etag,
      'last-modified': stats.mtime.toUTCString(),
      'x-content-type-options': 'nosniff',
      vary: 'accept-encoding',
    };
    if (isHtml) {
      headers['content-security-policy'] = CONTENT_SECURITY_POLICY;
      headers['referrer-policy'] = 'no-referrer';
      headers['x-frame-options'] = 'DENY';
    }
    if (request.headers['if-none-match'] === etag) {
      response.writeHead(304, headers).end();
      return;
    }
    const acceptsGzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
    if (acceptsGzip && COMPRESSIBLE.has(ext) && stats.size >= MIN_COMPRESS_BYTES) {
      const body = await gzipped(file, stats);
      response.writeHead(200, { ...headers, 'content-encoding': 'gzip', 'content-length': String(body.byteLength) });
      response.end(request.method === 'HEAD' ? undefined : body);
      return;
    }
    response.writeHead(200, { ...headers, 'content-length': String(stats.size) });
    if (request.method === 'HEAD') {
      response.end();
      return;
    }
    const stream = createReadStream(file);
    stream.on('error', () => response.destroy());
    stream.pipe(response);
  };

  return (request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return false;
    const path = decodePath(request.url);
    if (path === undefined) {
      response.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' }).end('bad path\n');
      return true;
    }
    if (SERVER_PATHS.test(path)) return false;
    let file = lookup(path);
    let isFallback = false;
    if (!file) {
      // A client route (no file extension, not under /assets/) gets the app, which routes itself.
      const last = path.slice(path.lastIndexOf('/') + 1);
      if (path.startsWith('/assets/') || last.includes('.')) return false;
      file = files.get('/index.html');
      isFallback = true;
      if (!file) return false;
    }
    send(request, response, path, file, isFallback).catch(() => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('cannot read file\n');
      else response.destroy();
    });
    return true;
  };
}
