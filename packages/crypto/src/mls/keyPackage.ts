/**
 * @module KeyPackages (RFC 9420 §10): generating them for upload, checking one received from the
 * server, and the private half a device keeps until a Welcome consumes it.
 */
import {
  generateKeyPackageWithKey,
  type Capabilities,
  type CiphersuiteImpl,
  type KeyPackage,
  type Lifetime,
  type PrivateKeyPackage,
} from 'ts-mls';
import { makeKeyPackageRef, verifyKeyPackage } from 'ts-mls/keyPackage.js';
import { verifyLeafNodeSignatureKeyPackage } from 'ts-mls/leafNode.js';
import { equalBytes } from '@parley/protocol';
import { badInput, mlsError, requireBytes } from './fail.js';
import { isSupportedSuite, runOperation, suiteImpl, type MlsOperation } from './runtime.js';
import { checkMember } from './state.js';
import {
  ED25519_KEY_LENGTH,
  MlsSuite,
  type MlsGeneratedKeyPackage,
  type MlsKeyPackageInfo,
  type MlsKeyPackageOptions,
  type MlsMember,
} from './types.js';
import { decodeMessageOf, encodeMessage, packFields, unpackFields } from './wire.js';

/** draft-ietf-mls-extensions §4.2.5 `last_resort` KeyPackage extension (IANA MLS Extension Types 0x000A). */
export const LAST_RESORT_EXTENSION = 0x000a;
/** 'P' 'K' (Parley KeyPackage private state) and format version 1. */
const PRIVATE_STATE_TAG = new Uint8Array([0x50, 0x4b, 0x01]);
const DAY_SECONDS = 86_400;
const DEFAULT_LIFETIME_SECONDS = 90 * DAY_SECONDS;
/** Other devices' clocks may run behind ours: the KeyPackage is valid from an hour ago. */
const CLOCK_SKEW_SECONDS = 3_600;
/** RFC 9420 §7.2: a leaf valid "forever", for leaves that go straight into a tree we build. */
export const UNBOUNDED_LIFETIME: Lifetime = { notBefore: 0n, notAfter: 0x7fff_ffff_ffff_ffffn };

/**
 * RFC 9420 §7.2 capabilities, deterministic (no GREASE, §13.5 makes it optional): the one suite,
 * BasicCredential only, and support for the last_resort KeyPackage extension.
 */
export function capabilities(suite: MlsSuite): Capabilities {
  return {
    versions: ['mls10'],
    ciphersuites: [suite],
    extensions: [LAST_RESORT_EXTENSION],
    proposals: [],
    credentials: ['basic'],
  };
}

/** A signed KeyPackage whose leaf uses the member's device key as its signature key. */
export async function buildKeyPackage(
  op: MlsOperation,
  member: MlsMember,
  cs: CiphersuiteImpl,
  lifetime: Lifetime,
  lastResort: boolean,
): Promise<{ publicPackage: KeyPackage; privatePackage: PrivateKeyPackage }> {
  const suite = cs.name;
  if (!isSupportedSuite(suite)) throw mlsError(`unsupported cipher suite ${suite}`);
  const result = await generateKeyPackageWithKey(
    { credentialType: 'basic', identity: member.identity.slice() },
    capabilities(suite),
    lifetime,
    lastResort ? [{ extensionType: LAST_RESORT_EXTENSION, extensionData: new Uint8Array(0) }] : [],
    { signKey: op.own(member.signaturePrivateKey), publicKey: member.signaturePublicKey.slice() },
    cs,
  );
  op.consumed([result.privatePackage.initPrivateKey, result.privatePackage.hpkePrivateKey]);
  return result;
}

/** Creates one KeyPackage for upload and the private state to keep until a Welcome uses it. */
export async function generateKeyPackage(
  member: MlsMember,
  options: MlsKeyPackageOptions = {},
): Promise<MlsGeneratedKeyPackage> {
  checkMember(member);
  const suite = options.suite ?? MlsSuite.default;
  if (!isSupportedSuite(suite)) throw badInput(`options.suite ${String(suite)} is not supported`);
  const lifetimeSeconds = options.lifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS;
  if (!Number.isSafeInteger(lifetimeSeconds) || lifetimeSeconds <= 0) {
    throw badInput('options.lifetimeSeconds must be a positive integer');
  }
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (!Number.isSafeInteger(now) || now < 0) throw badInput('options.now must be Unix seconds');
  return runOperation('generateKeyPackage', undefined, async (op) => {
    const cs = await suiteImpl(suite);
    const lifetime = {
      notBefore: BigInt(Math.max(0, now - CLOCK_SKEW_SECONDS)),
      notAfter: BigInt(now + lifetimeSeconds),
    };
    const { publicPackage, privatePackage } = await buildKeyPackage(op, member, cs, lifetime, options.lastResort === true);
    const keyPackage = encodeMessage({ version: 'mls10', wireformat: 'mls_key_package', keyPackage: publicPackage });
    return {
      keyPackage,
      keyPackageRef: await makeKeyPackageRef(publicPackage, cs.hash),
      privateState: packFields(PRIVATE_STATE_TAG, [
        keyPackage,
        privatePackage.initPrivateKey,
        privatePackage.hpkePrivateKey,
      ]),
    };
  });
}

