import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, serveStatic } from './static.js';

const base = mkdtempSync(join(tmpdir(), 'parley-static-'));
const root = join(base, 'dist');
const INDEX = '<!doctype html><title>Parley</title><script type="module" src="/assets/index-AbCdEf12.js"></script>';
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(4000))});`;

let server: Server;
let origin = '';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

// Raw requests, so paths reach the server exactly as written (no client-side normalization).
function get(path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const url = new URL(origin);
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  mkdirSync(join(root, 'assets'), { recursive: true });
  writeFileSync(join(root, 'index.html'), INDEX);
  writeFileSync(join(root, 'assets', 'index-AbCdEf12.js'), SCRIPT);
  writeFileSync(join(root, 'assets', 'index-ZyXwVu98.css'), 'body{margin:0}');
  writeFileSync(join(root, 'assets', 'opaque-Qq11Ww22.wasm'), Buffer.from([0, 97, 115, 109, 1, 0, 0, 0]));
  writeFileSync(join(root, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(root, '.env'), 'SECRET=1');
  writeFileSync(join(base, 'secret.txt'), 'outside the root');
  symlinkSync(join(base, 'secret.txt'), join(root, 'linked.txt'));

  const handle = serveStatic(root, { rescanAfterMs: 0 });
  server = createServer((req, res) => {
    if (!handle(req, res)) res.writeHead(404, { 'content-type': 'text/plain' }).end('server 404\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(base, { recursive: true, force: true });
});

describe('serveStatic', () => {
  it('serves index.html at / with a content type, revalidation and a content security policy', async () => {
    const reply = await get('/');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(reply.headers['cache-control']).toBe('no-cache');
    expect(reply.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(reply.headers['x-content-type-options']).toBe('nosniff');
    expect(reply.body.toString()).toBe(INDEX);
  });

  it('serves hashed assets with their types, cached for a year', async () => {
    const script = await get('/assets/index-AbCdEf12.js');
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(script.body.toString()).toBe(SCRIPT);
    expect((await get('/assets/index-ZyXwVu98.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await get('/assets/opaque-Qq11Ww22.wasm')).headers['content-type']).toBe('application/wasm');
    const icon = await get('/favicon.svg');
    expect(icon.headers['content-type']).toBe('image/svg+xml');
    expect(icon.headers['cache-control']).toBe('no-cache');
  });

  it('sends gzip to clients that accept it', async () => {
    const reply = await get('/assets/index-AbCdEf12.js', { headers: { 'accept-encoding': 'gzip, deflate, br' } });
    expect(reply.headers['content-encoding']).toBe('gzip');
    expect(Number(reply.headers['content-length'])).toBe(reply.body.byteLength);
    expect(reply.body.byteLength).toBeLessThan(SCRIPT.length);
    expect(gunzipSync(reply.body).toString()).toBe(SCRIPT);
  });

  it('answers a matching ETag with 304 and HEAD with headers only', async () => {
    const first = await get('/');
    const etag = String(first.headers.etag);
    expect((await get('/', { headers: { 'if-none-match': etag } })).status).toBe(304);
    const head = await get('/assets/index-AbCdEf12.js', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(SCRIPT.length));
    expect(head.body.byteLength).toBe(0);
  });

  it('gives client routes the app, and leaves missing files and server paths to the caller', async () => {
    const route = await get('/chats/alice');
    expect(route.status).toBe(200);
    expect(route.body.toString()).toBe(INDEX);
    expect(route.headers['cache-control']).toBe('no-cache');
    expect((await get('/missing.js')).body.toString()).toBe('server 404\n');
    expect((await get('/assets/gone-12345678.js')).body.toString()).toBe('server 404\n');
    expect((await get('/assets/page')).body.toString()).toBe('server 404\n');
    expect((await get('/healthz')).body.toString()).toBe('server 404\n');
    expect((await get('/metrics')).body.toString()).toBe('server 404\n');
    expect((await get('/v1/ws')).body.toString()).toBe('server 404\n');
    expect((await get('/', { method: 'POST' })).body.toString()).toBe('server 404\n');
  });

  it('never serves anything outside the root, dotfiles or symlinks', async () => {
    for (const path of ['/../secret.txt', '/assets/../../secret.txt', '/%2e%2e/secret.txt', '/assets%2F..%2F..%2Fsecret.txt', '/..%5Csecret.txt', '/.env', '/linked.txt']) {
      const reply = await get(path);
      expect(reply.body.toString(), path).not.toContain('outside the root');
      expect(reply.body.toString(), path).not.toContain('SECRET');
    }
    expect((await get('/%00')).status).toBe(400);
    expect((await get('/%E0%A4%A')).status).toBe(400);
  });

  it('finds files of a rebuilt bundle', async () => {
    writeFileSync(join(root, 'assets', 'index-NewHash99.js'), 'export {};');
    const reply = await get('/assets/index-NewHash99.js');
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe('export {};');
  });

  it('serves nothing when the root does not exist', async () => {
    const handle = serveStatic(join(base, 'no-such-dir'));
    const other = createServer((req, res) => {
      if (!handle(req, res)) res.writeHead(404).end('fallthrough');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const port = (other.address() as AddressInfo).port;
    const body = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
    await new Promise<void>((resolve) => other.close(() => resolve()));
    expect(body).toBe('fallthrough');
  });
});
