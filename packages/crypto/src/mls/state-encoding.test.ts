/**
 * Saved states made from the remembered bytes of unchanged parts are byte for byte what ts-mls's
 * own encoder gives, through every kind of change a state goes through.
 */
import { createApplicationMessage, decodeGroupState, encodeGroupState, type ClientState } from 'ts-mls';
import { describe, expect, it } from 'vitest';
import { addMembers, createGroup, encrypt, generateKeyPackage, joinFromWelcome, processMessage, removeMembers, selfUpdate } from './index.js';
import { defined, directory, makeDevice, name, utf8 } from './mls.testkit.js';
import { runOperation, suiteImpl } from './runtime.js';
import { recallState } from './state-cache.js';
import { encodeState } from './state-encoding.js';
import { loadState } from './state.js';

const TAG_LENGTH = 3;

/**
 * `bytes` are what ts-mls encodes for the state they decode to, and that state is the one kept
 * for them: a part's stale bytes would decode to something other than the part itself.
 */
function expectEncodedAsTsMls(bytes: Uint8Array): Uint8Array {
  const decoded = defined(decodeGroupState(new Uint8Array(bytes), TAG_LENGTH), 'decoded state')[0];
  expect(encodeGroupState(decoded)).toEqual(bytes.subarray(TAG_LENGTH));
  const { signaturePrivateKey: _empty, ...stored } = decoded;
  expect(defined(recallState(bytes, 'read'), 'kept state').state).toStrictEqual(stored);
  return bytes;
}

async function threeMembers() {
  const [alice, bob, carol] = [makeDevice('alice'), makeDevice('bob'), makeDevice('carol')];
  const auth = directory(alice, bob, carol);
  const created = await createGroup(alice, utf8('encoded'));
  const [bobKey, carolKey] = [await generateKeyPackage(bob), await generateKeyPackage(carol)];
  const added = await addMembers(created.state, alice, [bobKey.keyPackage, carolKey.keyPackage], auth);
  return {
    alice,
    bob,
    carol,
    auth,
    states: {
      alice: expectEncodedAsTsMls(added.pendingState),
      bob: expectEncodedAsTsMls((await joinFromWelcome(added.welcome, bobKey.privateState, auth)).state),
      carol: expectEncodedAsTsMls((await joinFromWelcome(added.welcome, carolKey.privateState, auth)).state),
    },
  };
}

describe('saved group states', () => {
  it('encode as ts-mls does through messages, commits, late and out-of-order messages', async () => {
    const { alice, carol, auth, states } = await threeMembers();
    const first = await encrypt(states.alice, alice, utf8('first'));
    const second = await encrypt(expectEncodedAsTsMls(first.state), alice, utf8('second'));
    // Out of order: the second message first, then the skipped generation.
    let bobState = expectEncodedAsTsMls((await processMessage(states.bob, second.message, auth)).state);
    bobState = expectEncodedAsTsMls((await processMessage(bobState, first.message, auth)).state);
    const late = await encrypt(states.carol, carol, utf8('sent before the commit'));
    const update = await selfUpdate(expectEncodedAsTsMls(late.state), carol);
    bobState = expectEncodedAsTsMls((await processMessage(bobState, update.commit, auth)).state);
    // A message from the past epoch changes a retained epoch's secret tree, and nothing else.
    const read = await processMessage(bobState, late.message, auth);
    expect(read.kind === 'application' && name(read.plaintext)).toBe('sent before the commit');
    bobState = expectEncodedAsTsMls(read.state);
    const aliceState = expectEncodedAsTsMls((await processMessage(second.state, update.commit, auth)).state);
    const removal = await removeMembers(aliceState, alice, [carol.signaturePublicKey]);
    expectEncodedAsTsMls(removal.pendingState);
    bobState = expectEncodedAsTsMls((await processMessage(bobState, removal.commit, auth)).state);
    const after = await encrypt(expectEncodedAsTsMls(removal.pendingState), alice, utf8('after'));
    expectEncodedAsTsMls((await processMessage(bobState, after.message, auth)).state);
  });

  it('reuse the bytes of the parts a message leaves alone, and still match ts-mls', async () => {
    const { alice, states } = await threeMembers();
    await runOperation('test', undefined, async (op) => {
      const current: ClientState = loadState(op, states.alice, alice);
      const cs = await suiteImpl(current.groupContext.cipherSuite);
      const { newState } = await createApplicationMessage(current, utf8('hello'), cs);
      // ts-mls hands the tree and the retained epochs on as the same objects: their bytes are reused.
      expect(newState.ratchetTree).toBe(current.ratchetTree);
      expect(newState.historicalReceiverData).toBe(current.historicalReceiverData);
      const unsigned = { ...newState, signaturePrivateKey: new Uint8Array(0) };
      expect(encodeState(unsigned).bytes).toEqual(encodeGroupState(unsigned));
    });
  });
});
