/**
 * The repository itself: no merge left half done (a conflict marker once sat in the README for a
 * day), and no source file grown past what one reader takes in (issue #10).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Issue #10: a longer module is asking to be split along its seams (STYLE §3). */
const MAX_SOURCE_LINES = 300;

/** Every .ts and .tsx file under `dir`, tracked or not, but not tests, test kits or declarations. */
function nonTestSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : nonTestSources(path);
    return /\.tsx?$/.test(entry.name) && !/\.(test|testkit)\.tsx?$|\.d\.ts$/.test(entry.name) ? [path] : [];
  });
}

function lineCount(path: string): number {
  const text = readFileSync(path, 'utf8');
  return text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

describe('the repository', () => {
  it('holds no merge conflict markers in tracked files', () => {
    // git grep exits 1 when nothing matches, 0 with matches, above 1 on an error.
    const found = spawnSync('git', ['grep', '-nE', '^(<<<<<<<|>>>>>>>)( |$)', '--', '.'], { cwd: root, encoding: 'utf8' });
    expect(found.status, found.stderr).not.toBeGreaterThan(1);
    expect(found.stdout).toBe('');
  });

  it(`has no source file under packages/*/src over ${MAX_SOURCE_LINES} lines`, () => {
    const packages = join(root, 'packages');
    const sources = readdirSync(packages).flatMap((name) => nonTestSources(join(packages, name, 'src')));
    expect(sources.length).toBeGreaterThan(100);
    const tooLong = sources.filter((path) => lineCount(path) > MAX_SOURCE_LINES).map((path) => `${relative(root, path)}: ${lineCount(path)} lines`);
    expect(tooLong).toEqual([]);
  });
});
