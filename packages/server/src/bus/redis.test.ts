/** The Redis bus when there is no Redis: clear errors, no secrets. Needs no server. */
import { createServer, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { BusUnavailableError, RedisBus } from './redis.js';

describe('Redis bus without a server', () => {
  it('retries for the start-up time, then fails naming the server but never the password', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    let logged = '';
    const log = createLogger('debug', new Writable({ write: (chunk: Buffer, _encoding, done) => ((logged += chunk.toString('utf8')), done()) }));

    const started = Date.now();
    const error: unknown = await RedisBus.connect(`redis://parley:s3cret-pw-42@127.0.0.1:${port}/2`, { startupTimeoutMs: 1_200, log }).catch((caught: unknown) => caught);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_100);
    expect(error).toBeInstanceOf(BusUnavailableError);
    expect((error as Error).message).toMatch(new RegExp(`^Redis at 127\\.0\\.0\\.1:${port}/2 is unreachable \\(gave up after [\\d.]+ s\\): .*ECONNREFUSED`));
    expect(inspect(error, { depth: null })).not.toContain('s3cret-pw-42');
    expect(logged.match(/"redis\.error"/g)?.length).toBeGreaterThanOrEqual(2);
    expect(logged).not.toContain('s3cret-pw-42');
  });
});
