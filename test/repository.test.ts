/** The repository itself: no merge left half done (a conflict marker once sat in the README for a day). */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('the repository', () => {
  it('holds no merge conflict markers in tracked files', () => {
    // git grep exits 1 when nothing matches, 0 with matches, above 1 on an error.
    const found = spawnSync('git', ['grep', '-nE', '^(<<<<<<<|>>>>>>>)( |$)', '--', '.'], { cwd: root, encoding: 'utf8' });
    expect(found.status, found.stderr).not.toBeGreaterThan(1);
    expect(found.stdout).toBe('');
  });
});
