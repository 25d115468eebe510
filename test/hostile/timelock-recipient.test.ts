/**
 * What a hostile sender (or a server that lies) can do to a recipient's client with time-locked
 * contents (DESIGN §8): puzzles out of range, a commitment that does not match, a lock of another
 * group, a replayed release, a forged one. The recipient is the real SDK on a real server; each
 * attack is refused with a clear code as an error event of its conversation, the client stays
 * up, and the recipient's other messages (honest ones from the same sender, and another user's)
 * still arrive.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { lockText, type TimelockGrant } from '@parley/crypto';
import { encodeContent, groupIdText, type DeviceRef, type LockedContent } from '@parley/protocol';
import { MemoryClientStore, solveLockedMessage, type ConversationEvent, type Messenger, type ParleyClient } from '@parley/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, startTestServer, type TestServer } from '../support/harness.js';
import { createTestGroup, registerUser, withSdkCredential, type GroupUser, type TestGroup } from '../support/mls-group.js';

const PASSWORD = 'hostile time-lock password';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
type ErrorEvent = Extract<ConversationEvent, { kind: 'error' }>;

describe("a hostile sender's time locks, at the recipient's client", () => {
  let server: TestServer;
  let mallory: GroupUser;
  let bob: { client: ParleyClient; messenger: Messenger; store: MemoryClientStore; events: ConversationEvent[] };
  let alice: ParleyClient;
  let evil: TestGroup;
  let bobDevice: DeviceRef;
  let honest = 0;

  /** Waits until Bob's events hold one that `match` finds. */
  async function bobSees<T extends ConversationEvent>(match: (event: ConversationEvent) => event is T, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = bob.events.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`bob saw no such event; he saw ${JSON.stringify(bob.events.map((e) => e.kind))}`);
      await sleep(50);
    }
  }
  const errorAbout = (pattern: RegExp) => (event: ConversationEvent): event is ErrorEvent => event.kind === 'error' && pattern.test(event.message);
  const messageWith = (text: string) => (event: ConversationEvent): event is Extract<ConversationEvent, { kind: 'message' | 'unlocked' }> =>
    (event.kind === 'message' || event.kind === 'unlocked') && event.message.text === text;

  /** After an attack, Bob still gets the same sender's honest messages and Alice's, and his client answers. */
  async function stillWorking(): Promise<void> {
    const n = ++honest;
    await evil.send(encodeContent({ t: 'text', text: `honest ${n} from mallory`, sentAt: Date.now() }));
    await (await alice.messenger()).sendDirect('bob', `honest ${n} from alice`);
    await bobSees(messageWith(`honest ${n} from mallory`));
    await bobSees(messageWith(`honest ${n} from alice`));
    expect(await bob.client.onlineUsers()).toContain('bob');
  }

  /** A lock Mallory asks the server for, in one of her groups with Bob. */
  const lock = (group: TestGroup, inMs: number): Promise<TimelockGrant> => mallory.client.request('timelock.lock', { groupId: group.groupId, unlockAt: Date.now() + inMs });
  const lockedMessages = () => bob.messenger.lockedMessages();

  beforeAll(async () => {
    // A thousand squarings a second, so that solving a few seconds' lock takes milliseconds.
    server = await startTestServer({ timelockSquaringsPerSecond: 1_000 });
    const store = new MemoryClientStore();
    const bobClient = await connectClient(server, undefined, {}, store);
    await bobClient.register('bob', PASSWORD);
    const events: ConversationEvent[] = [];
    bobClient.onConversationEvent((event) => events.push(event));
    bob = { client: bobClient, messenger: await bobClient.messenger(), store, events };
    alice = await connectClient(server);
    await alice.register('alice', PASSWORD);
    mallory = withSdkCredential(await registerUser(server.url, 'mallory'));
    const { username, deviceId } = await bobClient.whoami();
    bobDevice = { username, deviceId };
    evil = await createTestGroup(mallory, [{ ref: bobDevice }]);
    await bobSees((event): event is ConversationEvent => event.kind === 'changed' && event.conversation === groupIdText(evil.groupId));
    await stillWorking();
  }, 120_000);

  afterAll(async () => {
    bob?.client.close();
    alice?.close();
    mallory?.client.close();
    await server?.close();
  });

  it('refuses puzzles out of range (BAD_PUZZLE): no squarings, too many, a short or even modulus, a base out of range', async () => {
    const grant = await lock(evil, 60_000);
    const honestContent = lockText(grant, { groupId: evil.groupId, text: 'never stored', sentAt: Date.now() });
    const { puzzle } = honestContent;
    const last = puzzle.modulus.length - 1;
    const bad: [string, LockedContent['puzzle']][] = [
      ['0 squarings', { ...puzzle, squarings: 0 }],
      ['puzzle.squarings: greater than', { ...puzzle, squarings: 2 ** 51 }],
      ['puzzle.modulus: expected 256..512 bytes', { ...puzzle, modulus: puzzle.modulus.subarray(0, 128), base: puzzle.base.subarray(0, 128) }],
      ['the modulus is even', { ...puzzle, modulus: puzzle.modulus.map((byte, i) => (i === last ? byte & 0xfe : byte)) }],
      ['the base is not in', { ...puzzle, base: puzzle.modulus.map((byte, i) => (i === last ? byte - 1 : byte)) }],
    ];
    for (const [problem, badPuzzle] of bad) {
      await evil.send(encodeContent({ ...honestContent, puzzle: badPuzzle }));
      const event = await bobSees(errorAbout(new RegExp(problem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))));
      expect(event).toMatchObject({ conversation: groupIdText(evil.groupId), code: 'BAD_PUZZLE' });
    }
    expect(await lockedMessages()).toEqual([]);
    await stillWorking();
  }, 60_000);

  it("refuses a release that does not match the sender's commitment (BAD_RELEASE), at the release and when solved", async () => {
    const grant = await lock(evil, 1_500);
    const content = lockText(grant, { groupId: evil.groupId, text: 'the commitment lies', sentAt: Date.now() });
    const { seq } = await evil.send(encodeContent({ ...content, commitment: crypto.getRandomValues(new Uint8Array(32)) }));
    const refused = await bobSees(errorAbout(new RegExp(`^the time lock of message ${seq} from mallory did not open: the time-lock key does not match`)));
    expect(refused).toMatchObject({ code: 'BAD_RELEASE', conversation: groupIdText(evil.groupId) });
    const [stillLocked] = await lockedMessages();
    expect(stillLocked).toMatchObject({ seq, sender: 'mallory' });
    expect(stillLocked?.text).toBeUndefined();
    if (!stillLocked) throw new Error('the message did not stay locked');
    await expect(solveLockedMessage(bob.store, stillLocked)).rejects.toMatchObject({ code: 'BAD_RELEASE' });
    expect((await lockedMessages()).map((m) => m.seq)).toEqual([seq]);
    await stillWorking();
  }, 60_000);

  it('refuses a lock of another group (BAD_RELEASE): the release goes to the group it was made for', async () => {
    const other = await createTestGroup(mallory, [{ ref: bobDevice }]);
    await bobSees((event): event is ConversationEvent => event.kind === 'changed' && event.conversation === groupIdText(other.groupId));
    const grant = await lock(other, 1_500);
    // Sealed and committed for the evil group, as if the lock were its own.
    const { seq } = await evil.send(encodeContent(lockText(grant, { groupId: evil.groupId, text: 'borrowed lock', sentAt: Date.now() })));
    const refused = await bobSees(errorAbout(new RegExp(`^the time lock of message ${seq} from mallory was released for another group \\(${groupIdText(other.groupId)}\\)`)));
    expect(refused).toMatchObject({ code: 'BAD_RELEASE', conversation: groupIdText(evil.groupId) });
    expect((await lockedMessages()).map((m) => m.seq)).toContain(seq);
    await stillWorking();
  }, 60_000);

  it('refuses a replayed release (BAD_RELEASE): a released lock reused with a later unlock time opens nothing early', async () => {
    // A lock released to Bob before any message used it: he keeps the release, waiting.
    const unused = await lock(evil, 1_000);
    await sleep(2_500);
    const later = { ...unused, unlockAt: Date.now() + 3_600_000 };
    const first = await evil.send(encodeContent(lockText(later, { groupId: evil.groupId, text: 'replayed while pending', sentAt: Date.now() })));
    await bobSees(errorAbout(new RegExp(`^the time lock of message ${first.seq} from mallory was released for \\S+, not for its unlock time`)));

    // A lock whose message opened: reused later, and fetched again from the server.
    const used = await lock(evil, 1_000);
    await evil.send(encodeContent(lockText(used, { groupId: evil.groupId, text: 'opened in time', sentAt: Date.now() })));
    await bobSees(messageWith('opened in time'));
    const second = await evil.send(encodeContent(lockText({ ...used, unlockAt: Date.now() + 3_600_000 }, { groupId: evil.groupId, text: 'replayed after', sentAt: Date.now() })));
    await bobSees((event): event is ConversationEvent => event.kind === 'message' && event.message.seq === second.seq);
    const fetched = await bob.messenger.fetchReleases();
    expect(fetched.unlocked).toEqual([]);
    expect(fetched.errors).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'BAD_RELEASE', message: expect.stringMatching(new RegExp(`^the time lock of message ${second.seq} from mallory was released for`)) })]));
    expect((await lockedMessages()).map((m) => m.seq)).toEqual(expect.arrayContaining([first.seq, second.seq]));
    await stillWorking();
  }, 60_000);

  it("refuses a forged release (BAD_RELEASE), and the puzzle still opens the message", async () => {
    // Alice, honest, locks a message to Bob; the server's copy of the puzzle is changed (a
    // compromised server), so at the date it releases a key that is not the one she committed to.
    const sent = await (await alice.messenger()).sendDirect('bob', 'alice was honest', { unlockAt: Date.now() + 4_000 });
    const db = new Database(join(server.dataDir, 'parley.db'));
    db.pragma('busy_timeout = 5000');
    const row = db.prepare('select lock_id, masked_key from timelocks where unlock_at = ?').get(sent.lock?.unlockAt) as { lock_id: Buffer; masked_key: Buffer };
    db.prepare('update timelocks set masked_key = ? where lock_id = ?').run(Buffer.from(row.masked_key.map((byte) => byte ^ 0xff)), row.lock_id);
    db.close();
    const refused = await bobSees(errorAbout(/from alice did not open: the time-lock key does not match the sender's commitment/));
    expect(refused.code).toBe('BAD_RELEASE');
    const message = (await lockedMessages()).find((m) => m.sender === 'alice');
    if (!message) throw new Error('the message did not stay locked');
    expect(await solveLockedMessage(bob.store, message)).toMatchObject({ sender: 'alice', text: 'alice was honest', lock: { unlockedBy: 'puzzle' } });
    await stillWorking();
  }, 60_000);
});
