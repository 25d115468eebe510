/**
 * @module Bench scenario `fanout`: one message to a big group. BENCH_FANOUT_MEMBERS members
 * (default 1,000, --quick 200), every one connected; one member sends the group's MLS message,
 * the server stores it once and pushes it to every other member, who acknowledges it. The next
 * round starts when every acknowledgement is answered. Reported: deliveries a second, and the time
 * until every member has the message (p50, p95 over BENCH_FANOUT_ROUNDS rounds, default 20,
 * --quick 5), against a plain `ws` relay broadcasting frames of the same sizes.
 */
import { join } from 'node:path';
import { prepareFixture, startLoadedNode } from '../lib/fixture.js';
import { startBaseline } from '../lib/processes.js';
import { localAddress } from '../lib/relay-load.js';
import { percentile, printTable, ratio, round } from '../lib/report.js';
import { positive, profileTarget, reportProfile, withLoadGenerators } from '../lib/scenario.js';
import { deal } from '../lib/workers.js';

export const name = 'fanout';
/** Rounds before the measured ones, so JIT warm-up is not measured. */
const WARMUP_ROUNDS = 2;
const ROUND_TIMEOUT_MS = 60_000;

/** Connects every member, then plays `rounds` rounds; returns the figures. */
async function measure(pool, { target, url, server, fixture, members, rounds, sizes }) {
  const group = fixture.fanout;
  const creator = fixture.accounts[0];
  const sender = { id: 0, url, account: creator, localAddress: localAddress(0), sender: true, groupId: group.groupId, epoch: group.epoch, message: group.messages[creator.username] };
  const receivers = fixture.accounts.slice(1, members).map((account, i) => ({ id: i + 1, url, account, localAddress: localAddress(i + 1) }));
  const slices = deal(receivers, pool.workers.length);
  slices[0].unshift(sender);
  const connected = await pool.all('connect', (i) => ({ target, sizes, specs: slices[i], concurrency: 32 }));
  const reporters = slices.filter((slice) => slice.some((spec) => !spec.sender)).length;
  const reports = new Map();
  let roundDone;
  pool.onEvent = ({ round: r, arrivals, lastAckAt }) => {
    const got = reports.get(r) ?? [];
    got.push({ arrivals, lastAckAt });
    reports.set(r, got);
    if (got.length === reporters) roundDone?.();
  };
  try {
    await pool.all('fanout-listen');
    const timings = [];
    let cpuBefore = 0;
    let sent;
    for (let r = 0; r < WARMUP_ROUNDS + rounds; r++) {
      if (r === WARMUP_ROUNDS) cpuBefore = server.stats().cpuSeconds;
      const done = new Promise((resolve, reject) => {
        roundDone = resolve;
        setTimeout(() => reject(new Error(`round ${r}: not every member got the message within ${ROUND_TIMEOUT_MS / 1000} s`)), ROUND_TIMEOUT_MS).unref();
      });
      sent = await pool.workers[0].call('fanout-send');
      await done;
      const got = reports.get(r);
      const allHaveIt = Math.max(...got.flatMap(({ arrivals }) => arrivals)) - sent.sentAt;
      const allAcked = Math.max(...got.map(({ lastAckAt }) => lastAckAt)) - sent.sentAt;
      if (r >= WARMUP_ROUNDS) timings.push({ allHaveIt, allAcked });
    }
    const seconds = timings.reduce((sum, t) => sum + t.allAcked, 0) / 1000;
    const allHaveIt = timings.map((t) => t.allHaveIt);
    return {
      deliveriesPerSecond: round(((members - 1) * rounds) / seconds),
      untilAllHaveItMs: { p50: round(percentile(allHaveIt, 50), 2), p95: round(percentile(allHaveIt, 95), 2) },
      serverCpuCores: round((server.stats().cpuSeconds - cpuBefore) / seconds, 2),
      sizes: { ...connected[0].sizes, ...sent.sizes },
    };
  } finally {
    pool.onEvent = () => {};
    await pool.all('disconnect');
  }
}

export async function run({ quick, profile, resultsDir }) {
  const members = positive('BENCH_FANOUT_MEMBERS', quick ? 200 : 1000);
  const rounds = positive('BENCH_FANOUT_ROUNDS', quick ? 5 : 20);
  const profiling = profileTarget(profile, resultsDir, name);
  return withLoadGenerators(async (pool, dir) => {
    const fixture = await prepareFixture(pool, { resultsDir, fanout: members });
    console.log(`fanout: loading ${members} accounts and their group into a fresh node (SQLite)`);
    const node = await startLoadedNode(pool, { dataDir: join(dir, 'node'), keyFile: fixture.keyFile }, { accounts: fixture.accounts, groups: [fixture.fanout] }, profiling);
    let parley;
    try {
      parley = await measure(pool, { target: 'parley', url: node.url, server: node, fixture, members, rounds });
    } finally {
      await node.stop();
    }
    const relay = await startBaseline();
    let baseline;
    try {
      baseline = await measure(pool, { target: 'baseline', url: relay.url, server: relay, fixture, members, rounds, sizes: parley.sizes });
    } finally {
      await relay.stop();
    }

    console.log(`\none group of ${members} members, all connected; ${rounds} rounds of one message to all, each acknowledged\n`);
    printTable(
      [
        ['server', (r) => r.server],
        ['deliveries/s', (r) => r.deliveriesPerSecond],
        ['all have it, p50 ms', (r) => r.untilAllHaveItMs.p50],
        ['p95 ms', (r) => r.untilAllHaveItMs.p95],
        ['server CPU', (r) => r.serverCpuCores],
      ],
      [
        { server: 'Parley (SQLite)', ...parley },
        { server: 'ws broadcast', ...baseline },
      ],
    );
    const deliveries = ratio(parley.deliveriesPerSecond, baseline.deliveriesPerSecond);
    console.log(`\nParley / ws broadcast, deliveries per second: ${deliveries}× (goal ≥ 0.5×)`);
    const { sizes, ...parleyFigures } = parley;
    const { sizes: _baselineSizes, ...baselineFigures } = baseline;
    return {
      workload: { members, rounds, warmupRounds: WARMUP_ROUNDS, storage: 'SQLite' },
      parley: parleyFigures,
      baseline: baselineFigures,
      frameBytes: sizes,
      ratio: deliveries,
      profile: await reportProfile(profiling),
    };
  });
}
