/**
 * The stored group state is ts-mls's GroupState codec behind our tag. These tests replay ts-mls
 * states with every part populated (skipped generations, past epochs, pending proposals, the
 * removed and suspended states) and require an exact round trip, object and bytes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createApplicationMessage,
  createCommit,
  createGroup,
  createProposal,
  decodeGroupState,
  defaultCapabilities,
  defaultLifetime,
  emptyPskIndex,
  encodeGroupState,
  generateKeyPackage,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  joinGroup,
  processPrivateMessage,
  type ClientState,
  type GroupState,
  type LeafNode,
  type MLSMessage,
  type PrivateMessage,
  type RatchetTree,
} from 'ts-mls';
import { defined, utf8 } from './mls.testkit.js';
import { packFields, unpackFields } from './wire.js';

const cs = await getCiphersuiteImpl(getCiphersuiteFromName('MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519'));

/**
 * Leaves ts-mls signs itself keep the LeafNodeTBS-only fields `groupId` and `leafIndex` in memory
 * (RFC 9420 §7.2: they are signed, never sent). No code reads them back, and every other member
 * holds the decoded form anyway, so compare without them.
 */
function withoutTbsFields(tree: RatchetTree): RatchetTree {
  return tree.map((node) => {
    if (node?.nodeType !== 'leaf') return node;
    const { groupId: _g, leafIndex: _l, ...leaf } = node.leaf as LeafNode & { groupId?: unknown; leafIndex?: unknown };
    return { nodeType: 'leaf', leaf };
  });
}

function wireShape(state: GroupState): GroupState {
  const historical = [...state.historicalReceiverData].map(
    ([epoch, data]) => [epoch, { ...data, ratchetTree: withoutTbsFields(data.ratchetTree) }] as const,
  );
  return { ...state, ratchetTree: withoutTbsFields(state.ratchetTree), historicalReceiverData: new Map(historical) };
}

function roundTrip(state: ClientState): void {
  const { clientConfig: _config, ...groupState } = state;
  const bytes = encodeGroupState(groupState);
  const [decoded, length] = defined(decodeGroupState(bytes, 0), 'decoded state');
  expect(length).toBe(bytes.length);
  expect(decoded).toEqual(wireShape(groupState));
  expect(decoded.ratchetTree.length).toBe(groupState.ratchetTree.length);
  expect(encodeGroupState(decoded)).toEqual(bytes);
}

async function member(name: string) {
  return generateKeyPackage({ credentialType: 'basic', identity: utf8(name) }, defaultCapabilities(), defaultLifetime, [], cs);
}

function privateMessage(message: MLSMessage): PrivateMessage {
  if (message.wireformat !== 'mls_private_message') throw new Error('expected a PrivateMessage');
  return message.privateMessage;
}

