/**
 * @module The server's RSW moduli (DESIGN §8). One modulus serves new locks for a rotation
 * period, then a fresh one replaces it; a rotated-out modulus is kept until its last lock is
 * released (the release re-opens each puzzle with the trapdoor), then deleted with its trapdoor.
 *
 * Where the trapdoor lives: in the database, sealed (XChaCha20-Poly1305) under a key derived from
 * the server's key file, which is kept out of the database by design. So every node of a
 * deployment can make and release locks, and a database dump alone opens nothing early.
 */
import { generatePrime, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { open, seal, timelockTrapdoorFromPrimes, type TimelockTrapdoor } from '@parley/crypto';
import { decodeCbor, encodeCbor, toHex } from '@parley/protocol';
import type { Logger } from '../logger.js';
import type { Storage, TimelockModulusRecord } from '../storage/index.js';

const primeOf = promisify(generatePrime) as (bits: number) => Promise<ArrayBuffer>;

export interface TimelockModulus {
  id: Uint8Array;
  trapdoor: TimelockTrapdoor;
  createdAt: number;
}

export interface TimelockModuliOptions {
  /** 2048 to 4096, whole bytes. */
  bits: number;
  rotationMs: number;
  /** Seals the trapdoors at rest; derived from the key file. */
  sealKey: Uint8Array;
}

const sealContext = (id: Uint8Array) => `parley/timelock/trapdoor/${toHex(id)}`;

export class TimelockModuli {
  private readonly known = new Map<string, TimelockModulus>();
  private rotating: Promise<TimelockModulus> | undefined;

  constructor(
    private readonly storage: Storage,
    private readonly log: Logger,
    private readonly options: TimelockModuliOptions,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(options.bits) || options.bits < 2048 || options.bits > 4096 || options.bits % 16 !== 0) {
      throw new RangeError(`the time-lock modulus size must be 2048 to 4096 bits in steps of 16, not ${options.bits}`);
    }
  }

  /** The modulus for new locks: the newest, unless it is older than the rotation period (then a fresh one). */
  async current(): Promise<TimelockModulus> {
    const fresh = (modulus: TimelockModulus | undefined) => modulus !== undefined && this.now() - modulus.createdAt < this.options.rotationMs;
    const newest = this.newest();
    if (fresh(newest)) return newest as TimelockModulus;
    this.rotating ??= (async () => {
      // Another node may have rotated already: adopt its modulus rather than make one more.
      await this.load();
      const loaded = this.newest();
      return fresh(loaded) ? (loaded as TimelockModulus) : await this.create();
    })().finally(() => (this.rotating = undefined));
    return this.rotating;
  }

  /** The modulus a lock was made with; undefined if it is gone (which a pending lock prevents). */
  async byId(id: Uint8Array): Promise<TimelockModulus | undefined> {
    const cached = this.known.get(toHex(id));
    if (cached) return cached;
    await this.load();
    return this.known.get(toHex(id));
  }

  /** Deletes rotated-out moduli none of whose locks is pending any more. */
  async retire(): Promise<number> {
    const retired = await this.storage.retireTimelockModuli(this.now() - this.options.rotationMs);
    if (retired > 0) {
      this.known.clear();
      await this.load();
      this.log.info({ event: 'timelock.moduli_retired', retired }, 'rotated-out time-lock moduli deleted with their trapdoors');
    }
    return retired;
  }

  private newest(): TimelockModulus | undefined {
    let newest: TimelockModulus | undefined;
    for (const modulus of this.known.values()) if (!newest || modulus.createdAt > newest.createdAt) newest = modulus;
    return newest;
  }

  private async load(): Promise<void> {
    for (const record of await this.storage.listTimelockModuli()) {
      if (!this.known.has(toHex(record.id))) this.known.set(toHex(record.id), this.unseal(record));
    }
  }

  private unseal(record: TimelockModulusRecord): TimelockModulus {
    // A trapdoor that does not open or check out means a different key file: fail loudly, never guess.
    const [p, q] = decodeCbor(open(this.options.sealKey, record.sealedTrapdoor, sealContext(record.id))) as [Uint8Array, Uint8Array];
    return { id: record.id, trapdoor: timelockTrapdoorFromPrimes(p, q), createdAt: record.createdAt };
  }

  private async create(): Promise<TimelockModulus> {
    const started = this.now();
    const half = this.options.bits / 2;
    // OpenSSL's generator sets the top two bits of each prime, so N has exactly `bits` bits.
    const [p, q] = await Promise.all([primeOf(half), primeOf(half)]);
    const trapdoor = timelockTrapdoorFromPrimes(new Uint8Array(p), new Uint8Array(q));
    const modulus: TimelockModulus = { id: new Uint8Array(randomBytes(16)), trapdoor, createdAt: this.now() };
    await this.storage.addTimelockModulus({
      id: modulus.id,
      modulus: trapdoor.modulus,
      sealedTrapdoor: seal(this.options.sealKey, encodeCbor([trapdoor.p, trapdoor.q]), sealContext(modulus.id)),
      createdAt: modulus.createdAt,
    });
    this.known.set(toHex(modulus.id), modulus);
    this.log.info({ event: 'timelock.modulus_created', bits: this.options.bits, ms: this.now() - started }, 'new time-lock modulus');
    return modulus;
  }
}
