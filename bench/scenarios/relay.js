/**
 * @module Bench scenario `relay`: how many messages a second one Parley node (SQLite, the default)
 * stores, pushes and has acknowledged, against a plain `ws` relay doing the same exchanges with
 * the same frame sizes and no crypto or storage, in the same run.
 *
 * BENCH_RELAY_PAIRS conversations (default 500, --quick 100), so twice as many authenticated
 * connections, spread over the load generator processes. Every connection sends its
 * conversation's MLS application message to its peer (group.send: stored durably, then pushed),
 * and acknowledges every message pushed to it (sync.ack). Full load: each connection keeps one
 * message in flight. Half load: paced at half the rate full load reached. Latency: from sending
 * to the push reaching the peer.
 */
import { join } from 'node:path';
import { prepareFixture, startLoadedNode } from '../lib/fixture.js';
import { startBaseline } from '../lib/processes.js';
import { pairEnds, relayRatio, runRelay, summary } from '../lib/relay-load.js';
import { printErrors, printTable } from '../lib/report.js';
import { positive, profileTarget, reportProfile, timing, withLoadGenerators } from '../lib/scenario.js';

export const name = 'relay';

export async function run({ quick, profile, resultsDir }) {
  const pairs = positive('BENCH_RELAY_PAIRS', quick ? 100 : 500);
  const { warmupMs, durationMs } = timing(quick);
  const profiling = profileTarget(profile, resultsDir, name);
  return withLoadGenerators(async (pool, dir) => {
    const fixture = await prepareFixture(pool, { resultsDir, pairs });
    console.log(`relay: loading ${2 * pairs} accounts and ${pairs} conversations into a fresh node (SQLite)`);
    const node = await startLoadedNode(pool, { dataDir: join(dir, 'node'), keyFile: fixture.keyFile }, { accounts: fixture.accounts, groups: fixture.pairs }, profiling);
    let parley;
    try {
      parley = await runRelay(pool, { target: 'parley', ends: pairEnds(fixture, pairs, () => node.url), servers: [node], warmupMs, durationMs });
    } finally {
      await node.stop();
    }
    const relay = await startBaseline();
    let baseline;
    try {
      baseline = await runRelay(pool, { target: 'baseline', ends: pairEnds(fixture, pairs, () => relay.url), servers: [relay], sizes: parley.sizes, warmupMs, durationMs });
    } finally {
      await relay.stop();
    }

    const rows = [
      { server: 'Parley (SQLite)', load: 'full', ...parley.full },
      { server: 'Parley (SQLite)', load: 'half', ...parley.half },
      { server: 'ws relay', load: 'full', ...baseline.full },
      { server: 'ws relay', load: 'half', ...baseline.half },
    ];
    console.log(`\n${2 * pairs} connections in ${pairs} pairs; each message stored, pushed and acknowledged; ${durationMs / 1000} s per load\n`);
    printTable(
      [
        ['server', (r) => r.server],
        ['load', (r) => r.load],
        ['messages/s', (r) => r.messagesPerSecond],
        ['p50 ms', (r) => r.latencyMs.p50],
        ['p99 ms', (r) => r.latencyMs.p99],
        ['server CPU', (r) => r.serverCpuCores],
        ['load gen. CPU', (r) => r.loadGeneratorCpuCores],
      ],
      rows,
    );
    printErrors(rows.map((r) => ({ label: `${r.server}, ${r.load} load`, ...r })));
    const fullRatio = relayRatio(parley.full, baseline.full);
    console.log(`\nParley / ws relay at full load: ${fullRatio}× (goal ≥ 0.3×, stretch 0.6×); Parley p99 at half load: ${parley.half.latencyMs.p99} ms (goal < 50 ms)`);
    console.log(`frames (bytes): ${Object.entries(parley.sizes).map(([kind, size]) => `${kind} ${size}`).join(', ')}`);
    console.log('server CPU is in cores (1.00: one core busy all the time); Node serves on one core, so near 1.00 the server sets the pace.');
    return {
      workload: { pairs, connections: 2 * pairs, secondsPerLoad: durationMs / 1000, warmupSeconds: warmupMs / 1000, storage: 'SQLite' },
      parley: summary(parley),
      baseline: summary(baseline),
      frameBytes: parley.sizes,
      ratioAtFullLoad: fullRatio,
      profile: await reportProfile(profiling),
    };
  });
}
