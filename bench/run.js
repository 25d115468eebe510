#!/usr/bin/env node
/**
 * @module `npm run bench`: runs the benchmark scenarios in `bench/scenarios/`, one after another
 * so each has the machine to itself, and records what they measured in
 * `bench/results/<time>.json` with the machine it ran on. Every scenario measures its subject
 * against a baseline in the same run and reports ratios: these machines are noisy, so an absolute
 * figure from another day means little.
 *
 *   npm run bench                      every scenario
 *   npm run bench -- --quick           smaller workloads, for a quick look
 *   npm run bench -- --only a,b        just the named scenarios
 *   npm run bench -- --profile         scenarios that start a server write its CPU profile
 *
 * A scenario module exports `name` and `run({ quick, profile, root, resultsDir })`, which prints
 * its own table and returns a JSON-able record.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as fanout from './scenarios/fanout.js';
import * as idle from './scenarios/idle.js';
import * as login from './scenarios/login.js';
import * as messaging from './scenarios/messaging.js';
import * as mls from './scenarios/mls.js';
import * as nodes from './scenarios/nodes.js';
import * as relay from './scenarios/relay.js';
import * as timelock from './scenarios/timelock.js';

const scenarios = [messaging, relay, fanout, idle, login, nodes, mls, timelock];

const root = fileURLToPath(new URL('..', import.meta.url));
const resultsDir = join(root, 'bench', 'results');

async function main() {
  const { values } = parseArgs({ options: { quick: { type: 'boolean' }, profile: { type: 'boolean' }, only: { type: 'string' } } });
  const only = values.only?.split(',').map((name) => name.trim());
  const unknown = only?.filter((name) => !scenarios.some((scenario) => scenario.name === name)) ?? [];
  if (unknown.length > 0) throw new Error(`no scenario ${unknown.join(', ')}; there are ${scenarios.map((s) => s.name).join(', ')}`);
  const loadBefore = loadavg()[0];
  const date = new Date().toISOString();
  await mkdir(resultsDir, { recursive: true });
  const records = {};
  for (const scenario of scenarios.filter((s) => !only || only.includes(s.name))) {
    console.log(`\n== ${scenario.name} ==`);
    records[scenario.name] = await scenario.run({ quick: values.quick ?? false, profile: values.profile ?? false, root, resultsDir });
  }
  const record = {
    date,
    quick: values.quick ?? false,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
      node: process.version,
      platform: process.platform,
      // One-minute load average before and after the run: other work on the machine skews the numbers.
      loadAverage: [Number(loadBefore.toFixed(2)), Number(loadavg()[0].toFixed(2))],
    },
    scenarios: records,
  };
  const file = join(resultsDir, `${date.replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify(record, null, 2)}\n`);
  console.log(`\nresults: ${file.slice(root.length)}`);
}

try {
  await main();
} catch (error) {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
