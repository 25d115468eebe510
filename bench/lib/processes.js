/**
 * @module The processes of a benchmark: Parley nodes (`parley serve`) and baseline relays, each in
 * its own process so their CPU time and memory are read apart from the load generators', from
 * /proc (Linux). Every child gets the hard limit on open files as its soft limit, for scenarios
 * with thousands of connections.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const PARLEY_BIN = join(root, 'packages/cli/bin/parley.js');
const BASELINE_BIN = fileURLToPath(new URL('./baseline-server.js', import.meta.url));

/**
 * The server defaults a benchmark must lift, through the environment as an operator would: rate
 * limits per connection and account, connections per address, proof of work, and a handshake
 * deadline a machine opening thousands of connections at once could miss.
 */
export const BENCH_SERVER_ENV = {
  PARLEY_CONNECTION_REQUESTS_PER_SECOND: '1000000',
  PARLEY_ACCOUNT_REQUESTS_PER_SECOND: '1000000',
  PARLEY_MAX_CONNECTIONS_PER_IP: '1000000',
  PARLEY_POW_MAX_DIFFICULTY: '0',
  PARLEY_HANDSHAKE_TIMEOUT_MS: '60000',
};

function shell(command) {
  return execFileSync('sh', ['-c', command], { encoding: 'utf8' }).trim();
}

/** The hard limit on open files of this process's children (Infinity if unlimited). */
export function fileLimit() {
  const hard = shell('ulimit -Hn');
  return hard === 'unlimited' ? Infinity : Number(hard);
}

const CLOCK_TICKS = Number(shell('getconf CLK_TCK'));

/** A process's CPU time so far (user + system) and resident memory, from /proc. */
export function processStats(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may hold spaces: utime and stime are the 14th and 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuSeconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS, rssBytes: Number(rss?.[1] ?? 0) * 1024 };
}

export function requireProc() {
  if (!existsSync('/proc/self/stat')) throw new Error('the benchmarks read process CPU and memory from /proc: run them on Linux');
}

/** Runs `node ...args` with the soft limit on open files raised to the hard one (Node cannot raise its own). */
export function spawnNode(args, options) {
  return spawn('sh', ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"', 'sh', process.execPath, ...args], options);
}

/** Starts a server child and resolves once its stdout matches `ready` (whose first group is its URL). */
function startChild(args, ready, env) {
  const child = spawnNode(args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const url = ready.exec(stdout)?.[1];
      if (!url) return;
      resolve({
        url,
        pid: child.pid,
        stats: () => processStats(child.pid),
        stderr: () => stderr,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    });
    void exited.then((code) => reject(new Error(`${args.at(0)} exited with ${code} before it was ready: ${stderr.trim().split('\n').at(-1) ?? ''}`)));
  });
}

/**
 * Starts a Parley node on a free loopback port. `profileDir`: write a V8 CPU profile there when
 * it stops (node --cpu-prof), for `npm run bench -- --profile`.
 */
export function startParley({ dataDir, keyFile, postgresUrl, redisUrl, redisNamespace, profileDir, profileName }) {
  const profile = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${profileName}.cpuprofile`] : [];
  const storage = postgresUrl ? ['--postgres', postgresUrl] : [];
  const bus = redisUrl ? ['--redis', redisUrl, '--redis-namespace', redisNamespace] : [];
  const args = [...profile, PARLEY_BIN, 'serve', '--port', '0', '--log-level', 'warn', '--data', dataDir, '--key-file', keyFile, ...storage, ...bus];
  return startChild(args, /parley listening on (\S+)\nserver key \S+/, BENCH_SERVER_ENV);
}

/** Starts a baseline relay (./baseline.js), linked to the relay at `peerUrl` if given. */
export function startBaseline(peerUrl) {
  return startChild([BASELINE_BIN, ...(peerUrl ? [peerUrl] : [])], /baseline listening on (\S+)/, {});
}
