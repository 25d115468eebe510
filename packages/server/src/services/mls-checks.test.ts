/** How a checked commit is held against the group's leaves and the directory (the cases the wire tests cannot reach). */
import type { MlsCheckedCommit } from '@parley/crypto';
import { ErrorCode, type DeviceRef } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import type { DeviceRecord, GroupLeaf } from '../storage/index.js';
import { matchMemberCommit, matchRejoin } from './mls-checks.js';

const key = (fill: number) => new Uint8Array(32).fill(fill);
const ref = (username: string, deviceId: string): DeviceRef => ({ username, deviceId });
const record = (device: DeviceRef, fill: number): DeviceRecord => ({ ...device, name: 'phone', publicKey: key(fill), certificate: new Uint8Array(64), createdAt: 1, lastSeenAt: undefined, revokedAt: undefined });

const alice = ref('alice', 'alice-phone');
const bob = ref('bob', 'bob-phone-1');
const carol = ref('carol', 'carol-phone');
const leaves: GroupLeaf[] = [
  { leafIndex: 0, signatureKey: key(1), device: alice },
  { leafIndex: 1, signatureKey: key(2), device: bob },
  // Carried over from before leaves were tracked, matching no device of the group.
  { leafIndex: 2, signatureKey: key(3), device: undefined },
];
const directory = new Map([alice, bob, carol].map((device, i) => [`${device.username}/${device.deviceId}`, record(device, i + 1)]));
const session = record(alice, 1);

function commit(fields: Partial<MlsCheckedCommit>): MlsCheckedCommit {
  return { external: false, committer: { leafIndex: 0, signaturePublicKey: key(1) }, removed: [], added: [], ...fields };
}
const member = (checked: MlsCheckedCommit, declared: { add?: DeviceRef[]; remove?: DeviceRef[]; welcome?: Uint8Array[] } = {}) =>
  matchMemberCommit(checked, { leaves, session, routed: [alice, bob], directory }, { add: declared.add ?? [], remove: declared.remove ?? [], welcome: declared.welcome ?? [] });

describe('a member commit', () => {
  it("must come from the session device's own leaf, keeping its directory key", () => {
    expect(() => member(commit({ committer: { leafIndex: 1, signaturePublicKey: key(2) } }))).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_COMMIT, message: expect.stringMatching(/leaf 1/) }));
    expect(() => member(commit({ committer: { leafIndex: 0, signaturePublicKey: key(9) } }))).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_COMMIT }));
    expect(() => member(commit({ external: true }))).toThrow(expect.objectContaining({ code: ErrorCode.BAD_REQUEST }));
  });

  it('removes exactly the declared routed devices; an unknown leaf is housekeeping', () => {
    const removeBob = commit({ removed: [{ leafIndex: 1, signaturePublicKey: key(2) }] });
    expect(() => member(removeBob)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_COMMIT, message: expect.stringMatching(/removes bob\/bob-phone-1/) }));
    expect(member(removeBob, { remove: [bob] })).toEqual({ removed: [1], added: [] });
    expect(member(commit({ removed: [{ leafIndex: 2, signaturePublicKey: key(3) }] }))).toEqual({ removed: [2], added: [] });
    // A leaf whose key is not the one on record is refused rather than guessed at.
    expect(() => member(commit({ removed: [{ leafIndex: 1, signaturePublicKey: key(7) }] }), { remove: [bob] })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_COMMIT }));
  });

  it("adds exactly the declared devices' keys, once each, with a Welcome for exactly those KeyPackages", () => {
    const ref3 = new Uint8Array(32).fill(0x33);
    const addCarol = commit({ added: [{ leafIndex: 3, signaturePublicKey: key(3), keyPackageRef: ref3 }] });
    expect(member(addCarol, { add: [carol], welcome: [ref3] })).toEqual({ removed: [], added: [{ leafIndex: 3, signatureKey: key(3), device: carol }] });
    expect(() => member(addCarol, { add: [bob], welcome: [ref3] })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_COMMIT, message: expect.stringMatching(/KeyPackage/) }));
    expect(() => member(addCarol, { add: [carol], welcome: [ref3, ref3] })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_COMMIT, message: expect.stringMatching(/Welcome/) }));
    const twice = commit({ added: [0, 1].map((i) => ({ leafIndex: 3 + i, signaturePublicKey: key(3), keyPackageRef: ref3 })) });
    expect(() => member(twice, { add: [carol], welcome: [ref3] })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_COMMIT }));
  });
});

describe('an external commit', () => {
  const rejoin = (checked: Partial<MlsCheckedCommit>, who: DeviceRecord = record(bob, 2)) =>
    matchRejoin(commit({ external: true, committer: { leafIndex: 3, signaturePublicKey: who.publicKey }, ...checked }), { leaves, session: who });

  it("replaces the joiner's own old leaf, and only that", () => {
    expect(rejoin({ removed: [{ leafIndex: 1, signaturePublicKey: key(2) }] })).toEqual({ removed: [1], added: [{ leafIndex: 3, signatureKey: key(2), device: bob }] });
    expect(() => rejoin({})).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_COMMIT, message: expect.stringMatching(/replace its old leaf/) }));
    expect(() => rejoin({ removed: [{ leafIndex: 0, signaturePublicKey: key(1) }] })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_COMMIT }));
  });

  it("carries the joiner's directory key; a device new to the group just joins", () => {
    const carolJoins = rejoin({}, record(carol, 3));
    expect(carolJoins.added).toEqual([{ leafIndex: 3, signatureKey: key(3), device: carol }]);
    expect(() => matchRejoin(commit({ external: true, committer: { leafIndex: 3, signaturePublicKey: key(8) } }), { leaves, session: record(carol, 3) })).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_COMMIT, message: expect.stringMatching(/key/) }),
    );
    expect(() => matchRejoin(commit({}), { leaves, session: record(carol, 3) })).toThrow(expect.objectContaining({ code: ErrorCode.BAD_REQUEST }));
  });
});
