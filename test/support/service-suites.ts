/**
 * @module Suites that need a live PostgreSQL or Redis, named `*.pg.test.ts`, `*.redis.test.ts`
 * and `*.pg-redis.test.ts`. Each runs only when all its servers are configured; the others are
 * left out of the run, and every run says which ones and why, so a green run without them is
 * never mistaken for a complete one.
 */
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Reporter } from 'vitest/node';

const NEEDS: readonly { suffix: string; variables: readonly string[] }[] = [
  { suffix: '.pg.test.ts', variables: ['PARLEY_TEST_POSTGRES_URL'] },
  { suffix: '.redis.test.ts', variables: ['PARLEY_TEST_REDIS_URL'] },
  { suffix: '.pg-redis.test.ts', variables: ['PARLEY_TEST_POSTGRES_URL', 'PARLEY_TEST_REDIS_URL'] },
];

/** Glob patterns of the suites whose servers are not configured in `env`, for vitest's `exclude`. */
export function unavailableSuitePatterns(env: Readonly<Record<string, string | undefined>>): string[] {
  return NEEDS.filter(({ variables }) => variables.some((variable) => !env[variable])).map(({ suffix }) => `**/*${suffix}`);
}

export interface SkippedSuite {
  /** Relative to the repository root. */
  file: string;
  missing: string[];
}

/** The service suites under `dirs` (relative to `root`) that `env` leaves out, and the variables each lacks. */
export function skippedSuites(root: string, dirs: readonly string[], env: Readonly<Record<string, string | undefined>>): SkippedSuite[] {
  const skipped: SkippedSuite[] = [];
  for (const dir of dirs) {
    for (const name of readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })) {
      if (name.split(/[\\/]/).includes('node_modules')) continue;
      const needs = NEEDS.find(({ suffix }) => name.endsWith(suffix));
      const missing = needs?.variables.filter((variable) => !env[variable]) ?? [];
      if (missing.length > 0) skipped.push({ file: relative(root, join(root, dir, name)), missing });
    }
  }
  return skipped.sort((a, b) => a.file.localeCompare(b.file));
}

/** The lines that say which suites were left out and why; none when nothing was. */
export function skippedSuitesReport(skipped: readonly SkippedSuite[]): string[] {
  if (skipped.length === 0) return [];
  const width = Math.max(...skipped.map(({ file }) => file.length));
  return [
    `Left out ${skipped.length} suite${skipped.length === 1 ? '' : 's'} that need PostgreSQL or Redis (set the variables to run them, as .ci/run does):`,
    ...skipped.map(({ file, missing }) => `  ${file.padEnd(width)}  ${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} unset`),
  ];
}

/** Prints `skippedSuitesReport` at the end of every run, below vitest's summary. */
export class SkippedSuitesReporter implements Reporter {
  constructor(
    private readonly root: string,
    private readonly dirs: readonly string[],
  ) {}

  onTestRunEnd(): void {
    const lines = skippedSuitesReport(skippedSuites(this.root, this.dirs, process.env));
    if (lines.length > 0) process.stdout.write(`\n${lines.join('\n')}\n`);
  }
}
