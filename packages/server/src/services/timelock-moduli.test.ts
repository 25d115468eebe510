import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../test/support/harness.js';
import { createLogger } from '../logger.js';
import { openSqliteStorage } from '../storage/index.js';
import type { KyselyStorage } from '../storage/kysely-storage.js';
import { TimelockModuli } from './timelock-moduli.js';

const DAY = 86_400_000;

describe('time-lock moduli', () => {
  const dir = tempDir('moduli');
  const file = join(dir.path, 'parley.db');
  let storage: KyselyStorage;
  let now = 1_800_000_000_000;
  const clock = () => now;
  const options = { bits: 2048, rotationMs: 30 * DAY, sealKey: new Uint8Array(32).fill(3) };
  beforeAll(async () => {
    storage = await openSqliteStorage(file);
  });
  afterAll(async () => {
    await storage.close();
    dir.remove();
  });

  it('makes one, keeps it for the rotation period, then rotates; other nodes adopt it; old ones go once unused', async () => {
    const moduli = new TimelockModuli(storage, createLogger('silent'), options, clock);
    const [first, again] = await Promise.all([moduli.current(), moduli.current()]);
    expect(again).toBe(first);
    expect(first.trapdoor.modulus.byteLength).toBe(256);
    now += 29 * DAY;
    expect(await moduli.current()).toBe(first);

    now += 2 * DAY;
    const second = await moduli.current();
    expect(second.id).not.toEqual(first.id);
    // A rotated-out modulus is still there for the releases of its locks...
    expect((await moduli.byId(first.id))?.trapdoor.p).toEqual(first.trapdoor.p);
    // ...and a second node (same key file) adopts the newest one rather than making its own.
    const otherNode = new TimelockModuli(storage, createLogger('silent'), options, clock);
    expect((await otherNode.current()).id).toEqual(second.id);
    expect((await otherNode.byId(first.id))?.trapdoor.q).toEqual(first.trapdoor.q);

    // With no pending lock on it, the old one is deleted once past its period.
    expect(await moduli.retire()).toBe(1);
    expect(await moduli.byId(first.id)).toBeUndefined();
    expect((await storage.listTimelockModuli()).map((m) => m.id)).toEqual([second.id]);
  });

  it('keeps trapdoors sealed at rest: the database holds no prime, and another key file opens none', async () => {
    const moduli = new TimelockModuli(storage, createLogger('silent'), options, clock);
    const { trapdoor } = await moduli.current();
    const stored = Buffer.concat(['parley.db', 'parley.db-wal'].map((name) => readFileSync(join(dir.path, name))));
    expect(stored.includes(Buffer.from(trapdoor.modulus))).toBe(true);
    expect(stored.includes(Buffer.from(trapdoor.p))).toBe(false);
    expect(stored.includes(Buffer.from(trapdoor.q))).toBe(false);
    const stranger = new TimelockModuli(storage, createLogger('silent'), { ...options, sealKey: new Uint8Array(32).fill(4) }, clock);
    await expect(stranger.current()).rejects.toMatchObject({ code: 'SEAL_FAILED' });
  });

  it('refuses a modulus size outside 2048 to 4096 bits', () => {
    for (const bits of [1024, 2047, 2056, 8192]) expect(() => new TimelockModuli(storage, createLogger('silent'), { ...options, bits }, clock)).toThrow(RangeError);
  });
});
