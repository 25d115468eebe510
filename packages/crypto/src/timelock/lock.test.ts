import { randomBytes } from 'node:crypto';
import { decodeContent, decodeMessageContent, encodeContent, ValidationError, type LockedContent } from '@parley/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { CryptoError } from '../errors.js';
import { checkTimelockKey, lockText, unlockText, type TimelockGrant } from './lock.js';
import { createTimelockPuzzle, openTimelockPuzzle } from './puzzle.js';
import { testTrapdoor } from '../../../../test/support/timelock-trapdoor.js';

const bytes = (length: number) => new Uint8Array(randomBytes(length));

function refusal(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof CryptoError) return error.code;
    throw error;
  }
  return undefined;
}

describe('locked texts', () => {
  const groupId = bytes(16);
  let grant: TimelockGrant;
  let content: LockedContent;
  beforeAll(() => {
    const trapdoor = testTrapdoor();
    const key = bytes(32);
    grant = { lockId: bytes(16), unlockAt: 1_900_000_000_000, puzzle: createTimelockPuzzle(trapdoor, { key, squarings: 1_000 }), key };
    content = lockText(grant, { groupId, text: 'open me later ☕', sentAt: 1_800_000_000_000 });
    // The trapdoor opens the puzzle to the very key the text is sealed under.
    expect(openTimelockPuzzle(trapdoor, grant.puzzle)).toEqual(key);
  });

  it('travel as message content and open with the released key', () => {
    const decoded = decodeMessageContent(encodeContent(content));
    expect(decoded).toEqual(content);
    expect(unlockText(decoded as LockedContent, groupId, grant.key)).toBe('open me later ☕');
    // Neither the text nor the key appears in the content.
    const encoded = Buffer.from(encodeContent(content));
    expect(encoded.includes(Buffer.from('open me later'))).toBe(false);
    expect(encoded.includes(Buffer.from(grant.key))).toBe(false);
  });

  it('are refused by readers that do not open them', () => {
    expect(() => decodeContent(encodeContent(content))).toThrow(ValidationError);
  });

  it('refuse a wrong key, a key for another group or lock, and a tampered seal with BAD_RELEASE', () => {
    expect(refusal(() => unlockText(content, groupId, bytes(32)))).toBe('BAD_RELEASE');
    expect(refusal(() => unlockText(content, bytes(16), grant.key))).toBe('BAD_RELEASE');
    expect(refusal(() => unlockText({ ...content, lockId: bytes(16) }, groupId, grant.key))).toBe('BAD_RELEASE');
    expect(refusal(() => unlockText({ ...content, unlockAt: content.unlockAt - 1 }, groupId, grant.key))).toBe('BAD_RELEASE');
    expect(refusal(() => checkTimelockKey(content, groupId, grant.key.subarray(1)))).toBe('BAD_RELEASE');
    const tampered = content.sealed.slice();
    tampered[30] = (tampered[30] ?? 0) ^ 1;
    expect(refusal(() => unlockText({ ...content, sealed: tampered }, groupId, grant.key))).toBe('BAD_RELEASE');
    expect(refusal(() => unlockText({ ...content, sealed: content.sealed.subarray(0, 20) }, groupId, grant.key))).toBe('BAD_RELEASE');
  });
});
