/**
 * @module Public shapes of Parley's MLS facade (RFC 9420). Only bytes, numbers and bigints cross
 * this boundary: nothing from ts-mls leaks, so a library upgrade touches this folder alone.
 */

/** RFC 9420 §17.1 cipher suites the facade supports. The post-quantum X-Wing suite needs an extra peer package. */
export const MlsSuite = {
  default: 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519',
} as const;
export type MlsSuite = (typeof MlsSuite)[keyof typeof MlsSuite];

/**
 * How much old key material every client keeps (DESIGN §6: the same window everywhere).
 * RFC 9420 §9.2 / §15.2: receivers may keep a few past epochs' secret trees to read late messages,
 * and must bound how far they ratchet forward for a message from the future of a sender's chain.
 */
export const MlsKeyRetention = {
  /** Past epochs whose secret trees are kept, to decrypt application messages that arrive after a commit. */
  retainKeysForEpochs: 4,
  /** Skipped generations kept per sender chain, for messages delivered out of order within an epoch. */
  retainKeysForGenerations: 16,
  /** Furthest a sender's chain is ratcheted for one message; more is treated as an attack. */
  maximumForwardRatchetSteps: 1000,
} as const;

/** Ed25519 key length (RFC 8032 §5.1.5): the private key is the 32-byte seed, as @noble/curves uses it. */
export const ED25519_KEY_LENGTH = 32;

/**
 * One device. Its Ed25519 key pair is also its MLS leaf signature key (RFC 9420 §5.3); `identity`
 * is the opaque BasicCredential identity (Parley puts a CBOR device certificate there).
 */
export interface MlsMember {
  identity: Uint8Array;
  signaturePrivateKey: Uint8Array;
  signaturePublicKey: Uint8Array;
}

/**
 * The authentication service of RFC 9420 §5.3.1: says whether a credential (identity bytes) is
 * valid for the leaf's signature key. Called for every new or changed leaf; `false` rejects the
 * whole message, Welcome or GroupInfo with `CryptoError('MLS_FAILED')`.
 */
export type ValidateCredential = (identity: Uint8Array, signaturePublicKey: Uint8Array) => Promise<boolean>;

/** One leaf of the ratchet tree, i.e. one member device. */
export interface MlsMemberInfo {
  leafIndex: number;
  identity: Uint8Array;
  signaturePublicKey: Uint8Array;
}

export interface MlsGroupMetadata {
  groupId: Uint8Array;
  epoch: bigint;
  suite: MlsSuite;
  ownLeafIndex: number;
  /** False once a commit removed this member (the state is kept only so the caller can see why). */
  active: boolean;
  members: MlsMemberInfo[];
}

export interface MlsKeyPackageOptions {
  /** Mark it `last_resort` (draft-ietf-mls-extensions §4.2.5): the server hands it out only when none remain. */
  lastResort?: boolean;
  /** Validity in seconds from `now` (RFC 9420 §10.1 lifetime); default 90 days. */
  lifetimeSeconds?: number;
  /** Current time in Unix seconds; defaults to the clock. Lets tests and callers stay deterministic. */
  now?: number;
  suite?: MlsSuite;
}

export interface MlsGeneratedKeyPackage {
  /** MLSMessage(KeyPackage) to upload: public. */
  keyPackage: Uint8Array;
  /** RFC 9420 §5.2 KeyPackageRef: how a Welcome names the KeyPackage it is for. */
  keyPackageRef: Uint8Array;
  /** The private init and leaf HPKE keys; keep locally, secret. Holds no signature key. */
  privateState: Uint8Array;
}

export interface MlsKeyPackageInfo {
  identity: Uint8Array;
  signaturePublicKey: Uint8Array;
  keyPackageRef: Uint8Array;
  suite: MlsSuite;
  lastResort: boolean;
  /** RFC 9420 §7.2 lifetime, Unix seconds. */
  notBefore: bigint;
  notAfter: bigint;
}

