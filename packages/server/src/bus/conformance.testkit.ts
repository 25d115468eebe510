/** The bus conformance suite: every Bus adapter must pass it unchanged (STYLE §2). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Bus } from './types.js';

/** Two handles on one bus, as two server nodes see it. For an in-process bus they may be the same object. */
export interface BusPair {
  a: Bus;
  b: Bus;
  close(): Promise<void>;
}

/**
 * The suite's own topics and payloads, beside the real ones: adapters route any topic name
 * and any JSON-plus-bytes payload the same way, and this keeps the suite independent of
 * which topics exist today.
 */
interface UntypedBus {
  publish(topic: string, message: unknown): Promise<void>;
  subscribe(topic: string, handler: (message: unknown) => void): () => void;
}
const untyped = (bus: Bus) => bus as unknown as UntypedBus;

function collector() {
  const messages: unknown[] = [];
  return {
    messages,
    handler: (message: unknown) => {
      messages.push(message);
    },
    /** Waits until `count` messages have arrived (cross-node delivery is asynchronous). */
    async waitFor(count: number, timeoutMs = 5_000): Promise<unknown[]> {
      const deadline = Date.now() + timeoutMs;
      while (messages.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} messages, received ${messages.length}: ${JSON.stringify(messages)}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return messages;
    },
  };
}

export function runBusConformance(name: string, create: () => Promise<BusPair>): void {
  describe(`${name} bus conformance`, () => {
    let pair: BusPair;
    let a: UntypedBus;
    let b: UntypedBus;
    beforeEach(async () => {
      pair = await create();
      a = untyped(pair.a);
      b = untyped(pair.b);
    });
    afterEach(async () => {
      await pair.close();
    });

    it('delivers a message published on one node to the subscribers on every node, once each', async () => {
      const onA = collector();
      const onB = collector();
      a.subscribe('conformance.greeting', onA.handler);
      b.subscribe('conformance.greeting', onB.handler);
      await a.publish('conformance.greeting', { from: 'a' });
      await b.publish('conformance.greeting', { from: 'b' });
      // Order per publisher is guaranteed, not across publishers.
      for (const seen of [await onA.waitFor(2), await onB.waitFor(2)]) {
        expect([...seen].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)))).toEqual([{ from: 'a' }, { from: 'b' }]);
      }
      // A barrier: once it arrives, any duplicate of the earlier messages would have too.
      await a.publish('conformance.greeting', { from: 'a', last: true });
      await onA.waitFor(3);
      await onB.waitFor(3);
      expect(onA.messages).toHaveLength(3);
      expect(onB.messages).toHaveLength(3);
    });

    it('carries the real topics with their typed payloads', async () => {
      const revoked = collector();
      pair.b.subscribe('devices.revoked', revoked.handler);
      await pair.a.publish('devices.revoked', { username: 'alice', deviceIds: ['device-a1', 'device-a2'] });
      expect(await revoked.waitFor(1)).toEqual([{ username: 'alice', deviceIds: ['device-a1', 'device-a2'] }]);
    });

    it('stops delivering to a handler once it unsubscribes, and only to that handler', async () => {
      const gone = collector();
      const stays = collector();
      const goneRemote = collector();
      const unsubscribe = a.subscribe('conformance.news', gone.handler);
      a.subscribe('conformance.news', stays.handler);
      const unsubscribeRemote = b.subscribe('conformance.news', goneRemote.handler);
      await a.publish('conformance.news', 1);
      await gone.waitFor(1);
      await goneRemote.waitFor(1);
      unsubscribe();
      unsubscribeRemote();
      unsubscribe(); // twice is harmless
      const barrier = collector();
      b.subscribe('conformance.news', barrier.handler);
      await a.publish('conformance.news', 2);
      await barrier.waitFor(1);
      expect(await stays.waitFor(2)).toEqual([1, 2]);
      expect(gone.messages).toEqual([1]);
      expect(goneRemote.messages).toEqual([1]);
    });

    it('keeps topics apart', async () => {
      const left = collector();
      const right = collector();
      b.subscribe('conformance.left', left.handler);
      b.subscribe('conformance.right', right.handler);
      await a.publish('conformance.left', 'L1');
      await a.publish('conformance.other', 'nobody listens');
      await a.publish('conformance.right', 'R1');
      await a.publish('conformance.left', 'L2');
      expect(await left.waitFor(2)).toEqual(['L1', 'L2']);
      expect(right.messages).toEqual(['R1']);
    });

    it("keeps each publisher's order, even when publishes are not awaited one by one", async () => {
      const seen = collector();
      b.subscribe('conformance.sequence', seen.handler);
      const count = 200;
      await Promise.all(Array.from({ length: count }, (_, i) => a.publish('conformance.sequence', { i })));
      expect(await seen.waitFor(count)).toEqual(Array.from({ length: count }, (_, i) => ({ i })));
    });

    it('round-trips payloads exactly, bytes included', async () => {
      const backing = new Uint8Array(16).map((_, i) => i * 17);
      const payload = {
        text: 'zoë says 🔐 "hi"\n',
        number: 1.5,
        largest: Number.MAX_SAFE_INTEGER,
        negative: -42,
        flag: false,
        nothing: null,
        empty: [],
        bytes: new Uint8Array([0, 1, 127, 128, 255]),
        emptyBytes: new Uint8Array(0),
        // A view into a larger buffer: only its own bytes travel.
        view: backing.subarray(3, 9),
        nested: { list: [new Uint8Array([9, 8, 7]), { deeper: new Uint8Array([255]) }], word: 'ok' },
      };
      const expected = structuredClone(payload);
      const received = collector();
      b.subscribe('conformance.payload', received.handler);
      await a.publish('conformance.payload', payload);
      const [message] = await received.waitFor(1);
      expect(message).toEqual(expected);
      const got = message as typeof payload;
      for (const bytes of [got.bytes, got.emptyBytes, got.view, got.nested.list[0]]) expect(bytes).toBeInstanceOf(Uint8Array);
      expect([...got.view]).toEqual([51, 68, 85, 102, 119, 136]);
    });
  });
}
