/**
 * @module Bench scenario `messaging`: end-to-end messages per second on one server node and on
 * two (DESIGN §12), with the same workload, in one run.
 *
 * Workload: PAIRS sender/receiver pairs, each with its own 1:1 conversation. Every sender sends
 * MESSAGES messages one after another (each waits for the server's acknowledgement); every
 * message goes MLS encrypt → server (stored in the group log) → push → receiver's sync → MLS
 * decrypt. A round's clock runs from the first send to the last decrypted message.
 *
 * Topology: server nodes are `parley serve` child processes over one PostgreSQL database (a
 * fresh one per run, dropped at the end) and one Redis (a fresh namespace); all clients run in
 * this process. On two nodes, sender i uses node i % 2 and its receiver the other one, so every
 * message crosses nodes through Redis. Both scenarios use PostgreSQL and Redis, so the ratio
 * measures what a second node adds, not a change of database.
 *
 * Both scenarios are set up first (accounts and conversations, off the clock), then measured in
 * alternating rounds (one node, two nodes, one node, ...), so JIT warm-up and background work
 * weigh on both alike; a scenario's rate is its messages over its rounds' total time.
 *
 * Services: PARLEY_POSTGRES_URL and PARLEY_REDIS_URL, else PARLEY_TEST_POSTGRES_URL and
 * PARLEY_TEST_REDIS_URL, else the local defaults of .ci/run. If they are unreachable, only the
 * one-node scenario runs (on SQLite) and the reason is printed.
 *
 * Knobs: BENCH_PAIRS (default 8), BENCH_MESSAGES (per pair and round, default 25), BENCH_ROUNDS
 * (default 2); --quick: 4 pairs, 10 messages, one round.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryClientStore, MemoryProfileStore, ParleyClient } from '@parley/client';
import { nodeSocketFactory } from '@parley/client/node';
import pg from 'pg';

const root = fileURLToPath(new URL('../..', import.meta.url));
const PARLEY_BIN = join(root, 'packages/cli/bin/parley.js');
let PAIRS = positive('BENCH_PAIRS', 8);
let MESSAGES = positive('BENCH_MESSAGES', 25);
let ROUNDS = positive('BENCH_ROUNDS', 2);
const PASSWORD = 'bench password, not a secret';

function positive(name, fallback) {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
}

const postgresUrl = process.env.PARLEY_POSTGRES_URL ?? process.env.PARLEY_TEST_POSTGRES_URL ?? 'postgres://postgres:root@127.0.0.1:5432/test';
const redisUrl = process.env.PARLEY_REDIS_URL ?? process.env.PARLEY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Starts `parley serve` and resolves once it announces its address. */
function serve(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PARLEY_BIN, 'serve', '--port', '0', '--log-level', 'warn', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const url = /parley listening on (\S+)/.exec(stdout)?.[1];
      if (url && /server key \S+/.test(stdout)) {
        resolve({
          url,
          stop: () =>
            new Promise((done) => {
              child.once('exit', done);
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`parley serve exited with ${code}: ${stderr.trim()}`)));
  });
}

