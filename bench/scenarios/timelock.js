/**
 * @module Bench scenario `timelock`: how fast a recipient opens a time-locked message without
 * the server (DESIGN §8), as 2048-bit modular squarings per second, against GMP in the same run.
 *
 * The bench writes a small C program, builds it with gcc against Debian's libgmp-dev in a
 * temporary directory, and has it compute a^(2^T) mod N with mpz_powm (GMP's fastest path for
 * this: Montgomery squaring in assembly). The same a^(2^T) mod N is then computed by Parley's
 * solver kernels: the WebAssembly SIMD kernel (what `fastestSquaring` picks) and the BigInt
 * reference. Every result must equal GMP's, so the bench also checks the kernels.
 *
 * N is a real RSW modulus (two 1024-bit primes from OpenSSL) and a a random base. Rates are
 * squarings per second of CPU time (the process's own user + system time), so other work on a
 * shared machine slows nothing down on paper; the solvers run in alternating rounds so warm-up
 * and frequency changes weigh on each alike.
 *
 * Knobs: BENCH_SQUARINGS (per round, default 1,000,000), BENCH_ROUNDS (default 3); --quick:
 * 100,000 squarings, one round. BENCH_TIMELOCK_BASELINE: the path of a JavaScript module whose
 * `wasmSquaring` runs beside the others, e.g. an earlier commit's kernel, for a before/after
 * comparison in one run (the README's time-lock section shows how).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { generatePrimeSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bigIntSquaring, wasmSquaring } from '@parley/crypto';

export const name = 'timelock';

const GMP_PROGRAM = String.raw`
#include <gmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
/* argv: N (hex), a (hex), T. Prints CPU seconds and a^(2^T) mod N (hex). */
int main(int argc, char **argv) {
  if (argc != 4) return 2;
  mpz_t n, a, e, y;
  mpz_inits(n, a, e, y, NULL);
  mpz_set_str(n, argv[1], 16);
  mpz_set_str(a, argv[2], 16);
  mpz_setbit(e, strtoul(argv[3], NULL, 10));
  struct timespec t0, t1;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
  mpz_powm(y, a, e, n);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
  printf("%.9f ", (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9);
  mpz_out_str(stdout, 16, y);
  printf("\n");
  return 0;
}
`;

function positive(variable, fallback) {
  const value = Number(process.env[variable] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${variable} must be a positive integer`);
  return value;
}

const cpuSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

/** Builds the GMP program; undefined (with the reason printed) when gcc or libgmp-dev is missing. */
async function buildGmp(dir) {
  const source = join(dir, 'squarings.c');
  const binary = join(dir, 'squarings');
  await writeFile(source, GMP_PROGRAM);
  const built = spawnSync('gcc', ['-O2', source, '-o', binary, '-lgmp'], { encoding: 'utf8' });
  if (built.status === 0) return binary;
  console.log(`GMP baseline unavailable (needs gcc and libgmp-dev): ${(built.stderr || built.error?.message || '').trim().split('\n')[0]}`);
  return undefined;
}

export async function run({ quick }) {
  const squarings = quick ? 100_000 : positive('BENCH_SQUARINGS', 1_000_000);
  const rounds = quick ? 1 : positive('BENCH_ROUNDS', 3);
  const modulus = BigInt(`0x${Buffer.from(generatePrimeSync(1024)).toString('hex')}`) * BigInt(`0x${Buffer.from(generatePrimeSync(1024)).toString('hex')}`);
  const base = BigInt(`0x${randomBytes(256).toString('hex')}`) % modulus;
  const baselinePath = process.env.BENCH_TIMELOCK_BASELINE;
  const baseline = baselinePath ? (await import(pathToFileURL(resolve(baselinePath)).href)).wasmSquaring : undefined;
  if (baselinePath && !baseline?.prepare) throw new Error(`BENCH_TIMELOCK_BASELINE: ${baselinePath} exports no wasmSquaring kernel`);
  const dir = await mkdtemp(join(tmpdir(), 'parley-bench-timelock-'));
  try {
    const gmp = await buildGmp(dir);
    const solvers = [
      ...(gmp
        ? [{ name: 'GMP mpz_powm (C, native)', square: () => {
            const [seconds, hex] = execFileSync(gmp, [modulus.toString(16), base.toString(16), String(squarings)], { encoding: 'utf8' }).trim().split(' ');
            return { seconds: Number(seconds), result: BigInt(`0x${hex}`) };
          } }]
        : []),
      ...[
        ['Parley WebAssembly SIMD', wasmSquaring],
        ...(baseline ? [['baseline WebAssembly', baseline]] : []),
        ['Parley BigInt reference', bigIntSquaring],
      ].map(([label, kernel]) => {
        const square = kernel.prepare(modulus);
        square(base, 2_000); // compile and warm up, off the clock
        return { name: label, square: () => {
          const started = cpuSeconds();
          const result = square(base, squarings);
          return { seconds: cpuSeconds() - started, result };
        } };
      }),
    ];
    const totals = solvers.map(() => 0);
    let expected;
    for (let round = 0; round < rounds; round++) {
      for (const [index, solver] of solvers.entries()) {
        const { seconds, result } = solver.square();
        expected ??= result;
        if (result !== expected) throw new Error(`${solver.name} computed a different a^(2^T) mod N than ${solvers[0].name}`);
        totals[index] += seconds;
      }
    }
    const rates = totals.map((seconds) => Math.round((squarings * rounds) / seconds));
    const gmpRate = gmp ? rates[0] : undefined;
    console.log(`\n2048-bit modular squarings, ${rounds} × ${squarings.toLocaleString('en')} per solver, CPU time; every result checked against the first\n`);
    console.log('| solver                    | squarings/s | µs each | × GMP |');
    console.log('|---------------------------|------------:|--------:|------:|');
    for (const [index, solver] of solvers.entries()) {
      const ratio = gmpRate ? (rates[index] / gmpRate).toFixed(2) : 'n/a';
      console.log(`| ${solver.name.padEnd(25)} | ${rates[index].toLocaleString('en').padStart(11)} | ${(1e6 / rates[index]).toFixed(2).padStart(7)} | ${ratio.padStart(5)} |`);
    }
    return {
      modulusBits: 2048,
      ...(baselinePath ? { baseline: baselinePath } : {}),
      squarings,
      rounds,
      solvers: solvers.map((solver, index) => ({ name: solver.name, squaringsPerSecond: rates[index], ...(gmpRate ? { ratioToGmp: Number((rates[index] / gmpRate).toFixed(3)) } : {}) })),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
