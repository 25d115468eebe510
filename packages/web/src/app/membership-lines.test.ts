import { describe, expect, it } from 'vitest';
import { describeChange, userChange } from './membership-lines.js';

const texts = (result: { said: { text: string }[] }) => result.said.map((line) => line.text);

describe('membership lines', () => {
  it('says who added whom, who joined by themselves, and a member’s new device (not mine)', () => {
    const roster = { members: ['alice', 'bob'], departed: [] };
    expect(texts(describeChange('bob', roster, ['alice', 'bob', 'carol'], { by: 'alice', added: ['carol'], removed: [] }))).toEqual(['alice added carol.']);
    expect(texts(describeChange('alice', roster, ['alice', 'bob', 'carol'], { by: 'alice', added: ['carol'], removed: [] }))).toEqual(['You added carol.']);
    expect(texts(describeChange('alice', roster, ['alice', 'bob', 'dave'], { by: 'dave', added: ['dave'], removed: [] }))).toEqual(['dave joined.']);
    expect(texts(describeChange('alice', roster, ['alice', 'bob'], { by: 'bob', added: ['bob', 'alice'], removed: [] }))).toEqual(['bob has a new device.']);
  });

  it('says who removed whom, not a revoked device of a member, and not again for one who said they left', () => {
    const roster = { members: ['alice', 'bob', 'carol'], departed: ['carol'] };
    const removed = describeChange('bob', roster, ['alice'], { by: 'alice', added: [], removed: ['bob', 'carol'] });
    expect(texts(removed)).toEqual(['alice removed You.']);
    expect(removed.roster).toEqual({ members: ['alice'], departed: [] });
    expect(texts(describeChange('alice', roster, ['alice', 'bob', 'carol'], { by: 'bob', added: [], removed: ['bob'] }))).toEqual([]);
  });

  it('without a roster seen before, takes the members after it less those added', () => {
    expect(texts(describeChange('alice', undefined, ['alice', 'bob', 'carol'], { by: 'bob', added: ['carol'], removed: [] }))).toEqual(['bob added carol.']);
  });

  it('leaves out a device that rejoined (removed and added at once)', () => {
    const change = userChange({
      by: 'bob',
      added: [
        { username: 'bob', deviceId: 'b1' },
        { username: 'carol', deviceId: 'c1' },
      ],
      removed: [{ username: 'bob', deviceId: 'b1' }],
    });
    expect(change).toEqual({ by: 'bob', added: ['carol'], removed: [] });
  });
});
