/**
 * @module This device's KeyPackages on the server (DESIGN §6), kept above a low-water mark so
 * others can always add it. The SDK counts what it uploaded and what Welcomes used up, so it
 * asks the server (keys.count) only when the count may be low or is old: a claim that never
 * became a Welcome goes unseen until then, and the last-resort KeyPackage covers that time.
 */
import { generateKeyPackage } from '@parley/crypto';
import { decodeCbor, encodeCbor, s, toBase64Url } from '@parley/protocol';
import type { MessengerContext } from './context.js';

const TARGET = 20;
const LOW_WATER = 5;
/** How long a count is trusted before a full sync asks the server again. */
const RECOUNT_AFTER_MS = 60 * 60_000;

/** Which of this device's KeyPackages a Welcome used. */
export type KeyPackageKind = 'one-time' | 'last-resort';

const countSchema = s.object({ count: s.uint(), lastResort: s.boolean(), countedAt: s.uint() });
type KeyPackageCount = { count: number; lastResort: boolean; countedAt: number };
const cacheKey = (deviceId: string) => `key-packages/${deviceId}`;

export class KeyPackages {
  constructor(private readonly ctx: MessengerContext) {}

  /**
   * Upload more when the count may be low. `recount` asks the server if the count is old;
   * `newDevice` knows it has none yet (no need to ask).
   */
  async ensure(options: { recount?: boolean; newDevice?: boolean } = {}): Promise<void> {
    const now = Date.now();
    let known: KeyPackageCount;
    if (options.newDevice) {
      known = { count: 0, lastResort: false, countedAt: now };
    } else {
      const cached = await this.known();
      const trusted = cached !== undefined && !(options.recount && now - cached.countedAt > RECOUNT_AFTER_MS);
      if (trusted && cached.count >= LOW_WATER && cached.lastResort) return;
      known = { ...(await this.ctx.request('keys.count', {})), countedAt: now };
    }
    if (known.count < LOW_WATER || !known.lastResort) known = await this.upload(known);
    await this.save(known);
  }

  /**
   * A Welcome used one of them. A one-time one is counted, and the stock topped up if that made
   * it low. The last-resort one is handed out only when no one-time one is left, and reusing it
   * weakens every group joined with it (RFC 9420 §16.8): ask the server, then upload a new one
   * (which replaces it there) with a fresh batch.
   */
  async used(kind: KeyPackageKind): Promise<void> {
    if (kind === 'last-resort') {
      const counted = await this.ctx.request('keys.count', {});
      await this.save(await this.upload({ count: Math.min(counted.count, TARGET), lastResort: false, countedAt: Date.now() }));
      return;
    }
    const known = await this.known();
    if (!known) return;
    await this.save({ ...known, count: Math.max(0, known.count - 1) });
    if (known.count - 1 < LOW_WATER) await this.ensure();
  }

  private async upload(known: KeyPackageCount): Promise<KeyPackageCount> {
    const { member, store } = this.ctx;
    const fresh = await Promise.all(Array.from({ length: TARGET - known.count }, () => generateKeyPackage(member)));
    const resort = known.lastResort ? undefined : await generateKeyPackage(member, { lastResort: true });
    const all = resort ? [...fresh, resort] : fresh;
    // Secrets first: a KeyPackage on the server whose secret was lost could never be joined with.
    await store.putKeyPackages(all.map((kp) => ({ ref: toBase64Url(kp.keyPackageRef), privateState: kp.privateState, lastResort: kp === resort })));
    const { count } = await this.ctx.request('keys.upload', { keyPackages: fresh.map((kp) => kp.keyPackage), ...(resort ? { lastResort: resort.keyPackage } : {}) });
    return { count, lastResort: true, countedAt: Date.now() };
  }

  private async known(): Promise<KeyPackageCount | undefined> {
    const bytes = await this.ctx.store.getCached(cacheKey(this.ctx.self.deviceId));
    if (!bytes) return undefined;
    try {
      return countSchema.parse(decodeCbor(bytes));
    } catch {
      // An unreadable count is no count: the server is asked.
      return undefined;
    }
  }

  private async save(known: KeyPackageCount): Promise<void> {
    await this.ctx.store.putCached(cacheKey(this.ctx.self.deviceId), encodeCbor(known));
  }
}
