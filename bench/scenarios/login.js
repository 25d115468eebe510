/**
 * @module Bench scenario `login`: OPAQUE password logins per second per core, proof of work off.
 * Each login is a new connection (Noise handshake), login.start and login.finish (RFC 9807 §6),
 * then close. The client's side is costly by design (Argon2id stretches the password), so on a
 * small machine the load generators cannot keep the server busy; the figure that means something
 * is therefore logins per second of the server's own CPU time, against a plain `ws` server
 * answering the same exchanges with frames of the same sizes.
 */
import { join } from 'node:path';
import { PASSWORD, prepareFixture, startLoadedNode } from '../lib/fixture.js';
import { startBaseline } from '../lib/processes.js';
import { printErrors, printTable, ratio, round } from '../lib/report.js';
import { positive, profileTarget, reportProfile, timing, withLoadGenerators } from '../lib/scenario.js';

export const name = 'login';
/** Logins each load generator keeps going at once: one stretches its password while another waits for the server. */
const CONCURRENCY = 2;

async function measure(pool, { target, server, accounts, durationMs, sizes }) {
  const before = server.stats().cpuSeconds;
  const started = performance.now();
  const results = await pool.all('login', () => ({ target, url: server.url, sizes, accounts, password: PASSWORD, durationMs, concurrency: CONCURRENCY }));
  const seconds = (performance.now() - started) / 1000;
  const serverCpu = server.stats().cpuSeconds - before;
  const logins = results.reduce((sum, result) => sum + result.logins, 0);
  return {
    logins,
    loginsPerSecond: round(logins / seconds),
    serverCpuCores: round(serverCpu / seconds, 2),
    loginsPerCoreSecond: round(logins / serverCpu),
    serverCpuMsPerLogin: round((1000 * serverCpu) / logins, 2),
    errors: results.reduce((sum, result) => sum + result.errors, 0),
    firstError: results.find((result) => result.firstError)?.firstError,
    sizes: results.find((result) => result.sizes)?.sizes,
  };
}

export async function run({ quick, profile, resultsDir }) {
  const accountCount = positive('BENCH_LOGIN_ACCOUNTS', quick ? 50 : 200);
  const { durationMs } = timing(quick);
  const profiling = profileTarget(profile, resultsDir, name);
  return withLoadGenerators(async (pool, dir) => {
    const fixture = await prepareFixture(pool, { resultsDir, accounts: accountCount });
    const node = await startLoadedNode(pool, { dataDir: join(dir, 'node'), keyFile: fixture.keyFile }, { accounts: fixture.accounts }, profiling);
    let parley;
    try {
      parley = await measure(pool, { target: 'parley', server: node, accounts: fixture.accounts, durationMs });
    } finally {
      await node.stop();
    }
    const relay = await startBaseline();
    let baseline;
    try {
      baseline = await measure(pool, { target: 'baseline', server: relay, accounts: fixture.accounts, durationMs, sizes: parley.sizes });
    } finally {
      await relay.stop();
    }

    console.log(`\npassword logins on new connections for ${durationMs / 1000} s, ${pool.workers.length * CONCURRENCY} at a time\n`);
    const rows = [
      { server: 'Parley (SQLite)', ...parley },
      { server: 'ws server', ...baseline },
    ];
    printTable(
      [
        ['server', (r) => r.server],
        ['logins', (r) => r.logins],
        ['logins/s', (r) => r.loginsPerSecond],
        ['server CPU', (r) => r.serverCpuCores],
        ['server CPU ms/login', (r) => r.serverCpuMsPerLogin],
        ['logins/s per core', (r) => r.loginsPerCoreSecond],
      ],
      rows,
    );
    printErrors(rows.map((r) => ({ label: r.server, ...r })));
    const perCore = ratio(parley.loginsPerCoreSecond, baseline.loginsPerCoreSecond);
    console.log(`\nParley / ws, logins per second per core: ${perCore}× (the clients' Argon2id sets the wall-clock rate here)`);
    const { sizes, ...parleyFigures } = parley;
    const { sizes: _baselineSizes, ...baselineFigures } = baseline;
    return {
      workload: { accounts: accountCount, seconds: durationMs / 1000, concurrency: pool.workers.length * CONCURRENCY, proofOfWork: 'off (PARLEY_POW_MAX_DIFFICULTY=0)' },
      parley: parleyFigures,
      baseline: baselineFigures,
      frameBytes: sizes,
      ratio: perCore,
      profile: await reportProfile(profiling),
    };
  });
}
