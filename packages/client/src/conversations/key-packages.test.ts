import { decodeCbor, encodeCbor, type RequestOf } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { testContext, testUser } from './context.testkit.js';
import { KeyPackages } from './key-packages.js';

const alice = testUser('alice');

function setup(serverCount: { count: number; lastResort: boolean }) {
  const uploads: RequestOf<'keys.upload'>[] = [];
  /** Someone claims one (for a Welcome that follows). */
  const claim = () => void (serverCount = { ...serverCount, count: serverCount.count - 1 });
  const test = testContext(alice, {
    'keys.count': () => serverCount,
    'keys.upload': (body) => {
      uploads.push(body);
      serverCount = { count: serverCount.count + body.keyPackages.length, lastResort: true };
      return { count: serverCount.count };
    },
  });
  return { ...test, uploads, claim, keyPackages: new KeyPackages(test.ctx) };
}

describe('KeyPackages', () => {
  it('a new device uploads a batch and a last-resort one without asking how many it has, then keeps the count', async () => {
    const { keyPackages, requester, uploads } = setup({ count: 0, lastResort: false });
    await keyPackages.ensure({ newDevice: true });
    expect(requester.ops()).toEqual(['keys.upload']);
    expect(uploads[0]?.keyPackages).toHaveLength(20);
    expect(uploads[0]?.lastResort).toBeInstanceOf(Uint8Array);
    // Every secret is kept, so each KeyPackage on the server can be joined with.
    await keyPackages.ensure();
    await keyPackages.ensure({ recount: true });
    expect(requester.ops()).toEqual(['keys.upload']);
  });

  it('counts the ones Welcomes use up and tops up when few are left, asking the server first', async () => {
    const { keyPackages, requester, uploads, claim } = setup({ count: 0, lastResort: false });
    await keyPackages.ensure({ newDevice: true });
    for (let used = 0; used < 15; used++) {
      claim();
      await keyPackages.used('one-time');
    }
    expect(requester.ops()).toEqual(['keys.upload']);
    claim();
    claim(); // one claim that no Welcome followed
    await keyPackages.used('one-time'); // 4 left by its own count: below the low-water mark of 5
    expect(requester.ops()).toEqual(['keys.upload', 'keys.count', 'keys.upload']);
    expect(uploads[1]?.keyPackages).toHaveLength(20 - 3); // the server said 3: back up to 20
    expect(uploads[1]?.lastResort).toBeUndefined();
  });

  it('asks the server when it knows no count, and again on a full sync once the count is old', async () => {
    const { keyPackages, requester, store } = setup({ count: 12, lastResort: true });
    await keyPackages.ensure();
    expect(requester.ops()).toEqual(['keys.count']);
    await keyPackages.ensure({ recount: true });
    expect(requester.ops()).toEqual(['keys.count']);
    // An hour later a full sync asks again: a claim that never became a Welcome went unseen.
    const saved = await store.getCached(`key-packages/${alice.device.deviceId}`);
    expect(saved).toBeDefined();
    const known = decodeCbor(saved ?? new Uint8Array()) as { count: number; lastResort: boolean; countedAt: number };
    await store.putCached(`key-packages/${alice.device.deviceId}`, encodeCbor({ ...known, countedAt: known.countedAt - 2 * 60 * 60_000 }));
    await keyPackages.ensure({ recount: true });
    expect(requester.ops()).toEqual(['keys.count', 'keys.count']);
  });

  it('replaces the last-resort KeyPackage as soon as a Welcome used it, topping up the one-time ones too', async () => {
    const { keyPackages, requester, uploads, store } = setup({ count: 0, lastResort: true });
    await keyPackages.used('last-resort');
    expect(requester.ops()).toEqual(['keys.count', 'keys.upload']);
    expect(uploads[0]?.keyPackages).toHaveLength(20);
    expect(uploads[0]?.lastResort).toBeInstanceOf(Uint8Array);
    // The count it keeps is the server's, so the next ensure asks nothing.
    expect((decodeCbor(await store.getCached(`key-packages/${alice.device.deviceId}`) ?? new Uint8Array()) as { count: number }).count).toBe(20);
  });

  it('uploads a new last-resort KeyPackage when the server says it has none (expired, or never uploaded)', async () => {
    const { keyPackages, requester, uploads } = setup({ count: 12, lastResort: false });
    await keyPackages.ensure();
    expect(requester.ops()).toEqual(['keys.count', 'keys.upload']);
    expect(uploads[0]?.keyPackages).toHaveLength(8);
    expect(uploads[0]?.lastResort).toBeInstanceOf(Uint8Array);
  });
});
