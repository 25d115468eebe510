/** A Parley server in a child process, configured like `startServer` (test/dos: its memory and CPU are its own). */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ServerConfig } from '@parley/server';
import { metric, scrapeMetrics } from './abuse.js';
import { tempDir } from './harness.js';

const RUNNER = fileURLToPath(new URL('./serve-child.mjs', import.meta.url));

export interface ServerProcess {
  url: string;
  fingerprint: string;
  pid: number;
  /** Everything the server logged on stderr (warnings and errors, JSON lines). */
  stderr(): string;
  metrics(): Promise<string>;
  /** The server's resident memory, from its /metrics. */
  rss(): Promise<number>;
  /** Shut down gracefully; the data directory goes too unless the caller gave it. */
  stop(): Promise<void>;
  /** Die at once (SIGKILL), as a crash or a pulled plug would: nothing is shut down, the data stays. */
  kill(): Promise<void>;
}

/** `dataDir` (with `port`) lets a test start the server again on the same data and address after `kill`. */
export async function startServerProcess(options: Partial<ServerConfig> & { logLevel?: string } = {}): Promise<ServerProcess> {
  const data = options.dataDir === undefined ? tempDir('dos') : undefined;
  const child = spawn(process.execPath, [RUNNER, JSON.stringify({ host: '127.0.0.1', port: 0, ...options, dataDir: options.dataDir ?? data?.path })], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const { url, fingerprint } = await new Promise<{ url: string; fingerprint: string }>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const url = /parley listening on (\S+)/.exec(stdout)?.[1];
      const fingerprint = /server key (\S+)/.exec(stdout)?.[1];
      if (url && fingerprint) resolve({ url, fingerprint });
    });
    void exited.then((code) => reject(new Error(`server process exited with ${code}: ${stderr}`)));
  });
  return {
    url,
    fingerprint,
    pid: child.pid ?? 0,
    stderr: () => stderr,
    metrics: () => scrapeMetrics(url, { localAddress: '127.0.0.254' }),
    rss: async () => metric(await scrapeMetrics(url, { localAddress: '127.0.0.254' }), 'process_resident_memory_bytes'),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      data?.remove();
    },
    kill: async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

const PINGER = fileURLToPath(new URL('./pinger-child.mjs', import.meta.url));

/**
 * An honest user pinging `url` every `intervalMs` from a process of its own (so a busy test
 * process does not delay it); `stop` ends it and returns each ping's round trip in milliseconds.
 */
export async function startPinger(url: string, options: { localAddress?: string; intervalMs?: number } = {}): Promise<{ stop(): Promise<number[]> }> {
  const child = spawn(process.execPath, [PINGER, JSON.stringify({ url, localAddress: options.localAddress ?? '127.0.0.1', intervalMs: options.intervalMs ?? 20 })], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => stdout.includes('ready\n') && resolve());
    void exited.then((code) => reject(new Error(`pinger exited with ${code}: ${stderr}`)));
  });
  return {
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      return JSON.parse(stdout.slice(stdout.indexOf('\n') + 1)) as number[];
    },
  };
}