/**
 * A commit ready to upload as one bundle (DESIGN §6). `pendingState` is this member's state with
 * its own commit merged; adopt it only once the server accepted the commit (RFC 9420 §14:
 * the first commit for an epoch wins), otherwise drop it and keep the old state.
 */
export interface MlsCommitOutput {
  /** MLSMessage carrying the Commit, a PublicMessage (RFC 9420 §6.2) the Delivery Service can check. */
  commit: Uint8Array;
  /** MLSMessage(GroupInfo) for the new epoch, with external_pub and ratchet_tree (RFC 9420 §12.4.3). */
  groupInfo: Uint8Array;
  pendingState: Uint8Array;
}

export interface MlsAddOutput extends MlsCommitOutput {
  /** MLSMessage(Welcome) for the added devices, with the ratchet tree in its GroupInfo. */
  welcome: Uint8Array;
}

export interface MlsJoinOutput {
  state: Uint8Array;
  /** Which KeyPackage the Welcome consumed: delete its private state unless it is last resort. */
  keyPackageRef: Uint8Array;
  lastResort: boolean;
}

export interface MlsApplicationMessage {
  kind: 'application';
  state: Uint8Array;
  epoch: bigint;
  plaintext: Uint8Array;
  sender: MlsMemberInfo;
}

export interface MlsCommitProcessed {
  kind: 'commit';
  state: Uint8Array;
  /** The epoch this commit starts. */
  epoch: bigint;
  /** Who committed; check it against the group's admins before adopting `state`. */
  committer: MlsMemberInfo;
  /** An external commit (RFC 9420 §12.4.3.2): the committer joined, or rejoined, by itself. */
  external: boolean;
  added: MlsMemberInfo[];
  /** Leaves removed, as they were before this commit. */
  removed: MlsMemberInfo[];
  /** This member was removed: `state` can no longer send or read new epochs. */
  removedSelf: boolean;
}

export type MlsProcessed = MlsApplicationMessage | MlsCommitProcessed;

/**
 * RFC 9420 §6 framing, readable without keys (what the Delivery Service needs). `epoch` is the
 * epoch a message was made in: a commit framed with epoch N is accepted only while the group is
 * at N, and moves it to N + 1.
 */
export type MlsFraming =
  | {
      kind: 'application' | 'commit' | 'proposal';
      groupId: Uint8Array;
      epoch: bigint;
      /** PrivateMessage (§6.3) rather than PublicMessage (§6.2). */
      encrypted: boolean;
      /** A PublicMessage commit from a non-member: an external join (§12.4.3.2). */
      external: boolean;
    }
  | { kind: 'group_info'; groupId: Uint8Array; epoch: bigint }
  | { kind: 'welcome'; keyPackageRefs: Uint8Array[] }
  | { kind: 'key_package' };

/** A leaf the Delivery Service tracks: where it sits in the ratchet tree and the key that signs for it. */
export interface MlsLeaf {
  leafIndex: number;
  signaturePublicKey: Uint8Array;
}

/**
 * A commit the Delivery Service checked without any group secret (`verifyPublicCommit`): who made
 * it and what it changes, for the server to hold against the device directory and the group's
 * admins. Leaf indices are RFC 9420 §7.8 leaf indices.
 */
export interface MlsCheckedCommit {
  /** An external commit (RFC 9420 §12.4.3.2): the committer joined, or rejoined, by itself. */
  external: boolean;
  /** The committer's leaf in the new epoch (a member keeps its index) and its signature key. */
  committer: MlsLeaf;
  /** Leaves the commit removes, as they were in the epoch it was made in. */
  removed: MlsLeaf[];
  /** Leaves added from KeyPackages, where they now sit, and the KeyPackageRef a Welcome names each by (§12.4.3.1). */
  added: (MlsLeaf & { keyPackageRef: Uint8Array })[];
}
