/** The presence store conformance suite: every PresenceStore passes it unchanged (STYLE §2). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PresenceChange, PresenceStore } from './presence-store.js';

/** Two nodes' stores over one registry. A single-node store may give the same object twice. */
export interface PresenceNodes {
  a: PresenceStore;
  b: PresenceStore;
  close(): Promise<void>;
}

export interface PresenceConformanceOptions {
  /**
   * The stores are separate nodes that expire one another: `a` and `b` are distinct, and a node
   * that has not called `heartbeat()` for `ttlMs` is presumed dead.
   */
  nodes?: { ttlMs: number };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const brief = (changes: (PresenceChange | undefined)[]) => changes.map((change) => change && `${change.username} ${change.online ? 'online' : 'offline'}`);
const byName = (changes: PresenceChange[]) => [...changes].sort((x, y) => x.username.localeCompare(y.username));

export function runPresenceConformance(name: string, create: () => Promise<PresenceNodes>, options: PresenceConformanceOptions = {}): void {
  describe(`${name} presence store conformance`, () => {
    let nodes: PresenceNodes;
    let a: PresenceStore;
    let b: PresenceStore;
    beforeEach(async () => {
      nodes = await create();
      ({ a, b } = nodes);
    });
    afterEach(async () => {
      await nodes.close();
    });

    it("reports a user online at their first device anywhere and offline at their last, once each, in version order", async () => {
      const changes = [
        await a.connected('alice', 'phone'),
        await b.connected('alice', 'laptop'),
        await a.connected('alice', 'phone'), // a second connection of the same device
        await a.disconnected('alice', 'phone'),
        await a.disconnected('alice', 'phone'),
        await a.disconnected('alice', 'phone'), // none left: ignored
        await b.disconnected('bob', 'phone'), // never connected: ignored
        await b.disconnected('alice', 'laptop'),
        await a.connected('alice', 'phone'),
      ];
      expect(brief(changes)).toEqual(['alice online', undefined, undefined, undefined, undefined, undefined, undefined, 'alice offline', 'alice online']);
      const versions = changes.flatMap((change) => (change ? [change.version] : []));
      expect(versions).toEqual([...versions].sort((x, y) => x - y));
      expect(new Set(versions).size).toBe(3);
    });

    it('shows every node the users online anywhere, filtered, and listed in name order by pages', async () => {
      await a.connected('carol', 'c1');
      await a.connected('alice', 'a1');
      await b.connected('bob', 'b1');
      await b.connected('dave', 'd1');
      await b.connected('dave', 'd2');
      for (const store of [a, b]) {
        expect(await store.filterOnline(['dave', 'erin', 'alice', 'alice', 'bob'])).toEqual(['dave', 'alice', 'bob']);
        expect(await store.filterOnline([])).toEqual([]);
        expect(await store.listOnline(undefined, 10)).toEqual(['alice', 'bob', 'carol', 'dave']);
        expect(await store.listOnline(undefined, 2)).toEqual(['alice', 'bob']);
        expect(await store.listOnline('bob', 2)).toEqual(['carol', 'dave']);
        expect(await store.listOnline('bobby', 10)).toEqual(['carol', 'dave']);
        expect(await store.listOnline('dave', 10)).toEqual([]);
        expect(await store.listOnline(undefined, 0)).toEqual([]);
      }
      await b.disconnected('dave', 'd1');
      expect(await a.filterOnline(['dave'])).toEqual(['dave']);
      await b.disconnected('dave', 'd2');
      expect(await a.filterOnline(['dave'])).toEqual([]);
      expect(await a.listOnline(undefined, 10)).toEqual(['alice', 'bob', 'carol']);
    });

    it('orders names by bytes, as a sorted set does', async () => {
      for (const username of ['b.c', 'b-c', 'b_c', 'b0', 'bc']) await a.connected(username, 'x');
      expect(await b.listOnline(undefined, 10)).toEqual(['b-c', 'b.c', 'b0', 'b_c', 'bc']);
      expect(await b.listOnline('b.c', 2)).toEqual(['b0', 'b_c']);
    });

    it('has nothing to report at a heartbeat when nothing changed', async () => {
      await a.connected('alice', 'a1');
      expect(await a.heartbeat()).toEqual([]);
      expect(await b.heartbeat()).toEqual([]);
      expect(await a.heartbeat()).toEqual([]);
      expect(await b.filterOnline(['alice'])).toEqual(['alice']);
    });

    it("leaving reports this node's users offline and forgets them", async () => {
      await a.connected('alice', 'a1');
      await a.connected('alice', 'a2');
      await a.connected('bob', 'b1');
      expect(brief(byName(await a.leave()))).toEqual(['alice offline', 'bob offline']);
      expect(await b.listOnline(undefined, 10)).toEqual([]);
      expect(await a.disconnected('alice', 'a1')).toBeUndefined();
    });

    const separate = options.nodes;
    if (!separate) return;
    const ttlMs = separate.ttlMs;
    /** `store` beats as a live node does (every third of the TTL) for `ms`; what it reported. */
    const keepBeating = async (store: PresenceStore, ms: number) => {
      const reported: PresenceChange[] = [];
      const until = Date.now() + ms;
      while (Date.now() < until) {
        reported.push(...(await store.heartbeat()));
        await sleep(ttlMs / 3);
      }
      return reported;
    };

    describe('across nodes', () => {
      it("leaving takes only this node's devices away", async () => {
        await a.connected('alice', 'a1');
        await a.connected('carol', 'c1');
        await b.connected('carol', 'c2');
        expect(brief(await a.leave())).toEqual(['alice offline']);
        expect(await b.listOnline(undefined, 10)).toEqual(['carol']);
      });

      it('a node that stops heartbeating has its users expire after the TTL, reported once, by one node', async () => {
        await a.heartbeat();
        await b.heartbeat();
        await a.connected('alice', 'a1');
        await a.connected('carol', 'c1');
        await b.connected('carol', 'c2');
        await b.connected('bob', 'b1');
        // Within the TTL, nothing expires.
        expect(await b.heartbeat()).toEqual([]);
        expect(await b.listOnline(undefined, 10)).toEqual(['alice', 'bob', 'carol']);

        // Node a falls silent (killed, or cut off from the store); b goes on beating.
        const expired = await keepBeating(b, ttlMs * 1.5);
        expect(brief(expired)).toEqual(['alice offline']);
        expect(await b.listOnline(undefined, 10)).toEqual(['bob', 'carol']);
        expect(await b.heartbeat()).toEqual([]);
        // b kept itself alive by its heartbeats.
        expect(await b.filterOnline(['bob'])).toEqual(['bob']);
      });

      it('a node presumed dead that comes back restores its users at its next heartbeat', async () => {
        await a.heartbeat();
        await a.connected('alice', 'a1');
        await a.connected('carol', 'c1');
        await b.connected('carol', 'c2');
        const expired = await keepBeating(b, ttlMs * 1.5);
        const back = await a.heartbeat();
        expect(brief(expired)).toEqual(['alice offline']);
        expect(brief(back)).toEqual(['alice online']);
        expect(back[0]?.version).toBeGreaterThan(expired[0]?.version ?? Infinity);
        expect(await b.listOnline(undefined, 10)).toEqual(['alice', 'carol']);
        // Its entries are whole again: the last device going reports the user offline.
        expect(brief([await a.disconnected('alice', 'a1')])).toEqual(['alice offline']);
        await b.disconnected('carol', 'c2');
        expect(brief([await a.disconnected('carol', 'c1')])).toEqual(['carol offline']);
      });

      it('expires no one right after a pause of every node (the store was unreachable), so nobody flaps offline', async () => {
        await a.heartbeat();
        await b.heartbeat();
        await a.connected('alice', 'a1');
        await b.connected('bob', 'b1');
        // Nobody could beat for longer than the TTL; then both come back, one after the other.
        await sleep(ttlMs * 1.5);
        expect(await b.heartbeat()).toEqual([]);
        await sleep(ttlMs / 3);
        expect(await a.heartbeat()).toEqual([]);
        const both = await Promise.all([keepBeating(a, ttlMs * 1.5), keepBeating(b, ttlMs * 1.5)]);
        expect(both.flat()).toEqual([]);
        expect(await a.listOnline(undefined, 10)).toEqual(['alice', 'bob']);
      });

      it('a user online on two nodes stays online when one of them expires', async () => {
        await a.heartbeat();
        await a.connected('alice', 'phone');
        await b.connected('alice', 'laptop');
        expect(await keepBeating(b, ttlMs * 1.5)).toEqual([]);
        expect(await b.filterOnline(['alice'])).toEqual(['alice']);
        expect(brief([await b.disconnected('alice', 'laptop')])).toEqual(['alice offline']);
      });
    });
  });
}
