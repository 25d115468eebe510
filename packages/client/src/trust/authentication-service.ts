/**
 * @module The authentication service on the client side (RFC 9420 §5.3.1): an MLS credential is
 * accepted only if the directory lists that device for that user and the user's identity key
 * (the pinned one) signed it.
 */
import { deviceCertificateMessage, verify } from '@parley/crypto';
import { equalBytes, type DirectoryEntry } from '@parley/protocol';
import type { Directory } from './directory.js';
import { decodeCredential, type Credential } from './mls-credentials.js';

export class AuthenticationService {
  constructor(private readonly directory: Directory) {}

  /** The check MLS runs on every credential it meets (joins, commits, senders). */
  readonly validate = async (identity: Uint8Array, signaturePublicKey: Uint8Array): Promise<boolean> => {
    let credential: Credential;
    try {
      credential = decodeCredential(identity);
    } catch {
      return false;
    }
    const { username, certificate } = credential;
    if (!equalBytes(certificate.publicKey, signaturePublicKey)) return false;
    const vouches = (entry: DirectoryEntry) =>
      verify(entry.identityKey, deviceCertificateMessage({ username, ...certificate }), certificate.signature) &&
      // A device revoked since it joined still had a valid credential then; reconciling removes it next.
      [...entry.devices, ...entry.revokedDevices].some((device) => device.deviceId === certificate.deviceId && equalBytes(device.publicKey, certificate.publicKey));
    try {
      if (vouches(await this.directory.entry(username))) return true;
      // A device added since the entry was cached: ask the directory again, once.
      return vouches(await this.directory.entry(username, { refresh: true }));
    } catch {
      // An unknown user or a changed identity key: the credential is not accepted (the MLS operation fails and says so).
      return false;
    }
  };
}
