import { generatePrimeSync, randomBytes } from 'node:crypto';
import { addMembers, createGroup, createTimelockPuzzle, encrypt, generateKeyPackage, joinFromWelcome, lockText, timelockTrapdoorFromPrimes, type TimelockTrapdoor } from '@parley/crypto';
import { encodeContent, encodeTimelockRelease, ErrorCode, groupIdText, toBase64Url, type LockedContent, type LogEntry, type MailboxEntry } from '@parley/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { testContext, testUser } from './context.testkit.js';
import { Pipeline } from './pipeline.js';
import { solveLockedMessage, solveSlice } from './puzzle-solver.js';

const alice = testUser('alice');
const bob = testUser('bob');
const bytes = (length: number) => new Uint8Array(randomBytes(length));

let trapdoor: TimelockTrapdoor;
beforeAll(() => {
  // The server's side of a lock, with primes from OpenSSL.
  const prime = () => new Uint8Array(generatePrimeSync(1024));
  trapdoor = timelockTrapdoorFromPrimes(prime(), prime());
});

/** Alice's pipeline in a group Bob made and added her to; Bob sends into it. */
async function setup() {
  const groupId = bytes(16);
  const group = groupIdText(groupId);
  const test = testContext(alice, { 'directory.lookup': (body) => (body.username === 'bob' ? bob.lookup : alice.lookup) });
  const created = await createGroup(bob.member, groupId);
  const keyPackage = await generateKeyPackage(alice.member);
  const added = await addMembers(created.state, bob.member, [keyPackage.keyPackage], async () => true);
  const joined = await joinFromWelcome(added.welcome, keyPackage.privateState, test.ctx.authentication.validate);
  await test.store.apply({ conversation: { groupId: group, kind: 'group', title: 'team', state: joined.state, processedSeq: 1, active: true, createdAt: 0, lastActivityAt: 0 } });
  const pipeline = new Pipeline(test.ctx, { departed: async () => undefined, added: async () => undefined, keyPackageUsed: async () => undefined });
  let bobState = added.pendingState;
  let seq = 1;
  let mailboxId = 0;
  /** Bob sends `content`; Alice's pipeline processes it as the next log entry. */
  const receive = async (content: Parameters<typeof encodeContent>[0]) => {
    const encrypted = await encrypt(bobState, bob.member, encodeContent(content));
    bobState = encrypted.state;
    const entry: LogEntry = { groupId, seq: ++seq, kind: 'message', epoch: 1, sender: bob.device, sentAt: 0, payload: encrypted.message };
    await pipeline.logEntry(entry);
    return entry.seq;
  };
  /** The server puts a release in Alice's mailbox (or a forged one, as a hostile server would). */
  const release = (fields: { lockId: Uint8Array; groupId?: Uint8Array; unlockAt: number; key: Uint8Array }, entryGroup = groupId) => {
    const entry: MailboxEntry = { id: ++mailboxId, kind: 'release', groupId: entryGroup, seq, sender: bob.device, sentAt: 0, payload: encodeTimelockRelease({ groupId, ...fields }) };
    return pipeline.mailboxEntry(entry);
  };
  /** A lock as the server would grant it, and Bob's locked content for `text`. */
  const locked = (text: string, squarings = 2_000): { content: LockedContent; key: Uint8Array } => {
    const key = bytes(32);
    const grant = { lockId: bytes(16), unlockAt: Date.now() + 60_000, puzzle: createTimelockPuzzle(trapdoor, { key, squarings }), key };
    return { content: lockText(grant, { groupId, text, sentAt: Date.now() }), key };
  };
  return { ...test, groupId, group, pipeline, receive, release, locked };
}

