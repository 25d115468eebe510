/**
 * @module KeyPackages (RFC 9420 §10, DESIGN §6): devices upload them, others claim one per
 * device to add that user to a group. The server checks each one is a valid KeyPackage signed
 * with the uploading device's key, so nobody can plant KeyPackages for someone else's device.
 */
import { keyPackageInfo, type MlsKeyPackageInfo } from '@parley/crypto';
import { equalBytes, ErrorCode, ParleyError, type RequestOf, type ResponseOf, type DeviceRef } from '@parley/protocol';
import type { Logger } from '../logger.js';
import type { NewKeyPackage, Storage } from '../storage/index.js';
import type { ConsentService } from './consent.js';
import { RateLimiter } from './rate-limit.js';

export interface KeyPackageServiceOptions {
  /** One-time KeyPackages a device may keep on the server. */
  maxOneTimePerDevice: number;
  /** keys.claim requests per claiming account per minute, whoever they claim. */
  claimsPerMinute: number;
  /** keys.claim requests per minute from one account against one user (a retried add claims again). */
  claimsPerTargetPerClaimer: number;
  /** keys.claim requests per minute against one user from all accounts together, so many accounts cannot drain them either. */
  claimsPerTarget: number;
}

/**
 * A device keeps about 20 one-time KeyPackages (the SDK's target). An add claims once per attempt
 * (the SDK retries a lost commit race up to five times), and few people add one user more than a
 * handful of times a minute, so half the stock a minute in all leaves an offline user time to come
 * back and replenish. Limits are per node.
 */
export const defaultKeyPackageServiceOptions: KeyPackageServiceOptions = { maxOneTimePerDevice: 200, claimsPerMinute: 60, claimsPerTargetPerClaimer: 5, claimsPerTarget: 10 };

const badRequest = (message: string) => new ParleyError(ErrorCode.BAD_REQUEST, message);


export class KeyPackageService {
  private readonly claims: { byClaimer: RateLimiter; byPair: RateLimiter; byTarget: RateLimiter };

  constructor(
    private readonly storage: Storage,
    private readonly consent: ConsentService,
    private readonly log: Logger,
    private readonly options: KeyPackageServiceOptions = defaultKeyPackageServiceOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.claims = {
      byClaimer: new RateLimiter(options.claimsPerMinute, 60_000, now),
      byPair: new RateLimiter(options.claimsPerTargetPerClaimer, 60_000, now),
      byTarget: new RateLimiter(options.claimsPerTarget, 60_000, now),
    };
  }

  async upload(session: DeviceRef, body: RequestOf<'keys.upload'>): Promise<ResponseOf<'keys.upload'>> {
    const device = await this.storage.getDevice(session.username, session.deviceId);
    if (!device || device.revokedAt !== undefined) throw new ParleyError(ErrorCode.DEVICE_REVOKED, 'this device was revoked');
    const now = this.now();
    // Room first, signatures after: a device with a full stock costs one query, not 100 verifications.
    const before = await this.storage.countKeyPackages(session, now);
    if (before.oneTime + body.keyPackages.length > this.options.maxOneTimePerDevice) {
      throw badRequest(`a device keeps at most ${this.options.maxOneTimePerDevice} KeyPackages on the server; it has ${before.oneTime}`);
    }
    const check = async (bytes: Uint8Array, field: string, lastResort: boolean): Promise<NewKeyPackage> => {
      let info: MlsKeyPackageInfo;
      try {
        info = await keyPackageInfo(bytes);
      } catch {
        throw badRequest(`${field} is not a valid MLS KeyPackage`);
      }
      if (!equalBytes(info.signaturePublicKey, device.publicKey)) throw badRequest(`${field} is not signed with this device's key`);
      if (info.lastResort !== lastResort) {
        throw badRequest(lastResort ? `${field} lacks the last_resort extension` : `${field} is a last-resort KeyPackage; upload it as lastResort`);
      }
      // RFC 9420 §7.2 lifetime is in seconds; a KeyPackage past it would be refused by the adder.
      const expiresAt = Math.min(Number(info.notAfter) * 1000, Number.MAX_SAFE_INTEGER);
      if (expiresAt <= now) throw badRequest(`${field} has expired`);
      return { id: info.keyPackageRef, keyPackage: bytes, expiresAt };
    };
    const oneTime: NewKeyPackage[] = [];
    for (const [i, bytes] of body.keyPackages.entries()) oneTime.push(await check(bytes, `keyPackages[${i}]`, false));
    const lastResort = body.lastResort && (await check(body.lastResort, 'lastResort', true));

    await this.storage.addKeyPackages(session, oneTime, lastResort, now);
    const after = await this.storage.countKeyPackages(session, now);
    this.log.info({ event: 'keys.uploaded', deviceId: session.deviceId, count: oneTime.length, lastResort: lastResort !== undefined }, 'key packages uploaded');
    return { count: after.oneTime };
  }

