/**
 * Issue #11 §1: one bad Welcome never breaks a user's client. A stranger claims the victim's
 * KeyPackage and adds the victim to a group the victim's client cannot accept: a group whose
 * tree carries a credential that is not a Parley credential, or a Welcome whose secrets are
 * garbage. The victim's `parley sync`, `chats`, `send` and `listen` (the built CLI) still work: the
 * bad entry is acknowledged, shown once as an error of its conversation, and the victim goes on
 * talking with a friend.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ErrorCode } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PARLEY_BIN, runCli } from '../support/cli.js';
import { startTestServer, tempDir, type TestServer } from '../support/harness.js';
import { Attacker } from './kit.js';

const PASSWORD = 'victim password';

interface Line {
  kind?: string;
  conversation?: string;
  code?: string;
  message?: string;
  sender?: string;
  text?: string;
}

const jsonLines = (text: string): Line[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Line);

describe('a stranger’s broken Welcome', () => {
  const dir = tempDir('bad-welcome');
  let server: TestServer;
  const attackers: Attacker[] = [];
  const cli = (user: string, args: string[]) => runCli(['--server', server.url, '--profile', join(dir.path, user), '--json', ...args], { env: { PARLEY_PASSWORD: PASSWORD } });
  /** Runs a command that must succeed; returns its JSON lines. */
  const ok = async (user: string, args: string[]): Promise<Line[]> => {
    const result = await cli(user, args);
    expect({ code: result.code, stderr: result.stderr }, `${user} ${args.join(' ')}`).toEqual({ code: 0, stderr: '' });
    return jsonLines(result.stdout);
  };
  const errorsOf = (lines: Line[]) => lines.filter((line) => line.kind === 'error');
  const textsOf = (lines: Line[]) => lines.filter((line) => line.text !== undefined).map((line) => `${line.sender}: ${line.text}`);

  /** Victim and friend still talk both ways. */
  async function stillTalking(round: string): Promise<void> {
    await ok('victim', ['send', 'friend', `from victim ${round}`]);
    expect(textsOf(await ok('friend', ['sync']))).toEqual([`victim: from victim ${round}`]);
    await ok('friend', ['send', 'victim', `from friend ${round}`]);
    expect(textsOf(await ok('victim', ['sync']))).toEqual([`friend: from friend ${round}`]);
  }

  /** The stranger claims the victim's KeyPackage and commits an add of the victim to a group of its own. */
  async function addVictim(stranger: Attacker, welcome: (real: Uint8Array) => Uint8Array = (real) => real): Promise<Uint8Array> {
    const { devices } = await stranger.request('keys.claim', { username: 'victim' });
    const group = await stranger.createGroup();
    const add = await group.adding(devices.map((device) => device.keyPackage));
    await group.commit({ ...add, welcome: welcome(add.welcome) }, { add: devices.map((device) => ({ username: 'victim', deviceId: device.deviceId })) });
    await group.send('you are mine now');
    return group.groupId;
  }

  /** Who the stranger's group is routed to, as the server tells the stranger. */
  const routedTo = async (stranger: Attacker, groupId: Uint8Array): Promise<string[]> =>
    [...new Set((await stranger.request('group.get', { groupId })).members.map((member) => member.username))];

  beforeAll(async () => {
    server = await startTestServer();
    for (const user of ['victim', 'friend']) await ok(user, ['register', user]);
    // Friends: the friend accepts the victim's first message, so neither is a message request to the other.
    await ok('victim', ['send', 'friend', 'hello']);
    await ok('friend', ['accept', 'victim']);
    expect(textsOf(await ok('friend', ['sync']))).toEqual(['victim: hello']);
    await stillTalking('before');
  }, 60_000);
  afterAll(async () => {
    for (const attacker of attackers) attacker.close();
    await server.close();
    dir.remove();
  });

  it('with a credential that is not a Parley credential: one error, then sync, chats and send work', async () => {
    const stranger = await Attacker.register(server, 'stranger', { identity: new TextEncoder().encode('not a parley credential') });
    attackers.push(stranger);
    const groupId = await addVictim(stranger);
    expect(await routedTo(stranger, groupId)).toEqual(['stranger', 'victim']);

    const first = await ok('victim', ['sync']);
    // Refused, and no external commit into a stranger's group instead (DESIGN §6 consent): no rejoin, so no GROUP_BROKEN either.
    expect(errorsOf(first)).toEqual([{ kind: 'error', conversation: expect.any(String), code: ErrorCode.UNREADABLE_ENTRY, message: expect.stringMatching(/Welcome from stranger/) }]);
    expect(await ok('victim', ['requests'])).toEqual([]);
    // Nothing to decline, so the victim's client left the group itself: the stranger keeps no routing to the victim.
    expect(await routedTo(stranger, groupId)).toEqual(['stranger']);
    // Acknowledged: not fetched and refused again.
    expect(errorsOf(await ok('victim', ['sync']))).toEqual([]);
    const chats = await ok('victim', ['chats']);
    expect(chats.map((chat) => chat.conversation)).toEqual(['friend']);
    await stillTalking('after a foreign credential');
  }, 60_000);

  it('with a Welcome whose secrets are garbage: one error, and listen still prints the friend’s messages', async () => {
    const stranger = await Attacker.register(server, 'stranger2');
    attackers.push(stranger);
    const groupId = await addVictim(stranger, (real) => {
      const garbled = real.slice();
      for (let i = garbled.length - 40; i < garbled.length; i++) garbled[i] = (garbled[i] ?? 0) ^ 0x5a;
      return garbled;
    });

    const listener = spawn(process.execPath, [PARLEY_BIN, '--server', server.url, '--profile', join(dir.path, 'victim'), '--json', 'listen'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    listener.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    listener.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => listener.on('exit', resolve));
    const printed = async (pattern: RegExp) => {
      for (let i = 0; i < 200 && !pattern.test(stdout); i++) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(stdout).toMatch(pattern);
    };
    try {
      await printed(/"kind":"error"/);
      await ok('friend', ['send', 'victim', 'live after garbage']);
      await printed(/live after garbage/);
      expect(errorsOf(jsonLines(stdout))).toEqual([expect.objectContaining({ code: ErrorCode.UNREADABLE_ENTRY, message: expect.stringMatching(/Welcome from stranger2/) })]);
    } finally {
      listener.kill('SIGTERM');
    }
    expect({ code: await exited, stderr }).toEqual({ code: 0, stderr: '' });
    expect(errorsOf(await ok('victim', ['sync']))).toEqual([]);
    expect(await routedTo(stranger, groupId)).toEqual(['stranger2']);
    await stillTalking('after garbage');
  }, 60_000);
});