describe('time-locked messages in the pipeline', () => {
  it('keeps a locked message without its text, and opens it in place when its release comes', async () => {
    const { receive, release, locked, store, events, group } = await setup();
    const { content, key } = locked('the cake is in the oven');
    const seq = await receive(content);
    const [stored] = await store.listMessages(group);
    expect(stored).toMatchObject({ seq, sender: 'bob', read: false, lock: { lockId: toBase64Url(content.lockId), unlockAt: content.unlockAt } });
    expect(stored?.text).toBeUndefined();
    expect(events).toEqual([{ kind: 'message', message: expect.objectContaining({ seq, lock: expect.objectContaining({ sealed: expect.any(Uint8Array) }) }) }]);
    expect(JSON.stringify(stored)).not.toContain('cake');

    await release({ lockId: content.lockId, unlockAt: content.unlockAt, key });
    expect(events[1]).toEqual({ kind: 'unlocked', message: expect.objectContaining({ seq, conversation: 'team', text: 'the cake is in the oven', lock: { lockId: toBase64Url(content.lockId), unlockAt: content.unlockAt, unlockedBy: 'server' } }) });
    expect(await store.listLockedMessages()).toEqual([]);
    // The same release again (a replay) changes nothing and reports nothing.
    await release({ lockId: content.lockId, unlockAt: content.unlockAt, key });
    expect(events).toHaveLength(2);
  });

  it('keeps a release that comes before its message, and opens the message as it arrives', async () => {
    const { receive, release, locked, store, events, group } = await setup();
    const { content, key } = locked('early bird');
    await release({ lockId: content.lockId, unlockAt: content.unlockAt, key });
    expect(await store.getPendingRelease(toBase64Url(content.lockId))).toMatchObject({ groupId: group, key });
    expect(events).toEqual([]);
    const seq = await receive(content);
    expect(events).toEqual([{ kind: 'message', message: expect.objectContaining({ seq, text: 'early bird', lock: expect.objectContaining({ unlockedBy: 'server' }) }) }]);
    expect(await store.getPendingRelease(toBase64Url(content.lockId))).toBeUndefined();
  });

  it('refuses releases that do not match (wrong key, another group, another unlock time, unreadable), keeps the message locked and goes on', async () => {
    const { receive, release, locked, store, events, group, pipeline } = await setup();
    const { content, key } = locked('still secret');
    const seq = await receive(content);
    const lock = { lockId: content.lockId, unlockAt: content.unlockAt };
    await release({ ...lock, key: bytes(32) });
    // In an entry of this group, saying another; then in an entry of the other group.
    await release({ ...lock, key, groupId: bytes(16) });
    const elsewhere = bytes(16);
    await release({ ...lock, key, groupId: elsewhere }, elsewhere);
    await release({ ...lock, key, unlockAt: content.unlockAt - 86_400_000 });
    await pipeline.mailboxEntry({ id: 99, kind: 'release', groupId: content.lockId, seq: 1, sender: bob.device, sentAt: 0, payload: new Uint8Array([1, 2, 3]) });
    await pipeline.mailboxEntry({ id: 100, kind: 'release', groupId: content.lockId, seq: 1, sender: bob.device, sentAt: 0 });
    expect(events.slice(1).map((event) => (event.kind === 'error' ? [event.conversation, event.code, event.message] : event.kind))).toEqual([
      [group, ErrorCode.BAD_RELEASE, expect.stringMatching(/^the time lock of message 2 from bob did not open: the time-lock key does not match the sender's commitment; it stays locked$/)],
      [group, ErrorCode.BAD_RELEASE, expect.stringMatching(/^a time-lock release for group \S+ came as an entry of group \S+$/)],
      [group, ErrorCode.BAD_RELEASE, expect.stringMatching(/was released for another group/)],
      [group, ErrorCode.BAD_RELEASE, expect.stringMatching(/was released for \S+, not for its unlock time/)],
      [groupIdText(content.lockId), ErrorCode.BAD_RELEASE, expect.stringMatching(/^a time-lock release is not readable/)],
      [groupIdText(content.lockId), ErrorCode.BAD_RELEASE, expect.stringMatching(/^a time-lock release is not readable/)],
    ]);
    expect((await store.listLockedMessages()).map((m) => m.seq)).toEqual([seq]);
    // The next message still gets through, and the real release still opens this one.
    expect(await receive({ t: 'text', text: 'after all that', sentAt: 1 })).toBe(seq + 1);
    await release({ ...lock, key });
    expect((await store.listMessages(group)).map((m) => [m.seq, m.text])).toEqual([
      [seq, 'still secret'],
      [seq + 1, 'after all that'],
    ]);
  });

  it('refuses a locked message whose puzzle is out of range (BAD_PUZZLE), keeps the ratchet and takes the next message', async () => {
    const { receive, locked, store, events, group } = await setup();
    const { content } = locked('never shown');
    await receive({ ...content, puzzle: { ...content.puzzle, squarings: 0 } });
    await receive({ ...content, puzzle: { ...content.puzzle, modulus: content.puzzle.modulus.map((byte, i) => (i === content.puzzle.modulus.length - 1 ? byte & 0xfe : byte)) } });
    await receive({ ...content, puzzle: { ...content.puzzle, squarings: 2 ** 51 } });
    await receive({ ...content, puzzle: { ...content.puzzle, modulus: content.puzzle.modulus.subarray(0, 128) } });
    expect(events.map((event) => (event.kind === 'error' ? [event.code, event.message] : event.kind))).toEqual([
      [ErrorCode.BAD_PUZZLE, expect.stringMatching(/^a time-locked message from bob was refused: time-lock puzzle: 0 squarings/)],
      [ErrorCode.BAD_PUZZLE, expect.stringMatching(/the modulus is even/)],
      [ErrorCode.BAD_PUZZLE, expect.stringMatching(/^message 4 from bob decrypted to nothing readable: puzzle.squarings: greater than 1125899906842624$/)],
      [ErrorCode.BAD_PUZZLE, expect.stringMatching(/^message 5 from bob decrypted to nothing readable: puzzle.modulus: expected 256..512 bytes$/)],
    ]);
    expect(await receive({ t: 'text', text: 'next', sentAt: 1 })).toBe(6);
    expect((await store.listMessages(group)).map((m) => m.text)).toEqual(['next']);
  });
});

describe('solving a locked message on this device', () => {
  it('opens it by the puzzle, saving checkpoints as it goes, and resumes from one after a stop', async () => {
    const { receive, locked, store, group } = await setup();
    const { content } = locked('worth the wait', 30_000);
    const seq = await receive(content);
    const [message] = await store.listLockedMessages();
    if (!message) throw new Error('no locked message');
    const stop = new AbortController();
    const seen: number[] = [];
    const first = solveLockedMessage(store, message, {
      signal: stop.signal,
      runSlice: async (puzzle, state, max) => solveSlice(puzzle, state, Math.min(max, 4_000)),
      onProgress: ({ done, total }) => {
        seen.push(done);
        expect(total).toBe(30_000);
        if (done >= 8_000) stop.abort(new Error('stopped by the user'));
      },
    });
    await expect(first).rejects.toThrow('stopped by the user');
    expect(seen).toEqual([4_000, 8_000]);
    expect((await store.getSolveCheckpoint(toBase64Url(content.lockId)))?.done).toBe(8_000);

    const resumed: number[] = [];
    const opened = await solveLockedMessage(store, message, { onProgress: ({ done }) => resumed.push(done) });
    expect(resumed[0]).toBeGreaterThan(8_000);
    expect(resumed.at(-1)).toBe(30_000);
    expect(opened).toMatchObject({ seq, conversation: 'team', text: 'worth the wait', read: false, lock: { unlockedBy: 'puzzle' } });
    expect(await store.getSolveCheckpoint(toBase64Url(content.lockId))).toBeUndefined();
    expect((await store.listMessages(group))[0]?.text).toBe('worth the wait');
  });

  it("refuses a solved key that does not match the sender's commitment (BAD_RELEASE), and keeps the message locked", async () => {
    const { receive, locked, store } = await setup();
    const { content } = locked('a lie', 1_000);
    await receive({ ...content, commitment: bytes(32) });
    const [message] = await store.listLockedMessages();
    if (!message) throw new Error('no locked message');
    await expect(solveLockedMessage(store, message)).rejects.toMatchObject({ code: ErrorCode.BAD_RELEASE });
    expect(await store.listLockedMessages()).toHaveLength(1);
    // The work is kept: trying again fails at once instead of squaring again.
    expect((await store.getSolveCheckpoint(toBase64Url(content.lockId)))?.done).toBe(1_000);
  });
});
