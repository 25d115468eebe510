/**
 * kill -9 of the server while clients send, light: one crash and restart. Every message the
 * server acknowledged is delivered exactly once. The heavy version (several crashes) is test/dos.
 */
import { describe, expect, it } from 'vitest';
import { crashScenario } from '../support/crash.js';

describe('crash safety', () => {
  it('delivers every acknowledged message exactly once across a kill -9 and restart', async () => {
    const result = await crashScenario({ rounds: 1, sendMs: [700, 1_000] });
    expect(result.acknowledged).toBeGreaterThan(3);
    expect(result.lost).toEqual([]);
    expect(result.duplicated).toEqual([]);
    expect(result.unexpected).toEqual([]);
  });
});
