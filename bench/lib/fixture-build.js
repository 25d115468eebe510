/**
 * @module What load generators do to make and load the benchmark fixture (./fixture.js).
 *
 * Made once and cached: accounts registered with real OPAQUE against the fixture's server key file
 * (the client's Argon2id is what makes registering slow), and MLS groups with their commits,
 * Welcomes and one application message per sender, made with the MLS facade from those accounts'
 * device keys. Loaded into every fresh server: the accounts' registration requests and records
 * are sent again (valid for any server with that key file: OPAQUE binds them to its OPRF key and
 * the username), and the groups' creators upload the same commits, which the server checks and
 * stores as it would any other.
 */
import {
  addMembers,
  backupKeyFromExportKey,
  createGroup,
  deviceCertificateMessage,
  encrypt,
  generateKeyPackage,
  generateRecoveryKey,
  generateSigningKeyPair,
  joinFromWelcome,
  opaqueClient,
  recoveryKeys,
  seal,
  sign,
} from '@parley/crypto';
import { encodeCbor, fromBase64Url, toBase64Url } from '@parley/protocol';
import { ParleyConnection } from './wire.js';

const b64 = toBase64Url;
const bytes = fromBase64Url;
const anyCredential = async () => true;
/** MLS pads application messages to 256 bytes (crypto runtime.ts), so any short text does. */
const TEXT = new TextEncoder().encode('a message of ordinary length, as people send them');

/** Runs `task` over `items` with at most `concurrency` at once. */
export async function eachLimited(items, concurrency, task) {
  let next = 0;
  const run = async () => {
    while (next < items.length) {
      const index = next++;
      await task(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, run));
}

/** Registers each username on the server at `url` as a real client does; returns what replaying it needs. */
export async function enrol({ url, password, usernames }) {
  const accounts = [];
  for (const username of usernames) {
    const connection = await ParleyConnection.open(url);
    try {
      const start = opaqueClient.startRegistration(password);
      const { response } = await connection.request('register.start', { username, request: start.request });
      const { record, exportKey } = opaqueClient.finishRegistration(start.state, password, username, response);
      const identity = generateSigningKeyPair();
      const device = generateSigningKeyPair();
      const recovery = recoveryKeys(generateRecoveryKey());
      const backupPlaintext = encodeCbor({ v: 1, identityPrivateKey: identity.privateKey });
      const deviceId = `${username}-d1`.replace(/[^A-Za-z0-9_-]/g, '_');
      const certificate = { deviceId, name: 'bench', publicKey: device.publicKey };
      const signature = sign(identity.privateKey, deviceCertificateMessage({ username, ...certificate }));
      const account = {
        username,
        deviceId,
        request: b64(start.request),
        record: b64(record),
        identityKey: b64(identity.publicKey),
        recoveryKey: b64(recovery.signing.publicKey),
        devicePublicKey: b64(device.publicKey),
        devicePrivateKey: b64(device.privateKey),
        deviceSignature: b64(signature),
        backup: b64(seal(backupKeyFromExportKey(exportKey), backupPlaintext, username)),
        recoveryBackup: b64(seal(recovery.sealKey, backupPlaintext, username)),
      };
      await connection.request('register.finish', registration(account));
      accounts.push(account);
    } finally {
      connection.close();
    }
  }
  return accounts;
}

function certificate(account) {
  return { deviceId: account.deviceId, name: 'bench', publicKey: bytes(account.devicePublicKey), signature: bytes(account.deviceSignature) };
}

function registration(account) {
  return {
    record: bytes(account.record),
    identityKey: bytes(account.identityKey),
    recoveryKey: bytes(account.recoveryKey),
    device: certificate(account),
    backup: bytes(account.backup),
    recoveryBackup: bytes(account.recoveryBackup),
  };
}

/** The account's device as an MLS member; its credential is the device certificate, as the SDK's is. */
function member(account) {
  return {
    identity: encodeCbor({ username: account.username, certificate: certificate(account) }),
    signaturePrivateKey: bytes(account.devicePrivateKey),
    signaturePublicKey: bytes(account.devicePublicKey),
  };
}

const deviceOf = (account) => ({ username: account.username, deviceId: account.deviceId });

/**
 * A group created by `creator` that adds `members` in commits of at most `batch`; then one
 * application message from the creator and, with `replies`, one from each member (who joins from
 * its Welcome to encrypt it). Ciphertexts are made once: the server cannot tell a resent one.
 */
export async function makeGroup({ kind, creator, members, batch, replies }) {
  const groupId = crypto.getRandomValues(new Uint8Array(16));
  const owner = member(creator);
  const created = await createGroup(owner, groupId);
  let state = created.state;
  const commits = [];
  const joined = [];
  for (let from = 0; from < members.length; from += batch) {
    const added = members.slice(from, from + batch);
    const keyPackages = await Promise.all(added.map((account) => generateKeyPackage(member(account))));
    const add = await addMembers(state, owner, keyPackages.map((k) => k.keyPackage), anyCredential);
    commits.push({ epoch: commits.length, commit: b64(add.commit), groupInfo: b64(add.groupInfo), welcome: b64(add.welcome), add: added.map(deviceOf) });
    state = add.pendingState;
    if (replies) for (const [i, account] of added.entries()) joined.push({ account, welcome: add.welcome, keyPackage: keyPackages[i] });
  }
  const messages = { [creator.username]: b64((await encrypt(state, owner, TEXT)).message) };
  for (const { account, welcome, keyPackage } of joined) {
    const { state: memberState } = await joinFromWelcome(welcome, keyPackage.privateState, anyCredential);
    messages[account.username] = b64((await encrypt(memberState, member(account), TEXT)).message);
  }
  return { kind, groupId: b64(groupId), creator: creator.username, groupInfo: b64(created.groupInfo), commits, epoch: commits.length, messages };
}

/** Registers the accounts again on the server at `url`, from their cached requests and records. */
export async function replayAccounts({ url, accounts, concurrency }) {
  await eachLimited(accounts, concurrency, async (account) => {
    const connection = await ParleyConnection.open(url);
    try {
      await connection.request('register.start', { username: account.username, request: bytes(account.request) });
      await connection.request('register.finish', registration(account));
    } finally {
      connection.close();
    }
  });
  return accounts.length;
}

/** Creates the groups again on the server at `url`: each creator uploads its group and commits. */
export async function replayGroups({ url, groups, concurrency }) {
  await eachLimited(groups, concurrency, async ({ group, creator }) => {
    const connection = await ParleyConnection.open(url);
    try {
      await connection.authenticate(creator);
      const groupId = bytes(group.groupId);
      await connection.request('group.create', { groupId, kind: group.kind, groupInfo: bytes(group.groupInfo) });
      for (const { epoch, commit, groupInfo, welcome, add } of group.commits) {
        await connection.request('group.commit', { groupId, epoch, commit: bytes(commit), groupInfo: bytes(groupInfo), welcome: bytes(welcome), add, remove: [] });
      }
    } finally {
      connection.close();
    }
  });
  return groups.length;
}