async function newClient(url, username) {
  const client = await ParleyClient.connect({ server: url, store: new MemoryProfileStore(), messages: new MemoryClientStore(), socketFactory: nodeSocketFactory });
  await client.register(username, PASSWORD, { deviceName: 'bench' });
  return { client, messenger: await client.messenger() };
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;

/** A scenario's accounts and conversations, set up off the clock. */
async function setUp(name, nodes) {
  const tag = randomBytes(3).toString('hex');
  console.log(`${name}: registering ${PAIRS * 2} accounts and opening their conversations`);
  const pairs = [];
  for (let i = 0; i < PAIRS; i++) {
    const sender = await newClient(nodes[i % nodes.length].url, `s${i}-${tag}`);
    const receiver = await newClient(nodes[(i + 1) % nodes.length].url, `r${i}-${tag}`);
    pairs.push({ sender, receiver, receiverName: `r${i}-${tag}` });
  }
  // The first message of a conversation carries the MLS welcome; it stays off the clock too.
  for (const { sender, receiver, receiverName } of pairs) {
    await sender.messenger.sendDirect(receiverName, 'hello');
    await receiver.messenger.sync();
  }
  return { name, nodes: nodes.length, pairs, rounds: [] };
}

/** One timed round: every sender sends MESSAGES messages; done when every one is decrypted. */
async function round(scenario) {
  const expected = PAIRS * MESSAGES;
  const latencies = [];
  let received = 0;
  let settle;
  const done = new Promise((resolve, reject) => (settle = { resolve, reject }));
  const stops = scenario.pairs.map(({ receiver }) =>
    receiver.client.onMessage(
      (message) => {
        latencies.push(Date.now() - Number(message.text.split(' ')[1]));
        if (++received === expected) settle.resolve();
      },
      (error) => settle.reject(error),
    ),
  );
  const timeout = setTimeout(() => settle.reject(new Error(`only ${received} of ${expected} messages arrived`)), 60_000);
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  try {
    await Promise.all(
      scenario.pairs.map(async ({ sender, receiverName }) => {
        for (let m = 0; m < MESSAGES; m++) await sender.messenger.sendDirect(receiverName, `${m} ${Date.now()}`);
      }),
    );
    await done;
  } finally {
    clearTimeout(timeout);
    for (const stop of stops) stop();
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  latencies.sort((a, b) => a - b);
  const result = {
    seconds: Number(seconds.toFixed(3)),
    // Near 1: the clients (one thread) are the bottleneck, not the servers.
    clientCpuCores: Number(((cpu.user + cpu.system) / 1e6 / seconds).toFixed(2)),
    messagesPerSecond: Number((expected / seconds).toFixed(1)),
    latencyMs: { p50: percentile(latencies, 50), p95: percentile(latencies, 95), max: latencies.at(-1) ?? 0 },
  };
  scenario.rounds.push(result);
  console.log(`  ${scenario.name}, round ${scenario.rounds.length}: ${result.messagesPerSecond} messages/s`);
}

/** A scenario's totals over its rounds; closes its clients. */
function summary(scenario) {
  for (const { sender, receiver } of scenario.pairs) {
    sender.client.close();
    receiver.client.close();
  }
  const seconds = scenario.rounds.reduce((sum, r) => sum + r.seconds, 0);
  const messages = scenario.rounds.length * PAIRS * MESSAGES;
  return {
    scenario: scenario.name,
    nodes: scenario.nodes,
    messages,
    seconds: Number(seconds.toFixed(3)),
    messagesPerSecond: Number((messages / seconds).toFixed(1)),
    clientCpuCores: Number((scenario.rounds.reduce((sum, r) => sum + r.clientCpuCores * r.seconds, 0) / seconds).toFixed(2)),
    /** The worst round's. */
    latencyMs: { p50: Math.max(...scenario.rounds.map((r) => r.latencyMs.p50)), p95: Math.max(...scenario.rounds.map((r) => r.latencyMs.p95)) },
    rounds: scenario.rounds,
  };
}

/** Undefined if PostgreSQL and Redis both answer; else why not. */
async function servicesUnavailable() {
  const client = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.end();
  } catch (error) {
    return `PostgreSQL is not reachable (${error.message})`;
  }
  const target = new URL(redisUrl);
  return new Promise((resolve) => {
    const socket = connect(Number(target.port || 6379), target.hostname);
    socket.setTimeout(3_000, () => socket.destroy(new Error('timed out')));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      socket.end();
      const answer = data.toString().trim();
      // A password-protected Redis answers NOAUTH, which still proves it is there.
      resolve(answer === '+PONG' || answer.startsWith('-NOAUTH') ? undefined : `Redis answered ${JSON.stringify(answer)}`);
    });
    socket.on('error', (error) => resolve(`Redis is not reachable (${error.message})`));
  });
}

export const name = 'messaging';

