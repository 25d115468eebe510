/** `parley passwd` and `parley recover` against `parley serve`, as scripts and people use them. */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startServeProcess, type ServeProcess } from '../support/cli.js';
import { tempDir } from '../support/harness.js';

const OLD = 'the first cli password';
const NEW = 'the second cli password';
const RESET = 'the recovered cli password';

const lastLine = (text: string) => text.trim().split('\n').at(-1);

describe('password change and recovery from the CLI', () => {
  const dir = tempDir('cli-credentials');
  let server: ServeProcess;
  const cli = (profile: string, args: string[], env: Record<string, string> = {}, input?: string) =>
    runCli(['--server', server.url, '--profile', join(dir.path, profile), ...args], { env, ...(input === undefined ? {} : { input }) });
  const ok = async (profile: string, args: string[], env: Record<string, string> = {}, input?: string) => {
    const result = await cli(profile, args, env, input);
    expect(result.stderr.split('\n').filter((line) => !line.startsWith('trusting server key'))).toEqual(['']);
    expect(result.code).toBe(0);
    return result.stdout;
  };
  const json = <T>(text: string): T => JSON.parse(text) as T;

  beforeAll(async () => {
    server = await startServeProcess(['--port', '0', '--data', join(dir.path, 'data')]);
  });
  afterAll(async () => {
    await server.stop();
    dir.remove();
  });

  it('passwd: old password from PARLEY_PASSWORD, new from PARLEY_NEW_PASSWORD; then only the new one logs in', async () => {
    await ok('alice-phone', ['register', 'alice'], { PARLEY_PASSWORD: OLD });
    await ok('alice-laptop', ['login', 'alice'], { PARLEY_PASSWORD: OLD });
    const changed = await ok('alice-phone', ['passwd'], { PARLEY_PASSWORD: OLD, PARLEY_NEW_PASSWORD: NEW });
    expect(changed).toBe('password changed for alice; your other devices stay logged in\n');

    const old = await cli('alice-x', ['login', 'alice'], { PARLEY_PASSWORD: OLD });
    expect(old.code).toBe(1);
    expect(lastLine(old.stderr)).toBe('error AUTH_FAILED: wrong username or password');
    await ok('alice-tablet', ['login', 'alice'], { PARLEY_PASSWORD: NEW });
    expect(json<{ username: string }>(await ok('alice-laptop', ['--json', 'whoami'])).username).toBe('alice');

    // --password-stdin: current then new, one a line; --json result.
    const viaStdin = await ok('alice-laptop', ['--json', 'passwd', '--password-stdin'], {}, `${NEW}\n${OLD}\n`);
    expect(json(viaStdin)).toEqual({ username: 'alice', changed: true });
    await ok('alice-y', ['login', 'alice'], { PARLEY_PASSWORD: OLD });
  });

  it('passwd: a wrong current password, a missing new one, or a logged-out profile fail with clear codes', async () => {
    await ok('bob-phone', ['register', 'bob'], { PARLEY_PASSWORD: OLD });
    const wrong = await cli('bob-phone', ['passwd'], { PARLEY_PASSWORD: 'not the password', PARLEY_NEW_PASSWORD: NEW });
    expect([wrong.code, wrong.stderr]).toEqual([1, 'error AUTH_FAILED: wrong password\n']);
    const wrongJson = await cli('bob-phone', ['--json', 'passwd'], { PARLEY_PASSWORD: 'not the password', PARLEY_NEW_PASSWORD: NEW });
    expect(json(wrongJson.stderr)).toEqual({ error: { code: 'AUTH_FAILED', message: 'wrong password' } });
    const noNew = await cli('bob-phone', ['passwd'], { PARLEY_PASSWORD: OLD });
    expect(noNew.stderr).toBe('error BAD_INPUT: no password: set PARLEY_NEW_PASSWORD, use --password-stdin, or run in a terminal\n');
    const oneLine = await cli('bob-phone', ['passwd', '--password-stdin'], {}, `${OLD}\n`);
    expect(oneLine.stderr).toBe('error BAD_INPUT: no new password on standard input\n');
    const tooShort = await cli('bob-phone', ['passwd'], { PARLEY_PASSWORD: OLD, PARLEY_NEW_PASSWORD: 'short' });
    expect(tooShort.stderr).toMatch(/^error BAD_INPUT: choose a password of at least 8 characters/);
    const nobody = await cli('nobody', ['passwd'], { PARLEY_PASSWORD: OLD, PARLEY_NEW_PASSWORD: NEW });
    expect(nobody.stderr).toMatch(/^error NOT_LOGGED_IN:/);
    await ok('bob-laptop', ['login', 'bob'], { PARLEY_PASSWORD: OLD });
  });

  let carolRecoveryKey = '';

  it('recover: the recovery key sets a new password and keeps the identity', async () => {
    const { recoveryKey } = json<{ recoveryKey: string }>(await ok('carol-phone', ['--json', 'register', 'carol'], { PARLEY_PASSWORD: OLD }));
    await ok('dave', ['register', 'dave'], { PARLEY_PASSWORD: OLD });
    await ok('dave', ['send', 'carol', 'before the loss']);
    // Dave is a stranger to carol until she accepts his request (DESIGN §6 consent).
    await ok('carol-phone', ['accept', 'dave']);
    expect(await ok('carol-phone', ['sync'])).toContain('before the loss');
    const before = json<{ identityKey: string }>(await ok('carol-phone', ['--json', 'whoami']));

    const human = await ok('carol-new', ['recover', 'Carol', '--recovery-key', recoveryKey.toLowerCase(), '--device-name', 'new phone'], { PARLEY_NEW_PASSWORD: RESET });
    expect(human).toMatch(/^new password set with the recovery key\nlogged in as carol \(device [A-Za-z0-9_-]+\)\n$/);
    const after = json<{ username: string; identityKey: string }>(await ok('carol-new', ['--json', 'whoami']));
    expect(after).toMatchObject({ username: 'carol', identityKey: before.identityKey });

    expect(lastLine((await cli('carol-x', ['login', 'carol'], { PARLEY_PASSWORD: OLD })).stderr)).toBe('error AUTH_FAILED: wrong username or password');
    await ok('carol-laptop', ['login', 'carol'], { PARLEY_PASSWORD: RESET });
    carolRecoveryKey = recoveryKey;
  });

  it('recover: the conversation from before, and a new one, both reach the recovered device', async () => {
    await ok('carol-new', ['sync']);
    await ok('dave', ['send', 'carol', 'after the recovery']);
    expect(await ok('carol-new', ['sync'])).toContain('dave: after the recovery');
    await ok('erin', ['register', 'erin'], { PARLEY_PASSWORD: OLD });
    await ok('erin', ['send', 'carol', 'nice to meet you']);
    await ok('carol-new', ['accept', 'erin']);
    expect(await ok('carol-new', ['sync'])).toContain('erin: nice to meet you');
    await ok('carol-new', ['send', 'dave', 'back again']);
    expect(await ok('dave', ['sync'])).toContain('carol: back again');
  });

  it('recover --json, with the key from PARLEY_RECOVERY_KEY and the new password as the only line of stdin', async () => {
    const again = await ok('carol-newer', ['--json', 'recover', 'carol', '--password-stdin'], { PARLEY_RECOVERY_KEY: carolRecoveryKey }, `${NEW}\n`);
    expect(json(again)).toEqual({ username: 'carol', deviceId: expect.stringMatching(/^[A-Za-z0-9_-]+$/) });
    await ok('carol-y', ['login', 'carol'], { PARLEY_PASSWORD: NEW });
  });

  it('recover: a wrong key and an unknown user get the same AUTH_FAILED; a missing or malformed key BAD_INPUT', async () => {
    const { recoveryKey } = json<{ recoveryKey: string }>(await ok('frank', ['--json', 'register', 'frank'], { PARLEY_PASSWORD: OLD }));
    const otherKey = json<{ recoveryKey: string }>(await ok('gina', ['--json', 'register', 'gina'], { PARLEY_PASSWORD: OLD })).recoveryKey;
    const env = { PARLEY_NEW_PASSWORD: RESET };
    const wrong = await cli('r1', ['recover', 'frank', '--recovery-key', otherKey], env);
    const unknown = await cli('r2', ['recover', 'nobody-here', '--recovery-key', recoveryKey], env);
    expect([wrong.code, unknown.code]).toEqual([1, 1]);
    expect(lastLine(wrong.stderr)).toBe('error AUTH_FAILED: the recovery key does not match');
    expect(lastLine(unknown.stderr)).toBe(lastLine(wrong.stderr));
    const unknownJson = await cli('r3', ['--json', 'recover', 'nobody-here', '--recovery-key', recoveryKey], env);
    expect(json(unknownJson.stderr)).toEqual({ error: { code: 'AUTH_FAILED', message: 'the recovery key does not match' } });

    expect((await cli('r4', ['recover', 'frank'], env)).stderr).toBe('error BAD_INPUT: give the recovery key with --recovery-key KEY (or PARLEY_RECOVERY_KEY)\n');
    expect((await cli('r5', ['recover', 'frank', '--recovery-key', 'ABCD-EFGH'], env)).stderr).toMatch(/^error BAD_INPUT: not a recovery key: a recovery key has 32 characters/);
    expect((await cli('r6', ['recover', 'frank', '--recovery-key', recoveryKey])).stderr).toMatch(/^error BAD_INPUT: no password: set PARLEY_NEW_PASSWORD/);
    // Nothing changed for frank.
    await ok('frank-laptop', ['login', 'frank'], { PARLEY_PASSWORD: OLD });
  });
});