describe('group state codec (ts-mls encodeGroupState / decodeGroupState)', () => {
  it('round-trips states through a whole group life cycle', async () => {
    const [alice, bob, carol] = [await member('alice'), await member('bob'), await member('carol')];
    let a = await createGroup(utf8('codec'), alice.publicPackage, alice.privatePackage, [], cs);
    roundTrip(a);
    const add = await createCommit(
      { state: a, cipherSuite: cs },
      {
        extraProposals: [bob, carol].map((m) => ({ proposalType: 'add', add: { keyPackage: m.publicPackage } })),
        ratchetTreeExtension: true,
      },
    );
    a = add.newState;
    roundTrip(a);
    const welcome = defined(add.welcome, 'welcome');
    let b = await joinGroup(welcome, bob.publicPackage, bob.privatePackage, emptyPskIndex, cs);
    let c = await joinGroup(welcome, carol.publicPackage, carol.privatePackage, emptyPskIndex, cs);
    roundTrip(b);

    // Out-of-order delivery leaves skipped generations in bob's secret tree.
    const sent: PrivateMessage[] = [];
    for (let i = 0; i < 4; i += 1) {
      const m = await createApplicationMessage(a, utf8(`m${i}`), cs);
      a = m.newState;
      sent.push(m.privateMessage);
    }
    b = (await processPrivateMessage(b, defined(sent[3]), emptyPskIndex, cs)).newState;
    roundTrip(b);
    expect(b.secretTree.some((node) => Object.keys(node.application.unusedGenerations).length === 3)).toBe(true);
    b = (await processPrivateMessage(b, defined(sent[1]), emptyPskIndex, cs)).newState;
    roundTrip(b);

    // A pending proposal from carol, then commits that fill the past-epoch store.
    const proposal = await createProposal(c, false, { proposalType: 'remove', remove: { removed: 1 } }, cs);
    c = proposal.newState;
    a = (await processPrivateMessage(a, privateMessage(proposal.message), emptyPskIndex, cs)).newState;
    b = (await processPrivateMessage(b, privateMessage(proposal.message), emptyPskIndex, cs)).newState;
    roundTrip(a);
    roundTrip(b);
    expect(Object.keys(a.unappliedProposals)).toHaveLength(1);
    const removeBob = await createCommit({ state: a, cipherSuite: cs });
    a = removeBob.newState;
    roundTrip(a);
    const bobRemoved = await processPrivateMessage(b, privateMessage(removeBob.commit), emptyPskIndex, cs);
    expect(bobRemoved.newState.groupActiveState.kind).toBe('removedFromGroup');
    roundTrip(bobRemoved.newState);
    c = (await processPrivateMessage(c, privateMessage(removeBob.commit), emptyPskIndex, cs)).newState;
    for (let i = 0; i < 6; i += 1) {
      const update = await createCommit({ state: c, cipherSuite: cs });
      c = update.newState;
      a = (await processPrivateMessage(a, privateMessage(update.commit), emptyPskIndex, cs)).newState;
      roundTrip(a);
    }
    expect(a.historicalReceiverData.size).toBeGreaterThan(1);

    // Removing the last leaf shrinks the tree; the decoded tree must have the same width.
    const dave = await member('dave');
    const addDave = await createCommit(
      { state: a, cipherSuite: cs },
      { extraProposals: [{ proposalType: 'add', add: { keyPackage: dave.publicPackage } }] },
    );
    a = addDave.newState;
    const daveLeaf = a.ratchetTree.findLastIndex((n) => n?.nodeType === 'leaf') / 2;
    a = (await createCommit({ state: a, cipherSuite: cs }, { extraProposals: [{ proposalType: 'remove', remove: { removed: daveLeaf } }] })).newState;
    roundTrip(a);

    // A committed ReInit suspends the group (RFC 9420 §11.2).
    const reinit = await createCommit(
      { state: a, cipherSuite: cs },
      {
        extraProposals: [
          {
            proposalType: 'reinit',
            reinit: { groupId: utf8('codec-2'), version: 'mls10', cipherSuite: cs.name, extensions: [] },
          },
        ],
      },
    );
    expect(reinit.newState.groupActiveState.kind).toBe('suspendedPendingReinit');
    roundTrip(reinit.newState);
  });

  it('rejects truncated group state bytes', async () => {
    const alice = await member('alice');
    const state = await createGroup(utf8('codec'), alice.publicPackage, alice.privatePackage, [], cs);
    const { clientConfig: _config, ...groupState } = state;
    const bytes = encodeGroupState(groupState);
    for (const length of [0, 1, 10, bytes.length >> 1, bytes.length - 1]) {
      let decoded: ReturnType<typeof decodeGroupState>;
      try {
        decoded = decodeGroupState(bytes.subarray(0, length), 0);
      } catch {
        decoded = undefined;
      }
      expect(decoded).toBeUndefined();
    }
  });
});

describe('stored record fields (packFields / unpackFields)', () => {
  const tag = new Uint8Array([0x54, 0x54, 0x01]);

  it('round-trips any fields', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 6 }), (fields) => {
        expect(unpackFields(packFields(tag, fields), tag, fields.length, 'record')).toEqual(fields);
      }),
    );
  });

  it('rejects truncation, trailing bytes, a wrong tag and a wrong field count', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 4 }), fc.nat(), (fields, cut) => {
        const packed = packFields(tag, fields);
        const short = packed.subarray(0, cut % packed.length);
        expect(() => unpackFields(short, tag, fields.length, 'record')).toThrow(/record/);
        const long = new Uint8Array([...packed, 0]);
        expect(() => unpackFields(long, tag, fields.length, 'record')).toThrow(/trailing/);
        expect(() => unpackFields(packed, new Uint8Array([0x54, 0x54, 0x02]), fields.length, 'record')).toThrow(/format/);
        expect(() => unpackFields(packed, tag, fields.length + 1, 'record')).toThrow(/truncated/);
      }),
    );
  });
});
