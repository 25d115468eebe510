/**
 * @module The authentication service on the client side (RFC 9420 §5.3.1): an MLS credential is
 * a device certificate, accepted only if the directory lists that device for that user and the
 * user's identity key signed it.
 */
import { deviceCertificateMessage, verify } from '@parley/crypto';
import { equalBytes, decodeCbor, deviceCertificateSchema, encodeCbor, ErrorCode, ParleyError, s, usernameSchema, type DirectoryEntry, type Infer } from '@parley/protocol';

const credentialSchema = s.object({ username: usernameSchema, certificate: deviceCertificateSchema });
export type Credential = Infer<typeof credentialSchema>;

export function encodeCredential(credential: Credential): Uint8Array {
  return encodeCbor(credential);
}

export function decodeCredential(bytes: Uint8Array): Credential {
  return credentialSchema.parse(decodeCbor(bytes, 4096));
}

/** Who a credential names, or undefined if it is not a Parley credential. */
export function credentialOwner(bytes: Uint8Array): { username: string; deviceId: string } | undefined {
  try {
    const { username, certificate } = decodeCredential(bytes);
    return { username, deviceId: certificate.deviceId };
  } catch {
    return undefined;
  }
}


/**
 * Checks credentials against the server's directory. Identity keys are pinned on first sight:
 * a directory that later shows a different identity key for a user is refused, not trusted.
 */
export class CredentialValidator {
  private readonly entries = new Map<string, DirectoryEntry>();

  constructor(
    private readonly lookup: (username: string) => Promise<DirectoryEntry>,
    private readonly pins: { get(username: string): Promise<Uint8Array | undefined>; set(username: string, key: Uint8Array): Promise<void> },
  ) {}

  /** The directory entry, refreshed from the server; refuses an identity key that changed. */
  async entry(username: string, refresh = false): Promise<DirectoryEntry> {
    const cached = this.entries.get(username);
    if (cached && !refresh) return cached;
    const entry = await this.lookup(username);
    const pinned = await this.pins.get(username);
    if (pinned && !equalBytes(pinned, entry.identityKey)) {
      throw new ParleyError(
        ErrorCode.IDENTITY_KEY_CHANGED,
        `the identity key of ${username} changed: nothing will be sent to them until you compare safety numbers (parley verify ${username}) and trust the new key`,
      );
    }
    if (!pinned) await this.pins.set(username, entry.identityKey);
    this.entries.set(username, entry);
    return entry;
  }

  readonly validate = async (identity: Uint8Array, signaturePublicKey: Uint8Array): Promise<boolean> => {
    let credential: Credential;
    try {
      credential = decodeCredential(identity);
    } catch {
      return false;
    }
    const { username, certificate } = credential;
    if (!equalBytes(certificate.publicKey, signaturePublicKey)) return false;
    const check = (entry: DirectoryEntry) =>
      verify(entry.identityKey, deviceCertificateMessage({ username, ...certificate }), certificate.signature) &&
      // A device revoked since it joined still had a valid credential then; reconciling removes it next.
      [...entry.devices, ...entry.revokedDevices].some((device) => device.deviceId === certificate.deviceId && equalBytes(device.publicKey, certificate.publicKey));
    try {
      if (check(await this.entry(username))) return true;
      // A device added since we last looked: ask the directory again once.
      return check(await this.entry(username, true));
    } catch {
      return false;
    }
  };
}
