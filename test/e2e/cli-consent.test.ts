/** Message requests and blocking from the CLI (issue #11 §2): requests, accept, decline, block, unblock, blocked. */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startServeProcess, type ServeProcess } from '../support/cli.js';
import { tempDir } from '../support/harness.js';

const PASSWORD = 'cli consent password';

const jsonLines = <T>(text: string): T[] =>
  text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as T);

interface RequestLine {
  from: string;
  conversation: string;
  group?: string;
  kind: string;
  messages: number;
  preview?: string;
}

describe('message requests from the CLI', () => {
  const dir = tempDir('cli-consent');
  let server: ServeProcess;
  const cli = (user: string, args: string[], json = true) =>
    runCli(['--server', server.url, '--profile', join(dir.path, user), ...(json ? ['--json'] : []), ...args], { env: { PARLEY_PASSWORD: PASSWORD } });
  const ok = async (user: string, args: string[], json = true) => {
    const result = await cli(user, args, json);
    expect(result.stderr, `${user} ${args.join(' ')}`).toBe('');
    expect(result.code).toBe(0);
    return result.stdout;
  };
  const fails = async (user: string, args: string[]) => {
    const result = await cli(user, args);
    expect(result.code, `${user} ${args.join(' ')}`).toBe(1);
    return (JSON.parse(result.stderr) as { error: { code: string; message: string } }).error;
  };
  const requests = async (user: string) => jsonLines<RequestLine>(await ok(user, ['requests']));

  beforeAll(async () => {
    server = await startServeProcess(['--port', '0', '--data', join(dir.path, 'data')]);
    for (const user of ['alice', 'bob', 'carol', 'mallory']) await ok(user, ['register', user]);
  });
  afterAll(async () => {
    await server.stop();
    dir.remove();
  });

  it("a stranger's messages wait in a request, apart from chats, until it is accepted", async () => {
    await ok('alice', ['group', 'create', 'club', '--members', 'bob']);
    await ok('alice', ['group', 'send', 'club', 'welcome to the club']);
    expect(jsonLines(await ok('bob', ['sync']))).toEqual([]);
    expect(jsonLines(await ok('bob', ['chats']))).toEqual([]);
    const [club] = await requests('bob');
    expect(club).toMatchObject({ from: 'alice', conversation: 'club', kind: 'group', messages: 1, preview: 'welcome to the club' });
    const human = await ok('bob', ['requests'], false);
    expect(human).toBe(`alice wants to talk (group club (${club?.group})), 1 message: welcome to the club\n`);

    const refused = await fails('bob', ['group', 'send', 'club', 'can I?']);
    expect(refused).toMatchObject({ code: 'REQUEST_PENDING', message: expect.stringContaining('parley accept alice') });
    expect(jsonLines(await ok('bob', ['accept', 'club']))).toEqual([{ conversation: 'club', group: club?.group, accepted: true }]);
    expect(await requests('bob')).toEqual([]);
    expect(jsonLines<{ text: string }>(await ok('bob', ['sync'])).map((m) => m.text)).toEqual(['welcome to the club']);
    await ok('bob', ['group', 'send', 'club', 'thanks']);
    expect(jsonLines<{ text: string }>(await ok('alice', ['sync'])).map((m) => m.text)).toEqual(['thanks']);
  });

  it('decline leaves the conversation; unknown names get clear errors', async () => {
    await ok('carol', ['send', 'bob', 'remember me?']);
    expect((await requests('bob')).map((r) => [r.from, r.kind, r.preview])).toEqual([['carol', 'direct', 'remember me?']]);
    expect(jsonLines(await ok('bob', ['decline', 'carol']))).toEqual([{ conversation: 'carol', declined: true }]);
    expect(await requests('bob')).toEqual([]);
    expect(jsonLines(await ok('bob', ['chats']))).toMatchObject([{ conversation: 'club' }]);
    expect(await fails('bob', ['accept', 'carol'])).toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('no pending request carol') });
    expect(await fails('bob', ['decline', 'nobody'])).toMatchObject({ code: 'NOT_FOUND' });
    expect(await fails('bob', ['block', 'nobody'])).toMatchObject({ code: 'UNKNOWN_USER' });
    expect(await fails('bob', ['block', 'Not A Name'])).toMatchObject({ code: 'INVALID_USERNAME' });
  });

  it('block declines their requests and stops them reaching me; unblock lets them again', async () => {
    await ok('mallory', ['send', 'bob', 'buy now']);
    const [spam] = await requests('bob');
    expect(spam).toMatchObject({ from: 'mallory', preview: 'buy now' });
    const blocked = jsonLines<{ blocked: string; declined: string[] }>(await ok('bob', ['block', 'mallory']));
    expect(blocked).toEqual([{ blocked: 'mallory', declined: [expect.any(String)] }]);
    expect(await requests('bob')).toEqual([]);
    expect(jsonLines(await ok('bob', ['blocked']))).toEqual([{ username: 'mallory', blocked: true }]);
    expect(await ok('bob', ['blocked'], false)).toBe('mallory\n');

    expect(await fails('mallory', ['group', 'create', 'again', '--members', 'bob'])).toMatchObject({ code: 'BLOCKED', message: 'bob has blocked you' });
    expect(await requests('bob')).toEqual([]);

    expect(jsonLines(await ok('bob', ['unblock', 'mallory']))).toEqual([{ unblocked: 'mallory' }]);
    expect(jsonLines(await ok('bob', ['blocked']))).toEqual([]);
    await ok('mallory', ['group', 'create', 'second chance', '--members', 'bob']);
    expect((await requests('bob')).map((r) => [r.from, r.conversation])).toEqual([['mallory', 'second chance']]);
  });
});
