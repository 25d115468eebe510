/**
 * Issue #11: starting anything with a user I block does not quietly unblock them, nor make them
 * my contact (which would show them my presence). As Signal asks to unblock first, the SDK and
 * the CLI refuse with BLOCKED, "unblock USER first"; after an unblock, writing works again.
 */
import { join } from 'node:path';
import { ErrorCode } from '@parley/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { startTestServer, tempDir, type TestServer } from '../support/harness.js';
import type { TestDevice } from '../support/device.js';
import { Attacker, honestUser } from './kit.js';

describe('writing to a user I block', () => {
  const dir = tempDir('blocked-contact');
  let server: TestServer;
  let victim: TestDevice;
  let mallory: Attacker;
  const refusal = { code: ErrorCode.BLOCKED, message: 'you block mallory; unblock mallory first' };

  beforeAll(async () => {
    server = await startTestServer();
    victim = await honestUser(server, 'victim');
    mallory = await Attacker.register(server, 'mallory');
    await mallory.uploadKeyPackages(3);
    await (await victim.messenger()).block('mallory');
  });
  afterAll(async () => {
    victim.close();
    mallory.close();
    await server.close();
    dir.remove();
  });

  it('refuses a new 1:1, a group with them and adding them as a contact, and keeps them blocked', async () => {
    const messenger = await victim.messenger();
    await expect(messenger.sendDirect('mallory', 'hi')).rejects.toMatchObject(refusal);
    await expect(messenger.createGroup('with mallory', ['mallory'])).rejects.toMatchObject(refusal);
    await expect(messenger.addContacts(['mallory'])).rejects.toMatchObject(refusal);
    expect(await messenger.blocked()).toEqual(['mallory']);
    expect(await mallory.refused('keys.claim', { username: 'victim' })).toMatchObject({ code: ErrorCode.BLOCKED });
    expect(await mallory.request('presence.list', {})).toEqual({ users: ['mallory'] });
  });

  it('refuses a message into a 1:1 kept from before the block', async () => {
    const messenger = await victim.messenger();
    await messenger.unblock('mallory');
    await messenger.sendDirect('mallory', 'before');
    await messenger.block('mallory');
    await expect(messenger.sendDirect('mallory', 'after')).rejects.toMatchObject(refusal);
    await messenger.unblock('mallory');
    expect((await messenger.sendDirect('mallory', 'after the unblock')).text).toBe('after the unblock');
  });

  it('says BLOCKED, "unblock mallory first" in the CLI, and sends once unblocked', async () => {
    const cli = (args: string[]) => runCli(['--server', server.url, '--profile', join(dir.path, 'cli-victim'), '--json', ...args], { env: { PARLEY_PASSWORD: 'cli victim password' } });
    expect((await cli(['register', 'clivictim'])).code).toBe(0);
    expect((await cli(['block', 'mallory'])).code).toBe(0);
    const refused = await cli(['send', 'mallory', 'hi']);
    expect(refused.code).not.toBe(0);
    expect(JSON.parse(refused.stderr.trim().split('\n').at(-1) ?? '{}')).toEqual({ error: refusal });
    expect((await cli(['unblock', 'mallory'])).code).toBe(0);
    expect(await cli(['send', 'mallory', 'hi'])).toMatchObject({ code: 0, stderr: '' });
  }, 60_000);
});