  async count(session: DeviceRef): Promise<ResponseOf<'keys.count'>> {
    const { oneTime, lastResort } = await this.storage.countKeyPackages(session, this.now());
    return { count: oneTime, lastResort };
  }

  /**
   * One KeyPackage per active device of `username`. Claiming one's own username leaves out the
   * claiming device (it cannot be added to a group twice). Devices with none left are left out;
   * NO_KEY_PACKAGES only when no device has any.
   */
  async claim(session: DeviceRef, body: RequestOf<'keys.claim'>): Promise<ResponseOf<'keys.claim'>> {
    this.takeClaim(session.username, body.username);
    const account = await this.storage.getAccount(body.username);
    const devices = account ? await this.storage.listDevices(body.username) : [];
    if (devices.length === 0) throw new ParleyError(ErrorCode.UNKNOWN_USER, `no user ${body.username}`);
    // Before anything is consumed: a user who blocked the claimer keeps every KeyPackage.
    await this.consent.requireNotBlocked(session.username, [body.username]);
    const now = this.now();
    const claimed: ResponseOf<'keys.claim'>['devices'] = [];
    const empty: string[] = [];
    for (const device of devices) {
      if (device.username === session.username && device.deviceId === session.deviceId) continue;
      const keyPackage = await this.storage.claimKeyPackage(device, now);
      if (keyPackage) claimed.push({ deviceId: device.deviceId, keyPackage: keyPackage.keyPackage });
      else empty.push(device.deviceId);
    }
    if (claimed.length === 0 && empty.length > 0) {
      throw new ParleyError(ErrorCode.NO_KEY_PACKAGES, `${body.username} has no KeyPackages left on devices ${empty.join(', ')}; they must come online to upload more`);
    }
    this.log.info({ event: 'keys.claimed', devices: claimed.length, without: empty.length }, 'key packages claimed');
    return { devices: claimed };
  }

  /**
   * Claims are limited three ways, so no one, with one account or many, can drain a user's
   * KeyPackages and leave everyone the reused last-resort one (RFC 9420 §16.8): per claimer, per
   * claimer and target, then per target. Each is taken in turn, so a claim one limit refuses
   * does not use up the next.
   */
  private takeClaim(claimer: string, target: string): void {
    const limited = (retryAfterMs: number | undefined, message: string) => {
      if (retryAfterMs !== undefined) throw new ParleyError(ErrorCode.RATE_LIMITED, `${message}; retry in ${retryAfterMs} ms`, { retryAfterMs });
    };
    limited(this.claims.byClaimer.take(claimer), 'too many KeyPackage claims from this account');
    limited(this.claims.byPair.take(`${claimer}\n${target}`), `too many KeyPackage claims for ${target} from this account`);
    limited(this.claims.byTarget.take(target), `too many KeyPackage claims for ${target} right now`);
  }
}
