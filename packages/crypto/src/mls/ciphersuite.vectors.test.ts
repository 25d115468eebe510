/**
 * The MLS interoperability vectors (mls-vectors.json, cipher suite 1) replayed through ts-mls with
 * Parley's ciphersuite on each crypto provider: crypto basics, key schedule, secret tree, message
 * protection, Welcome, transcript hashes, and passive clients that join and follow commits.
 */
import { readFileSync } from 'node:fs';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import {
  decodeMlsMessage,
  defaultKeyRetentionConfig,
  joinGroup,
  makePskIndex,
  mlsExporter,
  processPrivateMessage,
  processPublicMessage,
  type CiphersuiteImpl,
  type ClientState,
  type MLSMessage,
} from 'ts-mls';
import { decodeAuthenticatedContent } from 'ts-mls/authenticatedContent.js';
import { refhash } from 'ts-mls/crypto/hash.js';
import { decryptWithLabel, encryptWithLabel } from 'ts-mls/crypto/hpke.js';
import { deriveSecret, deriveTreeSecret, expandWithLabel } from 'ts-mls/crypto/kdf.js';
import { signWithLabel, verifyWithLabel } from 'ts-mls/crypto/signature.js';
import { verifyGroupInfoConfirmationTag, verifyGroupInfoSignature } from 'ts-mls/groupInfo.js';
import { encodeGroupContext, type GroupContext } from 'ts-mls/groupContext.js';
import { makeKeyPackageRef } from 'ts-mls/keyPackage.js';
import { initializeEpoch } from 'ts-mls/keySchedule.js';
import { unprotectPrivateMessage } from 'ts-mls/messageProtection.js';
import { unprotectPublicMessage } from 'ts-mls/messageProtectionPublic.js';
import { decodeRatchetTree, type RatchetTree } from 'ts-mls/ratchetTree.js';
import { createSecretTree, deriveKey, deriveNonce, ratchetUntil } from 'ts-mls/secretTree.js';
import { expandSenderDataKey, expandSenderDataNonce } from 'ts-mls/sender.js';
import { createConfirmedHash, createInterimHash } from 'ts-mls/transcriptHash.js';
import { decryptGroupInfo, decryptGroupSecrets } from 'ts-mls/welcome.js';
import { describe, expect, it } from 'vitest';
import { nodeCryptoProvider } from '../node.js';
import { nobleCryptoProvider } from '../provider/noble.js';
import { providerCiphersuite } from './ciphersuite.js';
import { defined } from './mls.testkit.js';

type Hex = string;
interface KeyScheduleEpoch {
  group_context: Hex;
  tree_hash: Hex;
  confirmed_transcript_hash: Hex;
  commit_secret: Hex;
  psk_secret: Hex;
  joiner_secret: Hex;
  welcome_secret: Hex;
  encryption_secret: Hex;
  init_secret: Hex;
  sender_data_secret: Hex;
  exporter_secret: Hex;
  external_secret: Hex;
  external_pub: Hex;
  confirmation_key: Hex;
  membership_key: Hex;
  resumption_psk: Hex;
  epoch_authenticator: Hex;
  exporter: { label: string; context: Hex; length: number; secret: Hex };
}
interface SecretTreeGeneration {
  generation: number;
  handshake_key: Hex;
  handshake_nonce: Hex;
  application_key: Hex;
  application_nonce: Hex;
}
interface PassiveClient {
  key_package: Hex;
  signature_priv: Hex;
  encryption_priv: Hex;
  init_priv: Hex;
  welcome: Hex;
  ratchet_tree: Hex | null;
  external_psks: { psk_id: Hex; psk: Hex }[];
  initial_epoch_authenticator: Hex;
  epochs: { proposals: Hex[]; commit: Hex; epoch_authenticator: Hex }[];
}
interface Vectors {
  cryptoBasics: {
    ref_hash: { label: string; value: Hex; out: Hex };
    expand_with_label: { secret: Hex; label: string; context: Hex; length: number; out: Hex };
    derive_secret: { secret: Hex; label: string; out: Hex };
    derive_tree_secret: { secret: Hex; label: string; generation: number; length: number; out: Hex };
    sign_with_label: { priv: Hex; pub: Hex; content: Hex; label: string; signature: Hex };
    encrypt_with_label: { priv: Hex; pub: Hex; label: string; context: Hex; plaintext: Hex; kem_output: Hex; ciphertext: Hex };
  };
  keySchedule: { group_id: Hex; initial_init_secret: Hex; epochs: KeyScheduleEpoch[] };
  secretTree: {
    encryption_secret: Hex;
    sender_data: { sender_data_secret: Hex; ciphertext: Hex; key: Hex; nonce: Hex };
    leaves: SecretTreeGeneration[][];
  };
  messageProtection: {
    group_id: Hex;
    epoch: number;
    tree_hash: Hex;
    confirmed_transcript_hash: Hex;
    signature_pub: Hex;
    encryption_secret: Hex;
    sender_data_secret: Hex;
    membership_key: Hex;
    application: Hex;
    application_priv: Hex;
    commit_pub: Hex;
  };
  welcome: { init_priv: Hex; key_package: Hex; signer_pub: Hex; welcome: Hex };
  transcriptHashes: {
    confirmation_key: Hex;
    authenticated_content: Hex;
    interim_transcript_hash_before: Hex;
    confirmed_transcript_hash_after: Hex;
    interim_transcript_hash_after: Hex;
  };
  passiveClients: PassiveClient[];
}
const vectors = JSON.parse(readFileSync(new URL('./mls-vectors.json', import.meta.url), 'utf8')) as Vectors;
const { cryptoBasics, keySchedule, secretTree, messageProtection, welcome, transcriptHashes, passiveClients } = vectors;