/** Runs both scenarios; returns the table lines to print and the record to keep. */
export async function run({ quick }) {
  if (quick) {
    PAIRS = Math.min(PAIRS, 4);
    MESSAGES = Math.min(MESSAGES, 10);
    ROUNDS = 1;
  }
  const work = await mkdtemp(join(tmpdir(), 'parley-bench-'));
  const unavailable = await servicesUnavailable();
  const results = [];
  const cleanups = [];
  try {
    if (unavailable) {
      console.log(`Two nodes need PostgreSQL and Redis: ${unavailable}.`);
      console.log('Set PARLEY_POSTGRES_URL and PARLEY_REDIS_URL (or PARLEY_TEST_*). Measuring one node on SQLite only.\n');
      const node = await serve(['--data', join(work, 'sqlite')]);
      cleanups.push(() => node.stop());
      const one = await setUp('one node (SQLite)', [node]);
      for (let i = 0; i < ROUNDS; i++) await round(one);
      results.push(summary(one));
    } else {
      const admin = new pg.Client({ connectionString: postgresUrl });
      await admin.connect();
      const database = `parley_bench_${randomBytes(6).toString('hex')}`;
      await admin.query(`create database ${pg.escapeIdentifier(database)}`);
      cleanups.push(async () => {
        await admin.query(`drop database if exists ${pg.escapeIdentifier(database)} with (force)`);
        await admin.end();
      });
      const databaseUrl = new URL(postgresUrl);
      databaseUrl.pathname = `/${database}`;
      const shared = [
        ...['--key-file', join(work, 'server-keys.json')],
        ...['--postgres', databaseUrl.href, '--redis', redisUrl, '--redis-namespace', `parley-bench-${database.slice(-12)}:`],
      ];
      const first = await serve(['--data', join(work, 'node1'), ...shared]);
      cleanups.unshift(() => first.stop());
      const second = await serve(['--data', join(work, 'node2'), ...shared]);
      cleanups.unshift(() => second.stop());
      // Both scenarios run while both nodes are up (the second one idle in the first scenario).
      const one = await setUp('one node', [first]);
      const two = await setUp('two nodes', [first, second]);
      for (let i = 0; i < ROUNDS; i++) {
        await round(one);
        await round(two);
      }
      results.push(summary(one), summary(two));
    }
  } finally {
    for (const cleanup of cleanups) await cleanup();
    await rm(work, { recursive: true, force: true });
  }

  const [one, two] = results;
  const ratio = two ? Number((two.messagesPerSecond / one.messagesPerSecond).toFixed(2)) : undefined;
  console.log(`\n${PAIRS} pairs × ${MESSAGES} messages × ${ROUNDS} rounds, end to end (MLS encrypt → server → push → decrypt)\n`);
  console.log('| scenario          | nodes | messages | seconds | messages/s | p50 ms | p95 ms | client CPU |');
  console.log('|-------------------|------:|---------:|--------:|-----------:|-------:|-------:|-----------:|');
  for (const r of results) {
    const cells = [r.scenario.padEnd(17), String(r.nodes).padStart(5), String(r.messages).padStart(8), r.seconds.toFixed(2).padStart(7), r.messagesPerSecond.toFixed(1).padStart(10), String(r.latencyMs.p50).padStart(6), String(r.latencyMs.p95).padStart(6), r.clientCpuCores.toFixed(2).padStart(10)];
    console.log(`| ${cells.join(' | ')} |`);
  }
  if (ratio !== undefined) console.log(`\ntwo nodes / one node: ${ratio}×`);
  console.log(`(${cpus().length} CPU cores shared by the clients, the nodes, PostgreSQL and Redis; client CPU is the cores the`);
  console.log(' bench process used: near 1.00, its one thread of MLS clients, not the servers, sets the pace)');

  return {
    workload: { pairs: PAIRS, messagesPerPairPerRound: MESSAGES, rounds: ROUNDS, path: 'MLS encrypt → server → push → decrypt', clients: 'all in the bench process' },
    services: unavailable ? { storage: 'SQLite', note: unavailable } : { storage: 'PostgreSQL', bus: 'Redis' },
    results,
    ...(ratio !== undefined ? { twoNodesOverOneNode: ratio } : {}),
  };
}
