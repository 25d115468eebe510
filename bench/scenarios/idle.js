/**
 * @module Bench scenario `idle`: how much memory an idle authenticated connection costs the
 * server. As many connections as fit under the hard limit on open files (at most 50,000; --quick
 * 500; BENCH_IDLE_CONNECTIONS to choose) open a Noise channel and authenticate as one of the
 * fixture's devices (several connections per device, as open tabs are), then stay idle. Reported:
 * the server's resident memory per connection (RSS with them minus RSS before, over their
 * number), against a plain `ws` server holding as many connections that exchanged frames of the
 * same sizes. Connections come from 16 loopback addresses, so no one address runs out of ports.
 */
import { join } from 'node:path';
import { prepareFixture, startLoadedNode } from '../lib/fixture.js';
import { fileLimit, startBaseline } from '../lib/processes.js';
import { localAddress } from '../lib/relay-load.js';
import { printTable, ratio, round } from '../lib/report.js';
import { positive, profileTarget, reportProfile, withLoadGenerators } from '../lib/scenario.js';
import { deal } from '../lib/workers.js';

export const name = 'idle';
const GOAL = 10_000;
/** File descriptors a process needs besides its connections (database, logs, pipes). */
const HEADROOM = 500;
const SETTLE_MS = 3_000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens `connections` idle connections to `server` and reads its memory before and after. */
async function measure(pool, { target, server, fixture, connections, sizes }) {
  await sleep(SETTLE_MS);
  const before = server.stats().rssBytes;
  const specs = Array.from({ length: connections }, (_, i) => ({ id: i, url: server.url, account: fixture.accounts[i % fixture.accounts.length], localAddress: localAddress(i) }));
  const started = performance.now();
  try {
    const opened = await pool.all('connect', (i) => ({ target, sizes, specs: deal(specs, pool.workers.length)[i], concurrency: 64 }));
    const seconds = (performance.now() - started) / 1000;
    await sleep(SETTLE_MS);
    const after = server.stats().rssBytes;
    return {
      connections: opened.reduce((sum, result) => sum + result.opened, 0),
      connectsPerSecond: round(connections / seconds),
      rssBeforeMiB: round(before / 2 ** 20),
      rssAfterMiB: round(after / 2 ** 20),
      kibPerConnection: round((after - before) / 1024 / connections, 2),
      sizes: opened[0].sizes,
    };
  } finally {
    await pool.all('disconnect');
  }
}

function connectionCount(quick) {
  const fitting = Math.min(fileLimit() - HEADROOM, 50_000);
  const count = positive('BENCH_IDLE_CONNECTIONS', quick ? Math.min(500, fitting) : fitting);
  if (count > fitting) throw new Error(`BENCH_IDLE_CONNECTIONS=${count} does not fit under the hard limit on open files (${fileLimit()}); raise it (ulimit -Hn) or ask for fewer`);
  if (!quick && count < GOAL) console.log(`idle: only ${count} connections fit under the hard limit on open files (${fileLimit()}); the scenario wants ${GOAL}: raise it (ulimit -Hn, or docker --ulimit nofile=...)`);
  return count;
}

export async function run({ quick, profile, resultsDir }) {
  const connections = connectionCount(quick);
  const profiling = profileTarget(profile, resultsDir, name);
  return withLoadGenerators(async (pool, dir) => {
    const fixture = await prepareFixture(pool, { resultsDir, accounts: quick ? 200 : 1000 });
    // A fresh start on the loaded database, as the baseline's: a loader's spare heap would hide connections' memory.
    const node = await startLoadedNode(pool, { dataDir: join(dir, 'node'), keyFile: fixture.keyFile }, { accounts: fixture.accounts }, profiling);
    let parley;
    try {
      console.log(`idle: opening ${connections} authenticated connections (${fixture.accounts.length} devices)`);
      parley = await measure(pool, { target: 'parley', server: node, fixture, connections });
    } finally {
      await node.stop();
    }
    const relay = await startBaseline();
    let baseline;
    try {
      baseline = await measure(pool, { target: 'baseline', server: relay, fixture, connections, sizes: parley.sizes });
    } finally {
      await relay.stop();
    }

    console.log(`\n${connections} idle connections, each after its handshake and authentication\n`);
    printTable(
      [
        ['server', (r) => r.server],
        ['connections', (r) => r.connections],
        ['connects/s', (r) => r.connectsPerSecond],
        ['RSS before MiB', (r) => r.rssBeforeMiB],
        ['RSS after MiB', (r) => r.rssAfterMiB],
        ['KiB per connection', (r) => r.kibPerConnection],
      ],
      [
        { server: 'Parley (SQLite)', ...parley },
        { server: 'ws server', ...baseline },
      ],
    );
    const memory = ratio(parley.kibPerConnection, baseline.kibPerConnection);
    console.log(`\nParley / ws, memory per idle connection: ${memory}× (goal ≤ 2×)`);
    const { sizes: _parleySizes, ...parleyFigures } = parley;
    const { sizes: _baselineSizes, ...baselineFigures } = baseline;
    return {
      workload: { connections, devices: fixture.accounts.length, fileLimit: fileLimit() },
      parley: parleyFigures,
      baseline: baselineFigures,
      ratio: memory,
      profile: await reportProfile(profiling),
    };
  });
}