const h = hexToBytes;
const SUITE = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519';

function message<K extends MLSMessage['wireformat']>(hex: Hex, wireformat: K): MLSMessage & { wireformat: K } {
  const decoded = defined(decodeMlsMessage(h(hex), 0), 'decoded message')[0];
  if (decoded.wireformat !== wireformat) throw new Error(`expected ${wireformat}, got ${decoded.wireformat}`);
  return decoded as MLSMessage & { wireformat: K };
}

function groupContext(fields: { group_id: Hex; epoch: number; tree_hash: Hex; confirmed_transcript_hash: Hex }): GroupContext {
  return {
    version: 'mls10',
    cipherSuite: SUITE,
    groupId: h(fields.group_id),
    epoch: BigInt(fields.epoch),
    treeHash: h(fields.tree_hash),
    confirmedTranscriptHash: h(fields.confirmed_transcript_hash),
    extensions: [],
  };
}

describe.each([nodeCryptoProvider, nobleCryptoProvider].map((p) => [p.name, providerCiphersuite(p)] as const))(
  'MLS vectors on %s',
  (_name, cs: CiphersuiteImpl) => {
    it('crypto-basics: RefHash, ExpandWithLabel, DeriveSecret, DeriveTreeSecret, SignWithLabel, EncryptWithLabel', async () => {
      const { ref_hash, expand_with_label, derive_secret, derive_tree_secret, sign_with_label, encrypt_with_label } = cryptoBasics;
      expect(bytesToHex(await refhash(ref_hash.label, h(ref_hash.value), cs.hash))).toBe(ref_hash.out);
      const { secret, label, context, length, out } = expand_with_label;
      expect(bytesToHex(await expandWithLabel(h(secret), label, h(context), length, cs.kdf))).toBe(out);
      expect(bytesToHex(await deriveSecret(h(derive_secret.secret), derive_secret.label, cs.kdf))).toBe(derive_secret.out);
      const tree = derive_tree_secret;
      expect(bytesToHex(await deriveTreeSecret(h(tree.secret), tree.label, tree.generation, tree.length, cs.kdf))).toBe(tree.out);

      const sig = sign_with_label;
      expect(await verifyWithLabel(h(sig.pub), sig.label, h(sig.content), h(sig.signature), cs.signature)).toBe(true);
      // Ed25519 is deterministic (RFC 8032 §5.1.6), so our signature is the vector's.
      expect(bytesToHex(await signWithLabel(h(sig.priv), sig.label, h(sig.content), cs.signature))).toBe(sig.signature);

      const enc = encrypt_with_label;
      const privateKey = await cs.hpke.importPrivateKey(h(enc.priv));
      const publicKey = await cs.hpke.importPublicKey(h(enc.pub));
      const opened = await decryptWithLabel(privateKey, enc.label, h(enc.context), h(enc.kem_output), h(enc.ciphertext), cs.hpke);
      expect(bytesToHex(opened)).toBe(enc.plaintext);
      const sealed = await encryptWithLabel(publicKey, enc.label, h(enc.context), h(enc.plaintext), cs.hpke);
      const reopened = await decryptWithLabel(privateKey, enc.label, h(enc.context), sealed.enc, sealed.ct, cs.hpke);
      expect(bytesToHex(reopened)).toBe(enc.plaintext);
    });

    it('key-schedule: every epoch secret, the exporter and external_pub = DeriveKeyPair(external_secret)', async () => {
      let initSecret = h(keySchedule.initial_init_secret);
      for (const [index, epoch] of keySchedule.epochs.entries()) {
        const context = groupContext({ ...epoch, group_id: keySchedule.group_id, epoch: index });
        expect(bytesToHex(encodeGroupContext(context))).toBe(epoch.group_context);
        const secrets = await initializeEpoch(initSecret, h(epoch.commit_secret), context, h(epoch.psk_secret), cs.kdf);
        expect(bytesToHex(secrets.joinerSecret)).toBe(epoch.joiner_secret);
        expect(bytesToHex(secrets.welcomeSecret)).toBe(epoch.welcome_secret);
        expect(bytesToHex(secrets.encryptionSecret)).toBe(epoch.encryption_secret);
        const schedule = secrets.keySchedule;
        expect(bytesToHex(schedule.initSecret)).toBe(epoch.init_secret);
        expect(bytesToHex(schedule.senderDataSecret)).toBe(epoch.sender_data_secret);
        expect(bytesToHex(schedule.exporterSecret)).toBe(epoch.exporter_secret);
        expect(bytesToHex(schedule.externalSecret)).toBe(epoch.external_secret);
        expect(bytesToHex(schedule.confirmationKey)).toBe(epoch.confirmation_key);
        expect(bytesToHex(schedule.membershipKey)).toBe(epoch.membership_key);
        expect(bytesToHex(schedule.resumptionPsk)).toBe(epoch.resumption_psk);
        expect(bytesToHex(schedule.epochAuthenticator)).toBe(epoch.epoch_authenticator);
        const { publicKey } = await cs.hpke.deriveKeyPair(schedule.externalSecret);
        expect(bytesToHex(await cs.hpke.exportPublicKey(publicKey))).toBe(epoch.external_pub);
        const { exporter } = epoch;
        const exported = await mlsExporter(schedule.exporterSecret, exporter.label, h(exporter.context), exporter.length, cs);
        expect(bytesToHex(exported)).toBe(exporter.secret);
        initSecret = schedule.initSecret;
      }
    });

    it('secret-tree: sender data key and nonce, and every leaf ratchet generation', async () => {
      const { sender_data_secret, ciphertext, key, nonce } = secretTree.sender_data;
      expect(bytesToHex(await expandSenderDataKey(cs, h(sender_data_secret), h(ciphertext)))).toBe(key);
      expect(bytesToHex(await expandSenderDataNonce(cs, h(sender_data_secret), h(ciphertext)))).toBe(nonce);
      const leaves = secretTree.leaves;
      const tree = await createSecretTree(leaves.length, h(secretTree.encryption_secret), cs.kdf);
      for (const [leafIndex, generations] of leaves.entries()) {
        const node = defined(tree[leafIndex * 2], `secret tree node of leaf ${leafIndex}`);
        for (const expected of generations) {
          for (const kind of ['handshake', 'application'] as const) {
            const [ratchet] = await ratchetUntil(node[kind], expected.generation, defaultKeyRetentionConfig, cs.kdf);
            expect(bytesToHex(await deriveKey(ratchet.secret, ratchet.generation, cs))).toBe(expected[`${kind}_key`]);
            expect(bytesToHex(await deriveNonce(ratchet.secret, ratchet.generation, cs))).toBe(expected[`${kind}_nonce`]);
          }
        }
      }
    });

    it('message-protection: opens the PrivateMessage and checks the PublicMessage of the vectors', async () => {
      const mp = messageProtection;
      const context = groupContext(mp);
      // Sender data names leaf 1, which must be a (blank-bodied) leaf for ts-mls's check.
      const tree = [undefined, undefined, { nodeType: 'leaf', leaf: { leafNodeSource: 'commit', credential: { credentialType: 'basic', identity: new Uint8Array() } } }] as unknown as RatchetTree;
      const secrets = await createSecretTree(2, h(mp.encryption_secret), cs.kdf);
      const privateMessage = message(mp.application_priv, 'mls_private_message').privateMessage;
      const opened = await unprotectPrivateMessage(h(mp.sender_data_secret), privateMessage, secrets, tree, context, defaultKeyRetentionConfig, cs, h(mp.signature_pub));
      const content = opened.content.content;
      expect(content.contentType === 'application' && bytesToHex(content.applicationData)).toBe(mp.application);
      const publicMessage = message(mp.commit_pub, 'mls_public_message').publicMessage;
      const checked = await unprotectPublicMessage(h(mp.membership_key), context, [], publicMessage, cs, h(mp.signature_pub));
      expect(checked.content.contentType).toBe('commit');
    });

    it('welcome: decrypts the group secrets and GroupInfo and checks its tag and signature', async () => {
      const w = message(welcome.welcome, 'mls_welcome').welcome;
      const keyPackage = message(welcome.key_package, 'mls_key_package').keyPackage;
      const ref = await makeKeyPackageRef(keyPackage, cs.hash);
      const initKey = await cs.hpke.importPrivateKey(h(welcome.init_priv));
      const secrets = defined(await decryptGroupSecrets(initKey, ref, w, cs.hpke), 'group secrets');
      const pskSecret = new Uint8Array(cs.kdf.size);
      const info = defined(await decryptGroupInfo(w, secrets.joinerSecret, pskSecret, cs), 'group info');
      expect(await verifyGroupInfoConfirmationTag(info, secrets.joinerSecret, pskSecret, cs)).toBe(true);
      expect(await verifyGroupInfoSignature(info, h(welcome.signer_pub), cs.signature)).toBe(true);
    });

    it('transcript-hashes: confirmation tag, confirmed and interim transcript hashes', async () => {
      const th = transcriptHashes;
      const [content] = defined(decodeAuthenticatedContent(h(th.authenticated_content), 0), 'authenticated content');
      if (content.auth.contentType !== 'commit' || content.content.contentType !== 'commit') throw new Error('expected a commit');
      const { confirmationTag } = content.auth;
      expect(await cs.hash.verifyMac(h(th.confirmation_key), confirmationTag, h(th.confirmed_transcript_hash_after))).toBe(true);
      const input = { wireformat: content.wireformat, content: content.content, signature: content.auth.signature };
      const confirmed = await createConfirmedHash(h(th.interim_transcript_hash_before), input, cs.hash);
      expect(bytesToHex(confirmed)).toBe(th.confirmed_transcript_hash_after);
      expect(bytesToHex(await createInterimHash(confirmed, confirmationTag, cs.hash))).toBe(th.interim_transcript_hash_after);
    });

    it.each(passiveClients.map((client, i) => [i, client] as const))('passive client %i joins and follows every commit', async (_i, client) => {
      const keyPackage = message(client.key_package, 'mls_key_package').keyPackage;
      const privateKeys = { hpkePrivateKey: h(client.encryption_priv), initPrivateKey: h(client.init_priv), signaturePrivateKey: h(client.signature_priv) };
      const psks = Object.fromEntries(client.external_psks.map(({ psk_id, psk }) => [Buffer.from(h(psk_id)).toString('base64'), h(psk)]));
      const tree = client.ratchet_tree === null ? undefined : defined(decodeRatchetTree(h(client.ratchet_tree), 0), 'tree')[0];
      const w = message(client.welcome, 'mls_welcome').welcome;
      let state: ClientState = await joinGroup(w, keyPackage, privateKeys, makePskIndex(undefined, psks), cs, tree);
      expect(bytesToHex(state.keySchedule.epochAuthenticator)).toBe(client.initial_epoch_authenticator);
      for (const epoch of client.epochs) {
        for (const hex of [...epoch.proposals, epoch.commit]) {
          const decoded = decodeMlsMessage(h(hex), 0)?.[0];
          if (decoded?.wireformat === 'mls_private_message') {
            state = (await processPrivateMessage(state, decoded.privateMessage, makePskIndex(state, psks), cs)).newState;
          } else if (decoded?.wireformat === 'mls_public_message') {
            state = (await processPublicMessage(state, decoded.publicMessage, makePskIndex(state, psks), cs)).newState;
          } else {
            throw new Error('expected a PrivateMessage or PublicMessage');
          }
        }
        expect(bytesToHex(state.keySchedule.epochAuthenticator)).toBe(epoch.epoch_authenticator);
      }
    });
  },
);
