/**
 * @module The authentication service on the client side (RFC 9420 §5.3.1): an MLS credential is
 * accepted only if the user's identity key (the pinned one) signed it and the directory lists that
 * device for that user, active when the message carrying it was stored. MLS asks about the
 * credentials it meets anew: every leaf of a group joined (Welcome, external join), leaves a commit
 * adds or updates, KeyPackages being added. A revoked device's credential is refused in anything
 * stored after its revocation (issue #11 §6); what the server stored before stays valid, and
 * reconciling removes revoked devices from the groups (reconcile.ts).
 */
import { deviceCertificateMessage, verify, type ValidateCredential } from '@parley/crypto';
import { equalBytes, ErrorCode, ParleyError, type DirectoryEntry } from '@parley/protocol';
import type { Directory } from './directory.js';
import { decodeCredential, type Credential } from './mls-credentials.js';

/** Directory answers that mean nobody vouches for the credential. */
const NOT_VOUCHED = new Set<string>([ErrorCode.UNKNOWN_USER, ErrorCode.NOT_FOUND, ErrorCode.IDENTITY_KEY_CHANGED]);

export class AuthenticationService {
  constructor(private readonly directory: Directory) {}

  /** The check for what is made or met now (joining, adding): revoked devices are refused. */
  readonly validate: ValidateCredential = (identity, signaturePublicKey) => this.check(identity, signaturePublicKey, Number.POSITIVE_INFINITY);

  /** The check for an entry the server stored at `storedAt` (Unix ms): devices revoked after that still count. */
  validateAt(storedAt: number): ValidateCredential {
    return (identity, signaturePublicKey) => this.check(identity, signaturePublicKey, storedAt);
  }

  private async check(identity: Uint8Array, signaturePublicKey: Uint8Array, storedAt: number): Promise<boolean> {
    let credential: Credential;
    try {
      credential = decodeCredential(identity);
    } catch {
      return false;
    }
    const { username, certificate } = credential;
    if (!equalBytes(certificate.publicKey, signaturePublicKey)) return false;
    const sameDevice = (device: { deviceId: string; publicKey: Uint8Array }) => device.deviceId === certificate.deviceId && equalBytes(device.publicKey, certificate.publicKey);
    const vouches = (entry: DirectoryEntry) =>
      verify(entry.identityKey, deviceCertificateMessage({ username, ...certificate }), certificate.signature) &&
      (entry.devices.some(sameDevice) || entry.revokedDevices.some((device) => sameDevice(device) && device.revokedAt !== undefined && device.revokedAt > storedAt));
    try {
      const cached = await this.directory.entry(username);
      if (vouches(cached)) return true;
      // Revoked as far as the directory said last time: asking again cannot bring it back.
      if (cached.revokedDevices.some(sameDevice)) return false;
      // A device added since the entry was cached: ask the directory again, once.
      return vouches(await this.directory.entry(username, { refresh: true }));
    } catch (error) {
      // An unknown user or a changed identity key: the credential is not accepted (the MLS operation fails and says so).
      if (error instanceof ParleyError && NOT_VOUCHED.has(error.code)) return false;
      // Anything else (the channel failed) is no answer about the credential: it fails the operation as it is.
      throw error;
    }
  }
}
