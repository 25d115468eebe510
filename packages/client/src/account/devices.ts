/**
 * @module This profile's device (DESIGN §5): its own signing key, certified by the account's
 * identity key, saved with the account in the profile, and proven on each connection by signing
 * the channel's handshake hash (no bearer token to steal).
 */
import { channelAuthMessage, deviceCertificateMessage, generateSigningKeyPair, sameFingerprint, sign, type SigningKeyPair } from '@parley/crypto';
import { ErrorCode, ParleyError, toBase64Url, type DeviceCertificate, type DeviceRef } from '@parley/protocol';
import { serverOrigin } from '../connection/socket.js';
import type { PowSolver } from '@parley/crypto';
import type { Requester } from '../connection/requester.js';
import type { DeviceAccount, DeviceSecrets, ProfileStore } from '../store/profile.js';

/** What account operations need: the channel, the profile, and which server this is. */
export interface AccountContext {
  request: Requester;
  profiles: ProfileStore;
  /** The server's base URL as the user gave it. */
  server: string;
  /** The fingerprint of the key this server proved it holds on this connection. */
  serverFingerprint: string;
  /** Solves a proof of work the server asks (DESIGN §10); `solvePow` on this thread by default. */
  solvePow?: PowSolver;
}

export interface NewDevice {
  keys: SigningKeyPair;
  certificate: DeviceCertificate;
}

/** A fresh device key and its certificate, signed by the identity key. */
export function newDevice(username: string, identity: SigningKeyPair, deviceName: string | undefined): NewDevice {
  const keys = generateSigningKeyPair();
  // A letter first: an id starting with '-' would read as an option in `parley devices revoke ID`.
  const deviceId = `d${toBase64Url(crypto.getRandomValues(new Uint8Array(12)))}`;
  const name = (deviceName ?? defaultDeviceName()).slice(0, 64) || 'device';
  const signature = sign(identity.privateKey, deviceCertificateMessage({ username, deviceId, name, publicKey: keys.publicKey }));
  return { keys, certificate: { deviceId, name, publicKey: keys.publicKey, signature } };
}

function defaultDeviceName(): string {
  return typeof navigator !== 'undefined' && navigator.userAgent ? navigator.userAgent.slice(0, 64) : 'device';
}

/** Keep the enrolled device in the profile: its public account data and, apart, its secrets. */
export async function saveDevice(ctx: AccountContext, session: DeviceRef, identity: SigningKeyPair, device: NewDevice): Promise<void> {
  const account: DeviceAccount = {
    server: ctx.server,
    username: session.username,
    deviceId: session.deviceId,
    deviceName: device.certificate.name,
    identityPublicKey: identity.publicKey,
    devicePublicKey: device.keys.publicKey,
    deviceCertificate: device.certificate.signature,
  };
  const secrets: DeviceSecrets = { identityPrivateKey: identity.privateKey, devicePrivateKey: device.keys.privateKey };
  await ctx.profiles.saveAccount(account, secrets);
}

/** Enrol a new device of an account this connection proved it may act for (login, recovery). */
export async function addDevice(ctx: AccountContext, username: string, identity: SigningKeyPair, deviceName: string | undefined): Promise<DeviceRef> {
  const device = newDevice(username, identity, deviceName);
  const session = await ctx.request('device.add', { device: device.certificate });
  await saveDevice(ctx, session, identity, device);
  return session;
}

/** Authenticate as the device saved in the profile, by signing this channel's handshake hash. */
export async function authenticateDevice(ctx: AccountContext, handshakeHash: Uint8Array): Promise<DeviceRef> {
  const { account, pins } = await ctx.profiles.load();
  const secrets = await ctx.profiles.loadSecrets();
  if (!account || !secrets) throw new ParleyError(ErrorCode.NOT_LOGGED_IN, 'this profile is not logged in; run register or login first');
  // Another address of the same server (another node behind the same key) is the same server.
  const accountKey = pins[serverOrigin(account.server)];
  const sameServer = serverOrigin(account.server) === serverOrigin(ctx.server) || (accountKey !== undefined && sameFingerprint(accountKey, ctx.serverFingerprint));
  if (!sameServer) throw new ParleyError(ErrorCode.NOT_LOGGED_IN, `this profile is logged in to ${account.server}, not ${ctx.server}`);
  const signature = sign(secrets.devicePrivateKey, channelAuthMessage(handshakeHash, account.username, account.deviceId));
  return ctx.request('device.auth', { username: account.username, deviceId: account.deviceId, signature });
}
