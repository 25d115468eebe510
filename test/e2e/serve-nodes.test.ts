/**
 * `parley serve` options for running several nodes (DESIGN §12) that need no live PostgreSQL or
 * Redis: a shared key file, and clear errors when either server is unreachable at start.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closedPort } from '../support/tcp-link.js';
import { runCli, startServeProcess, type ServeProcess } from '../support/cli.js';
import { tempDir } from '../support/harness.js';

describe('parley serve for several nodes', () => {
  const dir = tempDir('serve-nodes');
  const running: ServeProcess[] = [];
  afterAll(async () => {
    await Promise.all(running.map((server) => server.stop()));
    dir.remove();
  });

  it('nodes with their own data directories share one key file, given by flag or PARLEY_KEY_FILE', async () => {
    const keyFile = join(dir.path, 'keys', 'server-keys.json');
    const [first, second] = await Promise.all([
      startServeProcess(['--port', '0', '--data', join(dir.path, 'node1'), '--key-file', keyFile]),
      startServeProcess(['--port', '0', '--data', join(dir.path, 'node2')], { env: { PARLEY_KEY_FILE: keyFile } }),
    ]);
    running.push(first, second);
    expect(first.url).not.toBe(second.url);
    expect(second.fingerprint).toBe(first.fingerprint);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    // Without it, a node makes a key of its own in its data directory.
    const alone = await startServeProcess(['--port', '0', '--data', join(dir.path, 'node3')]);
    running.push(alone);
    expect(alone.fingerprint).not.toBe(first.fingerprint);
    expect(statSync(join(dir.path, 'node3', 'server-keys.json')).isFile()).toBe(true);
  });

  it('refuses to start on a data directory first used with another key file, with KEY_MISMATCH naming both keys', async () => {
    const data = join(dir.path, 'keyed');
    const first = await startServeProcess(['--port', '0', '--data', data]);
    await first.stop();
    const otherKeyFile = join(dir.path, 'other-keys', 'server-keys.json');
    const other = await startServeProcess(['--port', '0', '--data', join(dir.path, 'other-data'), '--key-file', otherKeyFile]);
    await other.stop();

    const result = await runCli(['serve', '--port', '0', '--data', data, '--key-file', otherKeyFile, '--log-level', 'warn']);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    const line = /^error KEY_MISMATCH: .*$/m.exec(result.stderr)?.[0] ?? result.stderr;
    expect(line).toContain(first.fingerprint);
    expect(line).toContain(other.fingerprint);
    // With its own key it starts as before.
    const again = await startServeProcess(['--port', '0', '--data', data]);
    running.push(again);
    expect(again.fingerprint).toBe(first.fingerprint);
  });

  it('exits with UNAVAILABLE, naming the server but never the password, when PostgreSQL is unreachable', async () => {
    const port = await closedPort();
    const result = await runCli(['serve', '--port', '0', '--data', join(dir.path, 'pg'), '--startup-timeout', '1'], {
      env: { PARLEY_POSTGRES_URL: `postgres://parley:pg-s3cret@127.0.0.1:${port}/parley`, PARLEY_LOG_LEVEL: 'warn' },
    });
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(new RegExp(`^error UNAVAILABLE: PostgreSQL at 127\\.0\\.0\\.1:${port}/parley is unreachable .*ECONNREFUSED`, 'm'));
    expect(result.stderr).not.toContain('pg-s3cret');
  });

  it('exits with UNAVAILABLE, naming the server but never the password, when Redis is unreachable', async () => {
    const port = await closedPort();
    const result = await runCli(['serve', '--port', '0', '--data', join(dir.path, 'redis'), '--redis', `redis://:redis-s3cret@127.0.0.1:${port}`, '--startup-timeout', '1', '--json']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(new RegExp(`"code":"UNAVAILABLE","message":"Redis at 127\\.0\\.0\\.1:${port} is unreachable`));
    expect(result.stderr).not.toContain('redis-s3cret');
  });

  it('refuses nonsense durations', async () => {
    const result = await runCli(['serve', '--port', '0', '--data', join(dir.path, 'bad'), '--presence-ttl', 'soon']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/^error BAD_INPUT: --presence-ttl must be a number of seconds/m);
  });
});
