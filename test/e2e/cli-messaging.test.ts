import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrapeMetrics } from '../support/abuse.js';
import { PARLEY_BIN, runCli, startServeProcess, type ServeProcess } from '../support/cli.js';
import { tempDir } from '../support/harness.js';

const PASSWORD = 'cli messaging password';

interface JsonMessage {
  conversation: string;
  group?: string;
  sender: string;
  sentAt: string;
  seq: number;
  text: string;
}

const jsonLines = <T>(text: string): T[] =>
  text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as T);

/** Requests the server handled, by op, from its /metrics. */
async function requestsByOp(url: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const match of (await scrapeMetrics(url)).matchAll(/^parley_requests_total\{op="([^"]+)"\} (\d+)$/gm)) counts.set(match[1] ?? '', Number(match[2]));
  return counts;
}

describe('messaging from the CLI', () => {
  const dir = tempDir('cli-messaging');
  let server: ServeProcess;
  const cli = (user: string, args: string[]) =>
    runCli(['--server', server.url, '--profile', join(dir.path, user), '--json', ...args], { env: { PARLEY_PASSWORD: PASSWORD } });
  const ok = async (user: string, args: string[]) => {
    const result = await cli(user, args);
    expect(result.stderr, `${user} ${args.join(' ')}`).toBe('');
    expect(result.code).toBe(0);
    return result.stdout;
  };

  beforeAll(async () => {
    server = await startServeProcess(['--port', '0', '--data', join(dir.path, 'data')]);
    for (const user of ['alice', 'bob', 'carol']) await ok(user, ['register', user]);
  });
  afterAll(async () => {
    await server.stop();
    dir.remove();
  });

  it('send and sync: 1:1 messages both ways, in the documented JSON shape, each once', async () => {
    await ok('alice', ['send', 'bob', 'hello bob']);
    await ok('alice', ['send', 'bob', 'are you there?']);
    // Alice is a stranger to bob: her messages wait in a request until he accepts it.
    expect(jsonLines(await ok('bob', ['sync']))).toEqual([]);
    expect(jsonLines(await ok('bob', ['requests']))).toEqual([
      { from: 'alice', conversation: 'alice', kind: 'direct', messages: 2, preview: 'hello bob', receivedAt: expect.stringMatching(/^\d{4}-/) },
    ]);
    await ok('bob', ['accept', 'alice']);
    const first = jsonLines<JsonMessage>(await ok('bob', ['sync']));
    expect(first.map((m) => [m.conversation, m.sender, m.text])).toEqual([
      ['alice', 'alice', 'hello bob'],
      ['alice', 'alice', 'are you there?'],
    ]);
    expect(first[0]).toEqual({ conversation: 'alice', sender: 'alice', sentAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), seq: expect.any(Number), text: 'hello bob' });
    expect(jsonLines(await ok('bob', ['sync']))).toEqual([]);
    await ok('bob', ['send', 'alice', 'yes!']);
    expect(jsonLines<JsonMessage>(await ok('alice', ['sync'])).map((m) => m.text)).toEqual(['yes!']);
  });

  it('a one-shot send to an existing conversation takes at most 3 requests after the handshake', async () => {
    const before = await requestsByOp(server.url);
    await ok('alice', ['send', 'bob', 'counted']);
    const after = await requestsByOp(server.url);
    const used: Record<string, number> = {};
    for (const [op, count] of after) if (count !== (before.get(op) ?? 0)) used[op] = count - (before.get(op) ?? 0);
    const total = Object.values(used).reduce((sum, count) => sum + count, 0);
    console.info(`parley send to an existing conversation: ${total} requests after the handshake ${JSON.stringify(used)}`);
    // Authenticate the device, catch the conversation up, send.
    expect(used).toEqual({ 'device.auth': 1, 'sync.fetch': 1, 'group.send': 1 });
    expect(jsonLines<JsonMessage>(await ok('bob', ['sync'])).map((m) => m.text)).toEqual(['counted']);
  });

  it('verify prints the same safety number on both sides, with a QR code for people', async () => {
    const fromAlice = jsonLines<{ safetyNumber: string; verified: boolean }>(await ok('alice', ['verify', 'bob']))[0];
    const fromBob = jsonLines<{ safetyNumber: string }>(await ok('bob', ['verify', 'alice']))[0];
    expect(fromAlice?.safetyNumber).toMatch(/^(\d{5} ){11}\d{5}$/);
    expect(fromBob?.safetyNumber).toBe(fromAlice?.safetyNumber);
    expect(fromAlice?.verified).toBe(false);
    expect(jsonLines<{ verified: boolean }>(await ok('alice', ['verify', 'bob', '--mark']))[0]?.verified).toBe(true);
    const human = await runCli(['--server', server.url, '--profile', join(dir.path, 'bob'), 'verify', 'alice']);
    expect(human.stdout).toContain(fromAlice?.safetyNumber ?? 'missing');
    expect(human.stdout).toMatch(/[▀▄█]/); // the terminal QR code
  });

  it('chats shows conversations with unread counts', async () => {
    await ok('carol', ['send', 'alice', 'one']);
    await ok('carol', ['send', 'alice', 'two']);
    await ok('alice', ['accept', 'carol']);
    const chats = jsonLines<{ conversation: string; unread: number; kind: string }>(await ok('alice', ['chats']));
    expect(chats[0]).toMatchObject({ conversation: 'carol', unread: 2, kind: 'direct' });
    expect(chats.find((c) => c.conversation === 'bob')).toMatchObject({ unread: 0 });
    expect(jsonLines<JsonMessage>(await ok('alice', ['sync'])).map((m) => m.text)).toEqual(['one', 'two']);
  });

  it('groups: create with members, send, members, promote, remove', async () => {
    const created = jsonLines<{ group: string; title: string }>(await ok('alice', ['group', 'create', 'team', '--members', 'bob,carol']))[0];
    expect(created?.title).toBe('team');
    await ok('alice', ['group', 'send', 'team', 'welcome to team']);
    for (const user of ['bob', 'carol']) {
      const messages = jsonLines<JsonMessage>(await ok(user, ['sync']));
      expect(messages.map((m) => [m.conversation, m.group, m.sender, m.text])).toEqual([['team', created?.group, 'alice', 'welcome to team']]);
    }
    const members = jsonLines<{ username: string; admin: boolean }>(await ok('bob', ['group', 'members', 'team']));
    expect(members.map((m) => [m.username, m.admin])).toEqual([['alice', true], ['bob', false], ['carol', false]]);

    const refused = await cli('bob', ['group', 'remove', 'team', 'carol']);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stderr)).toMatchObject({ error: { code: 'FORBIDDEN' } });

    await ok('alice', ['group', 'promote', 'team', 'bob']);
    await ok('bob', ['group', 'remove', 'team', 'carol']);
    await ok('alice', ['group', 'send', 'team', 'carol is gone']);
    expect(jsonLines<JsonMessage>(await ok('carol', ['sync']))).toEqual([]);
    expect(jsonLines<JsonMessage>(await ok('bob', ['sync'])).map((m) => m.text)).toEqual(['carol is gone']);
  });

  it('users lists online users who are mutual contacts', async () => {
    const listener = spawn(process.execPath, [PARLEY_BIN, '--server', server.url, '--profile', join(dir.path, 'bob'), '--json', 'listen'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let output = '';
      const firstLine = new Promise<string>((resolve) => {
        listener.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('\n')) resolve(output);
        });
      });
      // Wait until bob is online, then message him and see it arrive live.
      for (let i = 0; i < 50; i++) {
        const online = jsonLines<{ username: string }>(await ok('alice', ['users'])).map((u) => u.username);
        if (online.includes('bob')) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(jsonLines<{ username: string }>(await ok('alice', ['users'])).map((u) => u.username)).toContain('bob');
      await ok('alice', ['send', 'bob', 'live message']);
      const line = JSON.parse((await firstLine).split('\n')[0] ?? '{}') as JsonMessage;
      expect(line).toMatchObject({ conversation: 'alice', sender: 'alice', text: 'live message' });
    } finally {
      listener.kill('SIGTERM');
    }
  });
});
