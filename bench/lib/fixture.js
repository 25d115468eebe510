/**
 * @module The benchmark fixture, off the clock: accounts, 1:1 conversations (accounts 2i and
 * 2i+1) and one big group, made once by the load generators (./fixture-build.js) and cached in
 * bench/results/fixture with the server key file they belong to, then loaded into each fresh
 * server a scenario starts. Making 1,000 accounts takes minutes (each client stretches its
 * password with Argon2id); loading them takes seconds.
 *
 * The cache is rebuilt when the versions of what made it change (OPAQUE, MLS, the key file).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startParley } from './processes.js';
import { deal } from './workers.js';

export const PASSWORD = 'bench password, not a secret';
/** Members added per commit when building the big group: keeps each commit bundle well under the 1 MiB envelope. */
const FANOUT_BATCH = 250;
const REPLAY_CONCURRENCY = 16;
const root = fileURLToPath(new URL('../..', import.meta.url));

async function readJson(file, fallback) {
  return existsSync(file) ? JSON.parse(await readFile(file, 'utf8')) : fallback;
}

/** Bumped when what the cache holds changes shape. */
const FIXTURE_FORMAT = 1;

/** What the cache depends on: a change to any of these makes it stale. */
async function cacheVersion() {
  const hash = createHash('sha256').update(`format ${FIXTURE_FORMAT}`);
  for (const file of ['node_modules/ts-mls/package.json', 'node_modules/@serenity-kit/opaque/package.json', 'packages/server/src/server-keys.ts']) {
    hash.update(await readFile(join(root, file)));
  }
  return hash.digest('hex').slice(0, 16);
}

const usernameOf = (index) => `bench-${String(index).padStart(6, '0')}`;

async function addAccounts(pool, dir, keyFile, accounts, count) {
  const missing = Array.from({ length: count - accounts.length }, (_, i) => usernameOf(accounts.length + i));
  console.log(`fixture: registering ${missing.length} accounts with OPAQUE, once (cached in bench/results/fixture)`);
  const work = await mkdtemp(join(tmpdir(), 'parley-fixture-'));
  // The first server to use the key file creates it; these registrations teach us each account's record.
  const server = await startParley({ dataDir: work, keyFile });
  try {
    const made = await pool.all('enrol', (i) => ({ url: server.url, password: PASSWORD, usernames: deal(missing, pool.workers.length)[i] }));
    const byName = new Map(made.flat().map((account) => [account.username, account]));
    accounts.push(...missing.map((name) => byName.get(name)));
  } finally {
    await server.stop();
    await rm(work, { recursive: true, force: true });
  }
  await writeFile(join(dir, 'accounts.json'), JSON.stringify(accounts));
}

async function addPairs(pool, dir, accounts, pairs, count) {
  const wanted = Array.from({ length: count - pairs.length }, (_, i) => pairs.length + i);
  console.log(`fixture: making ${wanted.length} MLS conversations, once`);
  const slices = deal(wanted, pool.workers.length);
  const groups = await Promise.all(
    pool.workers.map(async (worker, i) => {
      const out = [];
      for (const p of slices[i]) out.push({ pair: p, group: await worker.call('make-group', { kind: 'direct', creator: accounts[2 * p], members: [accounts[2 * p + 1]], batch: 1, replies: true }) });
      return out;
    }),
  );
  for (const { pair, group } of groups.flat().sort((a, b) => a.pair - b.pair)) pairs[pair] = group;
  await writeFile(join(dir, 'pairs.json'), JSON.stringify(pairs));
}

/**
 * The fixture with at least `accounts` accounts, `pairs` conversations and, with `fanout`, a
 * group of that many members (account 0 created it), made now if the cache lacks them.
 */
export async function prepareFixture(pool, { resultsDir, accounts: accountCount = 0, pairs: pairCount = 0, fanout }) {
  const dir = join(resultsDir, 'fixture');
  const version = await cacheVersion();
  const keyFile = join(dir, 'server-keys.json');
  // Everything cached belongs to the key file: without it, start again.
  if ((await readJson(join(dir, 'version.json'), {})).version !== version || !existsSync(keyFile)) {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'version.json'), JSON.stringify({ version }));
  }
  const accounts = await readJson(join(dir, 'accounts.json'), []);
  const needed = Math.max(accountCount, 2 * pairCount, fanout ?? 0);
  if (accounts.length < needed) await addAccounts(pool, dir, keyFile, accounts, needed);
  const pairs = await readJson(join(dir, 'pairs.json'), []);
  if (pairs.length < pairCount) await addPairs(pool, dir, accounts, pairs, pairCount);
  let group;
  if (fanout) {
    const file = join(dir, `fanout-${fanout}.json`);
    group = await readJson(file, undefined);
    if (!group) {
      console.log(`fixture: making a ${fanout}-member MLS group, once`);
      group = await pool.workers[0].call('make-group', { kind: 'group', creator: accounts[0], members: accounts.slice(1, fanout), batch: FANOUT_BATCH, replies: false });
      await writeFile(file, JSON.stringify(group));
    }
  }
  return { keyFile, accounts: accounts.slice(0, needed), pairs: pairs.slice(0, pairCount), fanout: group };
}

/** Loads `accounts` and `groups` (their creators being among the accounts) into the server at `url`. */
export async function loadFixture(pool, url, { accounts, groups = [] }) {
  const count = pool.workers.length;
  const accountSlices = deal(accounts, count);
  await pool.all('replay-accounts', (i) => ({ url, accounts: accountSlices[i], concurrency: REPLAY_CONCURRENCY }));
  const byName = new Map(accounts.map((account) => [account.username, account]));
  const groupSlices = deal(groups.map((group) => ({ group, creator: byName.get(group.creator) })), count);
  await pool.all('replay-groups', (i) => ({ url, groups: groupSlices[i], concurrency: REPLAY_CONCURRENCY }));
}

/**
 * A Parley node (`startParley` options) whose database holds `contents`, loaded through a node
 * started and stopped first: the node measured starts fresh, and its CPU profile (`profiling`)
 * holds only the measured work.
 */
export async function startLoadedNode(pool, options, contents, profiling = {}) {
  const loader = await startParley(options);
  try {
    await loadFixture(pool, loader.url, contents);
  } finally {
    await loader.stop();
  }
  return startParley({ ...options, ...profiling });
}
