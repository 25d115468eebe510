/** @module What the capacity scenarios share: their knobs, their load generators, their temp dirs and profiles. */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireProc } from './processes.js';
import { topSelfTime } from './report.js';
import { startWorkers } from './workers.js';

/** A positive integer from the environment, or `fallback`. */
export function positive(name, fallback) {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, not ${process.env[name]}`);
  return value;
}

/** How long each measured load runs, after its warm-up: BENCH_SECONDS, shorter with --quick. */
export function timing(quick) {
  const seconds = positive('BENCH_SECONDS', quick ? 2 : 10);
  return { warmupMs: Math.min(2_000, seconds * 400), durationMs: seconds * 1000 };
}

/**
 * Runs `body(pool, tempDir)` with BENCH_WORKERS load generator processes (default: one per core
 * but one, from 2 to 8) and a temp directory, both gone afterwards.
 */
export async function withLoadGenerators(body) {
  requireProc();
  const pool = await startWorkers(positive('BENCH_WORKERS', Math.max(2, Math.min(8, cpus().length - 1))));
  const dir = await mkdtemp(join(tmpdir(), 'parley-bench-'));
  try {
    return await body(pool, dir);
  } finally {
    await pool.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Where `startParley` writes a node's CPU profile with --profile, and under which name. */
export function profileTarget(profile, resultsDir, name) {
  if (!profile) return {};
  return { profileDir: join(resultsDir, 'profiles'), profileName: `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}` };
}

/** Prints where the profile is and the functions that spent most time themselves; returns them. */
export async function reportProfile({ profileDir, profileName }) {
  if (!profileDir) return undefined;
  const file = join(profileDir, `${profileName}.cpuprofile`);
  const top = await topSelfTime(file, 12);
  console.log(`\nCPU profile of the Parley node: ${file} (open it in Chrome DevTools). Most self time:`);
  for (const { name, location, selfMs, percent } of top) console.log(`  ${String(percent).padStart(5)}%  ${String(selfMs).padStart(8)} ms  ${name}  ${location}`);
  return { file, top };
}
