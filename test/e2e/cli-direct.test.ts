/**
 * Direct sessions from the CLI (issue #13, DESIGN §9): `parley direct` and `parley listen
 * --direct` open a WebRTC data channel on loopback; once open it needs no server, so messages
 * still flow both ways after the server is killed with -9, and end of input closes the peer.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startServeProcess, type ServeProcess } from '../support/cli.js';
import { startCli, type CliSession } from '../support/cli-session.js';
import { tempDir } from '../support/harness.js';

const env = { PARLEY_PASSWORD: 'cli direct password' };

interface Line {
  event?: string;
  peer?: string;
  state?: string;
  reason?: string;
  sender?: string;
  text?: string;
  via?: string;
  seq?: number;
  error?: { code: string; message: string };
}

describe('direct sessions from the CLI', () => {
  const dir = tempDir('cli-direct');
  let server: ServeProcess | undefined;
  const sessions: CliSession[] = [];
  const args = (user: string, rest: string[]) => ['--server', server?.url ?? '', '--profile', join(dir.path, user), '--json', ...rest];
  const ok = async (user: string, rest: string[]) => {
    const result = await runCli(args(user, rest), { env });
    expect(result.code, `${user} ${rest.join(' ')}: ${result.stderr}`).toBe(0);
    return result.stdout;
  };
  const start = (user: string, rest: string[]) => {
    const session = startCli(args(user, rest), env);
    sessions.push(session);
    return session;
  };
  const online = async (viewer: string, user: string) => {
    for (let i = 0; i < 100; i++) {
      if ((await ok(viewer, ['users'])).includes(`"${user}"`)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${user} never came online`);
  };

  /** The server on the one data directory: again after a test killed it (same key, same accounts, a new port). */
  const serve = async () => {
    if (server?.child.exitCode === null && server.child.signalCode === null) return;
    server = await startServeProcess(['--port', '0', '--data', join(dir.path, 'data')]);
  };

  beforeAll(async () => {
    await serve();
    for (const user of ['alice', 'bob', 'mallory']) await ok(user, ['register', user]);
    // Contacts: alice wrote to bob and bob accepted her request; mallory is no one's contact.
    await ok('alice', ['send', 'bob', 'shall we go direct?']);
    await ok('bob', ['sync']);
    await ok('bob', ['accept', 'alice']);
  });
  afterAll(async () => {
    for (const session of sessions) session.kill();
    await server?.stop('SIGKILL');
    dir.remove();
  });

  it('opens on loopback, keeps flowing both ways after the server is killed with -9, and ends with a notice', async () => {
    const bob = start('bob', ['listen', '--direct']);
    await online('alice', 'bob');
    const alice = start('alice', ['direct', 'bob']);
    await alice.waitFor<Line>((line) => line.event === 'direct' && line.state === 'open');
    expect(await bob.waitFor<Line>((line) => line.event === 'direct' && line.state === 'open')).toEqual({ event: 'direct', peer: 'alice', state: 'open' });

    alice.write('before the crash');
    expect(await bob.waitFor<Line>((line) => line.text === 'before the crash')).toMatchObject({ sender: 'alice', conversation: 'alice', via: 'direct' });

    expect(await server?.stop('SIGKILL')).toBe(null);
    alice.write('after the crash');
    expect(await bob.waitFor<Line>((line) => line.text === 'after the crash')).toMatchObject({ sender: 'alice', via: 'direct' });
    bob.write('reply without a server');
    expect(await alice.waitFor<Line>((line) => line.text === 'reply without a server')).toMatchObject({ sender: 'bob', conversation: 'bob', via: 'direct' });

    alice.end();
    expect(await bob.waitFor<Line>((line) => line.event === 'direct' && line.state === 'closed')).toEqual({ event: 'direct', peer: 'alice', state: 'closed', reason: 'ended' });
    expect(await alice.exited).toBe(0);
    expect(alice.lines().filter((line) => line.event === 'direct')).toEqual([
      { event: 'direct', peer: 'bob', state: 'open' },
      { event: 'direct', peer: 'bob', state: 'closed', reason: 'ended' },
    ]);
    // Each direct message was printed once, on the side it was sent to.
    expect(bob.lines().filter((line) => line.via === 'direct').map((line) => line.text)).toEqual(['before the crash', 'after the crash']);
    expect(alice.lines().filter((line) => line.via === 'direct').map((line) => line.text)).toEqual(['reply without a server']);
    // With no server and no session left, listening ends with the connection's error.
    expect(await bob.exited).toBe(1);
  });

  it('says clearly when no one can answer: a stranger, a contact offline, a contact who does not accept in time', async () => {
    await serve();
    const stranger = await runCli(args('mallory', ['direct', 'bob']), { env });
    expect(stranger.code).toBe(1);
    expect(JSON.parse(stranger.stderr)).toEqual({ error: { code: 'NOT_A_CONTACT', message: expect.stringMatching(/bob is not your contact/) } });

    const offline = await runCli(args('alice', ['direct', 'bob']), { env });
    expect(JSON.parse(offline.stderr)).toEqual({ error: { code: 'PEER_OFFLINE', message: 'bob is not online' } });

    // Online, but listening without --direct: nothing accepts, and the request times out.
    const bob = start('bob', ['listen']);
    await online('alice', 'bob');
    const unanswered = await runCli(args('alice', ['direct', 'bob', '--timeout', '2']), { env });
    expect(unanswered.code).toBe(1);
    expect(JSON.parse(unanswered.stderr.trim().split('\n').at(-1) ?? '')).toEqual({ error: { code: 'PEER_OFFLINE', message: 'no device of bob accepted a direct session within 2 s' } });
    bob.kill();
    await bob.exited;
  });

  it("tells the peer when the other side crashes (connection lost) and sends fall back to the server", async () => {
    await serve();
    const bob = start('bob', ['listen', '--direct']);
    await online('alice', 'bob');
    const alice = start('alice', ['direct', 'bob']);
    await alice.waitFor<Line>((line) => line.event === 'direct' && line.state === 'open');
    await bob.waitFor<Line>((line) => line.event === 'direct' && line.state === 'open');
    bob.kill('SIGKILL');
    // Sent before alice can know: no ack comes within 5 s, so it goes through the server too.
    alice.write('as bob crashed');
    // The channel's liveness checks notice a peer gone without a word in about half a minute.
    expect(await alice.waitFor<Line>((line) => line.event === 'direct' && line.state === 'closed', 90_000)).toEqual({ event: 'direct', peer: 'bob', state: 'closed', reason: 'connection lost' });
    alice.write('after bob crashed');
    alice.end();
    expect(await alice.exited).toBe(0);
    expect(alice.stderr()).toBe('');
    const synced = (await ok('bob', ['sync'])).trim().split('\n').map((line) => JSON.parse(line) as Line);
    for (const text of ['as bob crashed', 'after bob crashed']) expect(synced.filter((line) => line.text === text)).toEqual([expect.objectContaining({ sender: 'alice', text })]);
  }, 150_000);

  it('tells the peer when the other side logs out', async () => {
    await serve();
    const bob = start('bob', ['listen', '--direct']);
    await online('alice', 'bob');
    const alice = start('alice', ['direct', 'bob']);
    await alice.waitFor<Line>((line) => line.event === 'direct' && line.state === 'open');
    await bob.waitFor<Line>((line) => line.event === 'direct' && line.state === 'open');
    await ok('bob', ['logout']);
    expect(await alice.waitFor<Line>((line) => line.event === 'direct' && line.state === 'closed')).toEqual({ event: 'direct', peer: 'bob', state: 'closed', reason: 'logged out' });
    expect(await alice.exited).toBe(0);
    await bob.exited;
  });
});
