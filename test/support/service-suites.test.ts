/** Which PostgreSQL and Redis suites a run leaves out, and the lines that say so. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { skippedSuites, skippedSuitesReport, unavailableSuitePatterns } from './service-suites.js';

describe('service suites', () => {
  const root = mkdtempSync(join(tmpdir(), 'parley-suites-'));
  for (const file of ['pkg/src/store.pg.test.ts', 'pkg/src/bus.redis.test.ts', 'pkg/src/plain.test.ts', 'e2e/nodes.pg-redis.test.ts', 'pkg/node_modules/dep/x.pg.test.ts']) {
    mkdirSync(join(root, file, '..'), { recursive: true });
    writeFileSync(join(root, file), '');
  }
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('leaves out every suite whose servers are not all configured', () => {
    expect(unavailableSuitePatterns({})).toEqual(['**/*.pg.test.ts', '**/*.redis.test.ts', '**/*.pg-redis.test.ts']);
    expect(unavailableSuitePatterns({ PARLEY_TEST_REDIS_URL: 'redis://h' })).toEqual(['**/*.pg.test.ts', '**/*.pg-redis.test.ts']);
    expect(unavailableSuitePatterns({ PARLEY_TEST_REDIS_URL: 'redis://h', PARLEY_TEST_POSTGRES_URL: 'postgres://h' })).toEqual([]);
  });

  it('names each left-out suite with the variables it lacks, outside node_modules', () => {
    expect(skippedSuites(root, ['pkg', 'e2e'], { PARLEY_TEST_REDIS_URL: 'redis://h' })).toEqual([
      { file: 'e2e/nodes.pg-redis.test.ts', missing: ['PARLEY_TEST_POSTGRES_URL'] },
      { file: 'pkg/src/store.pg.test.ts', missing: ['PARLEY_TEST_POSTGRES_URL'] },
    ]);
    expect(skippedSuites(root, ['pkg', 'e2e'], { PARLEY_TEST_REDIS_URL: 'redis://h', PARLEY_TEST_POSTGRES_URL: 'postgres://h' })).toEqual([]);
  });

  it('reports them in aligned lines, and says nothing when none is left out', () => {
    expect(skippedSuitesReport(skippedSuites(root, ['pkg', 'e2e'], {}))).toEqual([
      'Left out 3 suites that need PostgreSQL or Redis (set the variables to run them, as .ci/run does):',
      '  e2e/nodes.pg-redis.test.ts  PARLEY_TEST_POSTGRES_URL and PARLEY_TEST_REDIS_URL are unset',
      '  pkg/src/bus.redis.test.ts   PARLEY_TEST_REDIS_URL is unset',
      '  pkg/src/store.pg.test.ts    PARLEY_TEST_POSTGRES_URL is unset',
    ]);
    expect(skippedSuitesReport([])).toEqual([]);
  });
});
