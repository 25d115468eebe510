/**
 * @module Bench scenario `nodes`: the relay workload (see relay.js) on two Parley nodes sharing
 * PostgreSQL and Redis, every conversation split so that each of its messages crosses from one
 * node to the other, against the same workload on one node with the same PostgreSQL and Redis;
 * and the same pair for the baseline: one `ws` relay, and two relays linked by a socket.
 *
 * BENCH_NODES_PAIRS conversations (default 500, --quick 100, full load only). Needs PostgreSQL and Redis
 * (lib/services.js); without them it says why and measures nothing.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { prepareFixture, startLoadedNode } from '../lib/fixture.js';
import { startBaseline, startParley } from '../lib/processes.js';
import { pairEnds, relayRatio, runRelay, summary } from '../lib/relay-load.js';
import { printErrors, printTable, ratio } from '../lib/report.js';
import { positive, profileTarget, reportProfile, timing, withLoadGenerators } from '../lib/scenario.js';
import { freshServices, servicesUnavailable } from '../lib/services.js';

export const name = 'nodes';

/** What this measurement can and cannot show, printed with it. */
const limits = (cores) => [
  `What this ${cores}-core machine can show: that every message crosses from one node to the other`,
  'through Redis, what that hop costs, and that each accepted message reaches its peer (the bench',
  'warns if one does not). What it cannot show: scaling. Both nodes, PostgreSQL, Redis and the load',
  `generators share the same ${cores} cores, so the ratio compares two processes with one on the same`,
  'cores (and on a busy machine two processes also get a bigger share of it); how far more nodes',
  'carry needs each node, the database and the load generators on machines of their own.',
];

async function parleyRuns(pool, dir, fixture, pairs, load, profiling) {
  const services = await freshServices();
  const shared = { keyFile: fixture.keyFile, postgresUrl: services.postgresUrl, redisUrl: services.redisUrl, redisNamespace: services.redisNamespace };
  const nodes = [];
  try {
    console.log(`nodes: loading ${2 * pairs} accounts and ${pairs} conversations into PostgreSQL`);
    nodes.push(await startLoadedNode(pool, { dataDir: join(dir, 'node1'), ...shared }, { accounts: fixture.accounts, groups: fixture.pairs }, profiling));
    nodes.push(await startParley({ dataDir: join(dir, 'node2'), ...shared }));
    const [first, second] = nodes;
    const one = await runRelay(pool, { target: 'parley', ends: pairEnds(fixture, pairs, () => first.url), servers: nodes, ...load });
    const two = await runRelay(pool, { target: 'parley', ends: pairEnds(fixture, pairs, (id) => (id % 2 === 0 ? first : second).url), servers: nodes, ...load });
    return { one, two };
  } finally {
    for (const node of nodes) await node.stop();
    await services.drop();
  }
}

async function baselineRuns(pool, fixture, pairs, load) {
  const relays = [await startBaseline()];
  try {
    const one = await runRelay(pool, { target: 'baseline', ends: pairEnds(fixture, pairs, () => relays[0].url), servers: relays, ...load });
    relays.push(await startBaseline(relays[0].url));
    const two = await runRelay(pool, { target: 'baseline', ends: pairEnds(fixture, pairs, (id) => relays[id % 2].url), servers: relays, ...load });
    return { one, two };
  } finally {
    for (const relay of relays) await relay.stop();
  }
}

export async function run({ quick, profile, resultsDir }) {
  const unavailable = await servicesUnavailable();
  if (unavailable) {
    console.log(`nodes: not measured: ${unavailable}. Set PARLEY_POSTGRES_URL and PARLEY_REDIS_URL (or PARLEY_TEST_*).`);
    return { measured: false, reason: unavailable };
  }
  const pairs = positive('BENCH_NODES_PAIRS', quick ? 100 : 500);
  const profiling = profileTarget(profile, resultsDir, name);
  return withLoadGenerators(async (pool, dir) => {
    const fixture = await prepareFixture(pool, { resultsDir, pairs });
    const load = { ...timing(quick), half: !quick };
    const parley = await parleyRuns(pool, dir, fixture, pairs, load, profiling);
    const baseline = await baselineRuns(pool, fixture, pairs, { ...load, sizes: parley.one.sizes });

    const rows = [
      { setup: 'Parley, PostgreSQL + Redis', nodes: '1', run: parley.one },
      { setup: 'Parley, PostgreSQL + Redis', nodes: '2', run: parley.two },
      { setup: 'ws relay', nodes: '1', run: baseline.one },
      { setup: 'ws relays, linked', nodes: '2', run: baseline.two },
    ].flatMap(({ setup, nodes, run }) => ['full', 'half'].filter((load) => run[load]).map((load) => ({ setup, nodes, load, ...run[load] })));
    console.log(`\n${2 * pairs} connections in ${pairs} pairs; on two nodes each pair has one end on each node, so every message crosses\n`);
    printTable(
      [
        ['setup', (r) => r.setup],
        ['nodes', (r) => r.nodes],
        ['load', (r) => r.load],
        ['messages/s', (r) => r.messagesPerSecond],
        ['p50 ms', (r) => r.latencyMs.p50],
        ['p99 ms', (r) => r.latencyMs.p99],
        ['nodes CPU', (r) => r.serverCpuCores],
      ],
      rows,
    );
    printErrors(rows.map((r) => ({ label: `${r.setup}, ${r.nodes} node(s), ${r.load} load`, ...r })));
    const parleyRatio = relayRatio(parley.two.full, parley.one.full);
    const baselineRatio = relayRatio(baseline.two.full, baseline.one.full);
    console.log(`\ntwo nodes / one node at full load: Parley ${parleyRatio}×, ws relay ${baselineRatio}×; Parley / ws relay on two nodes: ${ratio(parley.two.full.messagesPerSecond, baseline.two.full.messagesPerSecond)}×`);
    const caveat = limits(cpus().length);
    console.log(caveat.join('\n'));
    return {
      workload: { pairs, connections: 2 * pairs, storage: 'PostgreSQL', bus: 'Redis' },
      parley: { oneNode: summary(parley.one), twoNodes: summary(parley.two) },
      baseline: { oneRelay: summary(baseline.one), twoRelays: summary(baseline.two) },
      twoNodesOverOneNode: parleyRatio,
      baselineTwoOverOne: baselineRatio,
      limits: caveat.join(' '),
      profile: await reportProfile(profiling),
    };
  });
}
