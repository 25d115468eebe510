/**
 * @module The relay workload, shared by the `relay` and `nodes` scenarios: connections in pairs,
 * each sending its conversation's MLS message to its peer, which acknowledges every push. Run at
 * full load (one message in flight per connection) and at half load (paced at half the rate full
 * load reached), against Parley or the baseline, with the server's CPU read over the measured
 * window.
 */
import { percentile, ratio, round } from './report.js';
import { deal } from './workers.js';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const CONNECT_CONCURRENCY = 32;
/** Loopback source addresses the connections spread over, so no one address runs short of ports. */
export const localAddress = (index) => `127.0.0.${1 + (index % 16)}`;

/**
 * The two ends of each fixture conversation: end 2p is the conversation's creator, 2p+1 its
 * peer; `urlOf(end)` picks the node each end connects to.
 */
export function pairEnds(fixture, pairCount, urlOf) {
  const ends = [];
  for (let p = 0; p < pairCount; p++) {
    const group = fixture.pairs[p];
    for (const side of [0, 1]) {
      const id = 2 * p + side;
      const account = fixture.accounts[id];
      ends.push({ id, peerId: id ^ 1, url: urlOf(id), account, localAddress: localAddress(id), groupId: group.groupId, epoch: group.epoch, message: group.messages[account.username] });
    }
  }
  return ends;
}

/** Deals pairs to workers whole, so both ends of a conversation share one clock. */
function dealPairs(ends, workers) {
  const pairs = [];
  for (let i = 0; i < ends.length; i += 2) pairs.push(ends.slice(i, i + 2));
  return deal(pairs, workers).map((slice) => slice.flat());
}

/** The first error a server logged (pino JSON on stderr): what stands behind an INTERNAL reply. */
export function firstLoggedError(servers) {
  for (const server of servers) {
    for (const line of server.stderr().split('\n')) {
      try {
        const entry = JSON.parse(line);
        if (entry.level >= 50) return `${entry.msg}${entry.err ? `: ${entry.err.message}` : ''}`.slice(0, 300);
      } catch {
        // Not a log line.
      }
    }
  }
  return undefined;
}

/** Runs one load over all workers, reading the servers' CPU over the measured window. */
async function measure(pool, servers, { warmupMs, durationMs, rateOf }) {
  const running = pool.all('relay', (i) => ({ warmupMs, durationMs, rate: rateOf?.(i) }));
  await sleep(warmupMs);
  const before = servers.map((server) => server.stats().cpuSeconds);
  await sleep(durationMs);
  const serverCpu = servers.reduce((sum, server, i) => sum + server.stats().cpuSeconds - before[i], 0);
  const results = await running;
  const seconds = durationMs / 1000;
  const latencies = results.flatMap((result) => result.latencies);
  const errors = results.reduce((sum, result) => sum + result.errors, 0);
  const unpushed = results.reduce((sum, result) => sum + result.unpushed, 0);
  return {
    messagesPerSecond: round(latencies.length / seconds),
    latencyMs: { p50: round(percentile(latencies, 50), 2), p99: round(percentile(latencies, 99), 2) },
    serverCpuCores: round(serverCpu / seconds, 2),
    loadGeneratorCpuCores: round(results.reduce((sum, result) => sum + result.cpuSeconds, 0) / seconds, 2),
    errors,
    firstError: results.find((result) => result.firstError)?.firstError,
    unpushed,
    serverError: errors > 0 ? firstLoggedError(servers) : undefined,
    sizes: Object.assign({}, ...results.map((result) => result.sizes).reverse()),
  };
}

/**
 * Connects `ends` (from `pairEnds`) to `target` ('parley' or 'baseline'), then measures full
 * load and, with `half`, half load. `servers`: the processes whose CPU counts. `sizes`: Parley's
 * frame sizes, which the baseline copies. Returns { full, half?, sizes }.
 */
export async function runRelay(pool, { target, ends, servers, sizes, warmupMs, durationMs, half = true }) {
  const slices = dealPairs(ends, pool.workers.length);
  const connected = await pool.all('connect', (i) => ({ target, sizes, specs: slices[i], concurrency: CONNECT_CONCURRENCY }));
  try {
    const { sizes, ...full } = await measure(pool, servers, { warmupMs, durationMs });
    const result = { full, sizes: { ...connected[0]?.sizes, ...sizes } };
    if (half) {
      const rate = full.messagesPerSecond / 2;
      const { sizes: _same, ...figures } = await measure(pool, servers, { warmupMs, durationMs, rateOf: (i) => (rate * slices[i].length) / ends.length });
      result.half = figures;
    }
    return result;
  } finally {
    await pool.all('disconnect');
  }
}

/** The record kept for one run: its figures without the frame sizes (kept once per scenario). */
export function summary(run) {
  const { sizes: _sizes, ...figures } = run;
  return figures;
}

export const relayRatio = (parley, baseline) => ratio(parley.messagesPerSecond, baseline.messagesPerSecond);
