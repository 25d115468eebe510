/** The Redis bus against a live server (PARLEY_TEST_REDIS_URL); every test has its own namespace. */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { startTcpLink, targetOf, throughLink } from '../../../../test/support/tcp-link.js';
import { createLogger } from '../logger.js';
import { runBusConformance } from './conformance.testkit.js';
import { BusUnavailableError, RedisBus, type RedisBusOptions } from './redis.js';

const url = process.env.PARLEY_TEST_REDIS_URL;
if (!url) throw new Error('redis.redis.test.ts needs PARLEY_TEST_REDIS_URL (vitest.config.ts includes it only then)');
const serverUrl: string = url;

const freshNamespace = () => `parley-test-${randomBytes(6).toString('hex')}:`;

runBusConformance('Redis', async () => {
  const namespace = freshNamespace();
  const [a, b] = await Promise.all([RedisBus.connect(serverUrl, { namespace }), RedisBus.connect(serverUrl, { namespace })]);
  return { a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
});

/** The same server reached through a loopback port that a test can cut and bring back, like a network. */
async function startLink(port = 0): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const link = await startTcpLink(targetOf(serverUrl, 6379), { port });
  return { url: throughLink(serverUrl, link), port: link.port, close: () => link.close() };
}

function capturedLogger() {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString('utf8');
      done();
    },
  });
  return { log: createLogger('debug', sink), lines: () => text };
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('Redis bus', () => {
  const open: RedisBus[] = [];
  const connectBus = async (options: RedisBusOptions = {}, target = serverUrl) => {
    const bus = await RedisBus.connect(target, { namespace: freshNamespace(), ...options });
    open.push(bus);
    return bus;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((bus) => bus.close()));
  });

  it('keeps namespaces apart, for channels and keys', async () => {
    const one = await connectBus();
    const other = await connectBus();
    const heard: unknown[] = [];
    other.subscribe('devices.revoked', (message) => heard.push(message));
    const barrier: unknown[] = [];
    const same = await connectBus({ namespace: other.namespace });
    same.subscribe('devices.revoked', (message) => barrier.push(message));
    await one.publish('devices.revoked', { username: 'alice', deviceIds: ['x'] });
    await other.publish('devices.revoked', { username: 'bob', deviceIds: ['y'] });
    await until(() => barrier.length === 1, 'the same-namespace message');
    expect(heard).toEqual([{ username: 'bob', deviceIds: ['y'] }]);
    expect(one.key('presence:alice')).toBe(`${one.namespace}presence:alice`);
    expect(one.key('x')).not.toBe(other.key('x'));
  });

  it('logs a throwing handler and still delivers to the others', async () => {
    const { log, lines } = capturedLogger();
    const a = await connectBus();
    const b = await connectBus({ namespace: a.namespace, log });
    const heard: unknown[] = [];
    b.subscribe('devices.revoked', () => {
      throw new Error('handler bug');
    });
    b.subscribe('devices.revoked', (message) => heard.push(message));
    await a.publish('devices.revoked', { username: 'alice', deviceIds: ['x'] });
    await until(() => heard.length === 1, 'delivery');
    expect(lines()).toContain('bus.handler_failed');
  });

  it('survives Redis going away: publishes fail fast and clearly, then everything resumes', async () => {
    const link = await startLink();
    const { log, lines } = capturedLogger();
    const cutOff = await connectBus({ log }, link.url);
    const steady = await connectBus({ namespace: cutOff.namespace });
    const onCutOff: unknown[] = [];
    const onSteady: unknown[] = [];
    cutOff.subscribe('devices.revoked', (message) => onCutOff.push(message));
    steady.subscribe('devices.revoked', (message) => onSteady.push(message));

    await link.close();
    await until(() => lines().includes('redis.connection_lost'), 'the loss to be noticed');
    const started = Date.now();
    const error: unknown = await cutOff.publish('devices.revoked', { username: 'alice', deviceIds: ['during'] }).catch((caught: unknown) => caught);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(error).toBeInstanceOf(BusUnavailableError);
    expect((error as Error).message).toMatch(new RegExp(`^Redis at 127\\.0\\.0\\.1:${link.port} is unavailable, so "devices\\.revoked" reached this node only`));
    // This node's own subscribers still heard it; the other node did not, and never will.
    expect(onCutOff).toEqual([{ username: 'alice', deviceIds: ['during'] }]);
    await steady.publish('devices.revoked', { username: 'bob', deviceIds: ['missed'] });

    const back = await startLink(link.port);
    await until(() => (lines().match(/redis\.connection_restored/g)?.length ?? 0) >= 2, 'both connections to return');
    // The subscription was renewed: the other node's messages arrive again (retried until they do).
    for (let attempt = 0; onCutOff.length < 2; attempt++) {
      if (attempt === 100) throw new Error('no delivery after reconnecting');
      await steady.publish('devices.revoked', { username: 'bob', deviceIds: ['after'] });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(onCutOff[1]).toEqual({ username: 'bob', deviceIds: ['after'] });
    expect(onCutOff).not.toContainEqual({ username: 'bob', deviceIds: ['missed'] });
    await cutOff.publish('devices.revoked', { username: 'alice', deviceIds: ['back'] });
    await until(() => onSteady.some((message) => (message as { deviceIds: string[] }).deviceIds[0] === 'back'), 'delivery from the reconnected node');
    await back.close();
  });

  it('waits for a Redis that comes up after it starts', async () => {
    const probe = await startLink();
    const { port } = probe;
    await probe.close();
    const target = new URL(serverUrl);
    target.hostname = '127.0.0.1';
    target.port = String(port);
    const { log, lines } = capturedLogger();
    const connecting = connectBus({ log, startupTimeoutMs: 20_000 }, target.href);
    await new Promise((resolve) => setTimeout(resolve, 700));
    const link = await startLink(port);
    const bus = await connecting;
    expect(lines()).toContain('redis.error');
    const heard: unknown[] = [];
    const other = await connectBus({ namespace: bus.namespace });
    bus.subscribe('devices.revoked', (message) => heard.push(message));
    await other.publish('devices.revoked', { username: 'alice', deviceIds: ['x'] });
    await until(() => heard.length === 1, 'delivery');
    await bus.close();
    await link.close();
  });

  it('fails at once on refused credentials, naming the server but not the password', async () => {
    const target = new URL(serverUrl);
    target.username = `parley-nobody-${randomBytes(3).toString('hex')}`;
    target.password = 'not-the-password-5e1d';
    const started = Date.now();
    const error: unknown = await connectBus({ startupTimeoutMs: 30_000 }, target.href).catch((caught: unknown) => caught);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(BusUnavailableError);
    expect((error as Error).message).toMatch(new RegExp(`^Redis at ${target.hostname}:${target.port || 6379} refused the connection: WRONGPASS`));
    expect(inspect(error, { depth: null })).not.toContain('not-the-password-5e1d');
  });

  it('rejects publishing once closed', async () => {
    const bus = await connectBus();
    await bus.close();
    await expect(bus.publish('devices.revoked', { username: 'alice', deviceIds: [] })).rejects.toBeInstanceOf(BusUnavailableError);
    await bus.close(); // twice is harmless
  });
});
