/**
 * Time-locked messages through the real `parley` CLI and `parley serve` (DESIGN §8, CLI contract):
 * locked until the date in every output, opened by the server's release, a tampered release
 * refused, and `parley unlock --solve` opening a message hours ahead with the server stopped,
 * resuming after a kill. The servers count squarings at 50 a second, so an hour's lock is a
 * fraction of a second's solve.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { decodeMessageContent } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PARLEY_BIN, runCli, startServeProcess, type CliResult, type ServeProcess } from '../support/cli.js';
import { tempDir } from '../support/harness.js';

const PASSWORD = 'cli time-lock password';
const SLOW_SERVER = { PARLEY_TIMELOCK_SQUARINGS_PER_SECOND: '50' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Printed {
  conversation: string;
  group?: string;
  sender: string;
  sentAt: string;
  seq: number;
  locked?: true;
  unlockAt?: string;
  text?: string;
  unlockedBy?: 'server' | 'puzzle';
}

const jsonLines = <T>(text: string): T[] =>
  text
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as T);

/** A long-running CLI command (listen, unlock --solve) whose output lines are read as they come. */
class Running {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [PARLEY_BIN, ...args], { env: { PATH: process.env.PATH ?? '', PARLEY_PASSWORD: PASSWORD }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    this.child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', resolve));
  }