/**
 * RFC 9420 §10.1 checks a KeyPackage must pass before anyone uses it: a supported suite and
 * version, a BasicCredential with an Ed25519 key, both signatures valid, init key distinct from the
 * leaf key. Returns what the server and clients index it by. Does not consult the credential
 * check: that happens when the KeyPackage is added to a group.
 */
export async function verifiedKeyPackage(kp: KeyPackage): Promise<{ info: MlsKeyPackageInfo; cs: CiphersuiteImpl }> {
  if (kp.version !== 'mls10') throw mlsError('keyPackage has unsupported protocol version');
  if (!isSupportedSuite(kp.cipherSuite)) throw mlsError(`keyPackage uses unsupported cipher suite ${kp.cipherSuite}`);
  const cs = await suiteImpl(kp.cipherSuite);
  const leaf = kp.leafNode;
  if (leaf.leafNodeSource !== 'key_package') throw mlsError('keyPackage leaf node has the wrong source');
  if (leaf.credential.credentialType !== 'basic') throw mlsError('keyPackage must carry a BasicCredential');
  if (leaf.signaturePublicKey.length !== ED25519_KEY_LENGTH) throw mlsError('keyPackage signature key has the wrong length');
  if (!(await verifyLeafNodeSignatureKeyPackage(leaf, cs.signature))) throw mlsError('keyPackage leaf signature is invalid');
  if (!(await verifyKeyPackage(kp, cs.signature))) throw mlsError('keyPackage signature is invalid');
  if (equalBytes(kp.initKey, leaf.hpkePublicKey)) throw mlsError('keyPackage init key equals its leaf key');
  return {
    cs,
    info: {
      identity: leaf.credential.identity.slice(),
      signaturePublicKey: leaf.signaturePublicKey.slice(),
      keyPackageRef: await makeKeyPackageRef(kp, cs.hash),
      suite: kp.cipherSuite,
      lastResort: kp.extensions.some((extension) => extension.extensionType === LAST_RESORT_EXTENSION),
      notBefore: leaf.lifetime.notBefore,
      notAfter: leaf.lifetime.notAfter,
    },
  };
}

/** Parses and verifies an uploaded KeyPackage (for the server's directory and for adders). */
export async function keyPackageInfo(keyPackage: Uint8Array): Promise<MlsKeyPackageInfo> {
  return runOperation('keyPackageInfo', undefined, async () => {
    const { keyPackage: kp } = decodeMessageOf(keyPackage, 'keyPackage', 'mls_key_package');
    return (await verifiedKeyPackage(kp)).info;
  });
}

export interface LoadedKeyPackage {
  keyPackage: KeyPackage;
  /** Init and leaf HPKE private keys; the signature key is not stored here and is left empty. */
  privateKeys: PrivateKeyPackage;
  info: MlsKeyPackageInfo;
  cs: CiphersuiteImpl;
}

/** Restores a private state made by `generateKeyPackage`, into buffers zeroed when `op` ends. */
export async function loadKeyPackagePrivateState(op: MlsOperation, privateState: unknown): Promise<LoadedKeyPackage> {
  requireBytes(privateState, 'privateState', { min: PRIVATE_STATE_TAG.length });
  const [keyPackageBytes, initPrivateKey, hpkePrivateKey] = unpackFields(
    op.own(privateState),
    PRIVATE_STATE_TAG,
    3,
    'privateState',
  ) as [Uint8Array, Uint8Array, Uint8Array];
  const { keyPackage } = decodeMessageOf(keyPackageBytes, 'privateState.keyPackage', 'mls_key_package');
  const { info, cs } = await verifiedKeyPackage(keyPackage);
  return {
    keyPackage,
    privateKeys: { initPrivateKey, hpkePrivateKey, signaturePrivateKey: new Uint8Array(0) },
    info,
    cs,
  };
}
