/**
 * kill -9 of the server while clients send and receive, then restart, five times (DESIGN §2:
 * lose no data): every message the server acknowledged is delivered exactly once, none lost.
 */
import { describe, expect, it } from 'vitest';
import { report } from '../support/abuse.js';
import { crashScenario } from '../support/crash.js';

describe('kill -9 while clients send, five times', () => {
  it('delivers every acknowledged message exactly once', async () => {
    const result = await crashScenario({ rounds: 5, sendMs: [800, 2_000], group: true });
    report('kill -9 and restart, 5 times', {
      acknowledged: `${result.acknowledged} messages (the send resolved)`,
      unacknowledged: `${result.unacknowledged} sends failed as the server died; ${result.unacknowledgedDelivered} of their deliveries arrived anyway (stored before the crash, reply lost)`,
      lost: result.lost.length,
      duplicated: result.duplicated.length,
      unexpected: result.unexpected.length,
      'restart to ready (s)': result.restartSeconds,
    });
    expect(result.acknowledged).toBeGreaterThan(20);
    expect(result.lost).toEqual([]);
    expect(result.duplicated).toEqual([]);
    expect(result.unexpected).toEqual([]);
  });
});