  /** Waits until `found` sees what it looks for in the output so far. */
  async until<T>(found: () => T | undefined, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = found();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out; stdout: ${this.stdout} stderr: ${this.stderr}`);
      await sleep(100);
    }
  }
}

describe('time-locked messages from the CLI', () => {
  const dir = tempDir('cli-timelock');
  let server: ServeProcess;
  const cli = (user: string, args: string[]) => runCli(['--server', server.url, '--profile', join(dir.path, user), '--json', ...args], { env: { PARLEY_PASSWORD: PASSWORD } });
  const ok = async (user: string, args: string[]): Promise<CliResult> => {
    const result = await cli(user, args);
    expect(result.code, `${user} ${args.join(' ')}: ${result.stderr}`).toBe(0);
    return result;
  };
  /** The encoded locked contents a profile keeps for its locked messages. */
  const sealedIn = (user: string): Uint8Array[] => {
    const db = new Database(join(dir.path, user, 'messages.db'), { readonly: true });
    try {
      return (db.prepare('select sealed from messages where sealed is not null').all() as { sealed: Buffer }[]).map((row) => {
        const content = decodeMessageContent(new Uint8Array(row.sealed));
        if (content.t !== 'locked') throw new Error('a locked message holds no locked content');
        return content.sealed;
      });
    } finally {
      db.close();
    }
  };
  const serverFiles = (data: string) => Buffer.concat(readdirSync(data).filter((name) => name.startsWith('parley.db')).map((name) => readFileSync(join(data, name))));

  beforeAll(async () => {
    server = await startServeProcess(['--port', '0', '--data', join(dir.path, 'data')], { env: SLOW_SERVER });
    for (const user of ['alice', 'bob', 'carol']) await ok(user, ['register', user]);
    await ok('alice', ['group', 'create', 'team', '--members', 'bob,carol']);
    for (const user of ['bob', 'carol']) await ok(user, ['accept', 'alice']);
  }, 120_000);
  afterAll(async () => {
    await server.stop();
    dir.remove();
  });

  it('a message locked 20 s ahead shows as locked with no text anywhere, then opens with unlockedBy: server, printed once more', async () => {
    const listener = new Running(['--server', server.url, '--profile', join(dir.path, 'carol'), '--json', 'listen']);
    try {
      // Carol listens: wait until the server sees her online.
      for (let i = 0; i < 100 && !(await cli('alice', ['users'])).stdout.includes('carol'); i++) await sleep(100);
      const direct = jsonLines<{ conversation: string; unlockAt: string }>((await ok('alice', ['send', 'bob', 'the direct secret', '--unlock-at', '+20s'])).stdout);
      const group = jsonLines<{ group: string; unlockAt: string }>((await ok('alice', ['group', 'send', 'team', 'the group secret', '--unlock-at', '+20s'])).stdout);
      expect(direct).toEqual([{ conversation: 'bob', seq: expect.any(Number), sentAt: expect.any(String), unlockAt: expect.any(String) }]);
      const unlockAt = Date.parse(group[0]?.unlockAt ?? '');
      expect(unlockAt - Date.now()).toBeGreaterThan(10_000);

      const outputs: CliResult[] = [];
      const seen = async (user: string, args: string[]) => {
        const result = await ok(user, args);
        outputs.push(result);
        return jsonLines<Printed>(result.stdout);
      };
      const locked = await seen('bob', ['sync']);
      expect(locked).toEqual([
        { conversation: 'alice', sender: 'alice', sentAt: expect.any(String), seq: expect.any(Number), locked: true, unlockAt: direct[0]?.unlockAt },
        { conversation: 'team', group: group[0]?.group, sender: 'alice', sentAt: expect.any(String), seq: expect.any(Number), locked: true, unlockAt: group[0]?.unlockAt },
      ]);
      expect(await seen('bob', ['unlock'])).toEqual([]);
      expect(await seen('bob', ['sync'])).toEqual([]);
      const chats = await seen('bob', ['chats']);
      expect(chats.map((chat) => [chat.conversation, (chat as unknown as { locked: number }).locked])).toEqual([
        ['team', 1],
        ['alice', 1],
      ]);
      const listened = await listener.until(() => jsonLines<Printed>(listener.stdout).find((line) => line.locked));
      expect(listened).toEqual({ conversation: 'team', group: group[0]?.group, sender: 'alice', sentAt: expect.any(String), seq: expect.any(Number), locked: true, unlockAt: group[0]?.unlockAt });
      const sealed = [...sealedIn('bob'), ...sealedIn('carol')];
      expect(sealed).toHaveLength(3);
      for (const output of [...outputs, { stdout: listener.stdout, stderr: listener.stderr }]) {
        expect(output.stdout + output.stderr).not.toMatch(/secret/);
      }

      // After the date: the release is pushed to Carol, and waits in Bob's mailbox.
      const opened = await listener.until(() => jsonLines<Printed>(listener.stdout).find((line) => line.text !== undefined), 40_000);
      expect(Date.now()).toBeGreaterThanOrEqual(unlockAt);
      expect(opened).toEqual({ conversation: 'team', group: group[0]?.group, sender: 'alice', sentAt: listened.sentAt, seq: listened.seq, unlockAt: group[0]?.unlockAt, text: 'the group secret', unlockedBy: 'server' });
      const bobOpened = await seen('bob', ['sync']);
      expect(bobOpened.map((m) => [m.conversation, m.seq, m.text, m.unlockedBy, m.locked])).toEqual([
        ['alice', locked[0]?.seq, 'the direct secret', 'server', undefined],
        ['team', locked[1]?.seq, 'the group secret', 'server', undefined],
      ]);
      expect(await seen('bob', ['sync'])).toEqual([]);
      expect((await seen('bob', ['chats'])).map((chat) => (chat as unknown as { locked: number }).locked)).toEqual([0, 0]);

      // The server's database never held the texts nor the sealed blobs.
      const stored = serverFiles(join(dir.path, 'data'));
      expect(stored.length).toBeGreaterThan(0);
      for (const text of ['the direct secret', 'the group secret']) expect(stored.includes(Buffer.from(text))).toBe(false);
      for (const blob of sealed) {
        expect(stored.includes(Buffer.from(blob))).toBe(false);
        expect(stored.includes(Buffer.from(blob.subarray(24, 56)))).toBe(false);
      }
    } finally {
      listener.child.kill('SIGTERM');
      await listener.exited;
    }
  }, 120_000);

  it('refuses a tampered release (BAD_RELEASE): the message stays locked, and the puzzle still opens it', async () => {
    const sent = jsonLines<{ unlockAt: string }>((await ok('alice', ['send', 'bob', 'not what the server says', '--unlock-at', '+5s'])).stdout);
    const unlockAt = Date.parse(sent[0]?.unlockAt ?? '');
    // The server's copy of the puzzle is changed before the release: it will re-open it to a wrong key.
    const db = new Database(join(dir.path, 'data', 'parley.db'));
    db.pragma('busy_timeout = 5000');
    const lock = db.prepare('select lock_id, masked_key from timelocks where unlock_at = ? and released_at is null').get(unlockAt) as { lock_id: Buffer; masked_key: Buffer };
    const tampered = Buffer.from(lock.masked_key);
    tampered[0] = (tampered[0] ?? 0) ^ 1;
    db.prepare('update timelocks set masked_key = ? where lock_id = ?').run(tampered, lock.lock_id);
    db.close();
    await sleep(Math.max(0, unlockAt - Date.now()) + 1_500);

    const refused = async (args: string[]) => {
      const result = await ok('bob', args);
      expect(result.stdout + result.stderr).not.toContain('not what the server says');
      const lines = jsonLines<Printed & { kind?: string }>(result.stdout);
      expect(lines.filter((line) => line.kind === 'error')).toEqual([
        { kind: 'error', conversation: 'alice', code: 'BAD_RELEASE', message: expect.stringMatching(/does not match the sender's commitment; it stays locked/) },
      ]);
      return lines.filter((line) => line.kind !== 'error');
    };
    // Released into the mailbox and fetched again by the same unlock (refused once), then fetched once more.
    expect(await refused(['unlock'])).toEqual([expect.objectContaining({ conversation: 'alice', locked: true, unlockAt: sent[0]?.unlockAt })]);
    expect(await refused(['unlock'])).toEqual([]);
    const solved = await ok('bob', ['unlock', '--solve']);
    // The release is refused once more as this run fetches it, then the puzzle opens the message.
    expect(jsonLines<Printed>(solved.stdout)).toEqual([
      expect.objectContaining({ kind: 'error', conversation: 'alice', code: 'BAD_RELEASE' }),
      expect.objectContaining({ conversation: 'alice', text: 'not what the server says', unlockedBy: 'puzzle' }),
    ]);
  }, 60_000);

  it('refuses an unlock time in the past, unreadable, or past the server horizon with BAD_INPUT, before sending anything', async () => {
    for (const when of ['yesterday', '-5m', '+0s', '2001-01-01T00:00:00Z', '2030-02-31T10:00:00Z']) {
      const result = await cli('alice', ['send', 'bob', 'never sent', '--unlock-at', when]);
      expect(result.code, when).not.toBe(0);
      expect(jsonLines<{ error: { code: string } }>(result.stderr), when).toEqual([{ error: { code: 'BAD_INPUT', message: expect.any(String) } }]);
    }
    const far = await cli('alice', ['group', 'send', 'team', 'never sent', '--unlock-at', '+400d']);
    expect(far.code).not.toBe(0);
    expect(jsonLines<{ error: { code: string; message: string } }>(far.stderr)).toEqual([{ error: { code: 'BAD_INPUT', message: expect.stringMatching(/365 days/) } }]);
    expect(jsonLines<Printed>((await ok('bob', ['sync'])).stdout)).toEqual([]);
  }, 60_000);
});

describe('parley unlock --solve with the server stopped', () => {
  const dir = tempDir('cli-timelock-solve');
  let server: ServeProcess | undefined;
  const cli = (user: string, args: string[], url: string) => runCli(['--server', url, '--profile', join(dir.path, user), '--json', ...args], { env: { PARLEY_PASSWORD: PASSWORD } });
  afterAll(async () => {
    await server?.stop();
    dir.remove();
  });

  it('opens messages locked hours ahead by solving their puzzles, reports progress, and resumes from its checkpoint after a kill', async () => {
    server = await startServeProcess(['--port', '0', '--data', join(dir.path, 'data')], { env: SLOW_SERVER });
    const url = server.url;
    for (const user of ['alice', 'bob']) expect((await cli(user, ['register', user], url)).code).toBe(0);
    // 2 hours and 8 hours at 50 squarings a second: 360,000 and 1,440,000 squarings.
    for (const when of ['+2h', '+8h']) expect((await cli('alice', ['send', 'bob', `opens in ${when}`, '--unlock-at', when], url)).code).toBe(0);
    expect((await cli('bob', ['accept', 'alice'], url)).code).toBe(0);
    const locked = jsonLines<Printed>((await cli('bob', ['sync'], url)).stdout);
    expect(locked.map((m) => [m.locked, m.text])).toEqual([
      [true, undefined],
      [true, undefined],
    ]);
    await server.stop();
    server = undefined;

    // Killed (kill -9) once it is well into the second puzzle.
    const first = new Running(['--server', url, '--profile', join(dir.path, 'bob'), '--json', 'unlock', '--solve']);
    const progressOf = (stderr: string) => jsonLines<Record<string, unknown>>(stderr).filter((line) => 'solving' in line) as { solving: string; done: number; total: number }[];
    const [twoHours, eightHours] = [`alice#${locked[0]?.seq}`, `alice#${locked[1]?.seq}`];
    const before = await first.until(() => progressOf(first.stderr).find((p) => p.solving === eightHours && p.done >= 100_000), 120_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const beforeKill = Math.max(...progressOf(first.stderr).filter((p) => p.solving === eightHours).map((p) => p.done));
    expect(beforeKill).toBeGreaterThanOrEqual(before.done);
    expect(jsonLines<Printed>(first.stdout)).toEqual([]);
    // T is counted from when the server made the lock: about 50 a second for the time left.
    const done = progressOf(first.stderr).filter((p) => p.solving === twoHours).at(-1);
    expect(done?.done).toBe(done?.total);
    expect(done?.total).toBeGreaterThan(359_000);
    expect(done?.total).toBeLessThanOrEqual(360_000);
    expect(before.total).toBeGreaterThan(1_439_000);

    const resumed = await cli('bob', ['unlock', '--solve'], url);
    expect(resumed.code, resumed.stderr).toBe(0);
    const progress = progressOf(resumed.stderr);
    expect(progress.every((p) => p.solving === eightHours && p.total === before.total && Object.keys(p).length === 3)).toBe(true);
    expect(progress[0]?.done).toBeGreaterThan(beforeKill);
    expect(progress.at(-1)?.done).toBe(before.total);
    expect(jsonLines<Printed>(resumed.stdout)).toEqual([
      { conversation: 'alice', sender: 'alice', sentAt: locked[0]?.sentAt, seq: locked[0]?.seq, unlockAt: locked[0]?.unlockAt, text: 'opens in +2h', unlockedBy: 'puzzle' },
      { conversation: 'alice', sender: 'alice', sentAt: locked[1]?.sentAt, seq: locked[1]?.seq, unlockAt: locked[1]?.unlockAt, text: 'opens in +8h', unlockedBy: 'puzzle' },
    ]);
    // Opened once: nothing more to print, nothing left to solve.
    const again = await cli('bob', ['unlock', '--solve'], url);
    expect([again.code, again.stdout, again.stderr]).toEqual([0, '', '']);
  }, 300_000);
});
