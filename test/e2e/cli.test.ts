import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startServeProcess, type ServeProcess } from '../support/cli.js';
import { tempDir } from '../support/harness.js';

const PASSWORD = 'a long enough password';

describe('the parley CLI against `parley serve`', () => {
  const dir = tempDir('cli');
  const data = join(dir.path, 'data');
  let server: ServeProcess;
  const profile = (name: string) => join(dir.path, name);
  const cli = (name: string, args: string[], env: Record<string, string> = {}, input?: string) =>
    runCli(['--server', server.url, '--profile', profile(name), ...args], { env, ...(input === undefined ? {} : { input }) });

  beforeAll(async () => {
    server = await startServeProcess(['--port', '0', '--data', data]);
  });
  afterAll(async () => {
    await server.stop();
    dir.remove();
  });

  it('announces its address and key, and answers /healthz', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.fingerprint).toMatch(/^SHA256:/);
    const health = (await (await fetch(`${server.url}/healthz`)).json()) as { status: string };
    expect(health.status).toBe('ok');
  });

  it('registers, logs in a second device, and shows whoami and devices on both', async () => {
    const registered = await cli('phone', ['--json', 'register', 'Alice', '--device-name', 'phone'], { PARLEY_PASSWORD: PASSWORD });
    expect(registered.stderr).toBe('');
    expect(registered.code).toBe(0);
    const account = JSON.parse(registered.stdout) as { username: string; deviceId: string; recoveryKey: string };
    expect(account.username).toBe('alice');
    expect(account.recoveryKey).toMatch(/^[0-9A-Z-]{39}$/);

    const human = await cli('laptop', ['login', 'alice', '--device-name', 'laptop', '--password-stdin'], {}, `${PASSWORD}\n`);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^logged in as alice \(device [A-Za-z0-9_-]+\)$/m);
    expect(human.stderr).toContain(`trusting server key ${server.fingerprint}`);

    const phone = JSON.parse((await cli('phone', ['--json', 'whoami'])).stdout) as { username: string; deviceId: string; serverKey: string };
    const laptop = JSON.parse((await cli('laptop', ['--json', 'whoami'])).stdout) as { username: string; deviceId: string };
    expect(phone).toMatchObject({ username: 'alice', deviceId: account.deviceId, serverKey: server.fingerprint });
    expect(laptop.username).toBe('alice');
    expect(laptop.deviceId).not.toBe(account.deviceId);

    const devices = (await cli('laptop', ['--json', 'devices'])).stdout.trim().split('\n').map((line) => JSON.parse(line) as { name: string; current: boolean });
    expect(devices.map((d) => [d.name, d.current])).toEqual([['phone', false], ['laptop', true]]);
  });

  it('gives AUTH_FAILED for a wrong password and an unknown user alike, USERNAME_TAKEN for a duplicate', async () => {
    const wrong = await cli('x1', ['login', 'alice'], { PARLEY_PASSWORD: 'not the password' });
    const unknown = await cli('x2', ['login', 'nobody'], { PARLEY_PASSWORD: PASSWORD });
    expect([wrong.code, unknown.code]).toEqual([1, 1]);
    const lastLine = (text: string) => text.trim().split('\n').at(-1);
    expect(lastLine(wrong.stderr)).toBe('error AUTH_FAILED: wrong username or password');
    expect(lastLine(unknown.stderr)).toBe(lastLine(wrong.stderr));
    const duplicate = await cli('x3', ['--json', 'register', 'ALICE'], { PARLEY_PASSWORD: PASSWORD });
    expect(duplicate.code).toBe(1);
    expect(JSON.parse(duplicate.stderr)).toEqual({ error: { code: 'USERNAME_TAKEN', message: 'the username alice is taken' } });
    const noPassword = await cli('x4', ['login', 'alice']);
    expect(noPassword.stderr).toMatch(/^error BAD_INPUT: no password/);
    const usage = await cli('x5', ['frobnicate']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^error BAD_INPUT: unknown command/);
  });

  it('tells its version, shows the help of a command group given alone, and checks names and passwords before connecting', async () => {
    const version = await runCli(['--version']);
    expect([version.code, version.stderr]).toEqual([0, '']);
    expect(version.stdout).toMatch(/^parley \d+\.\d+\.\d+ \(protocol \d+\)\n$/);
    for (const command of ['group', 'history']) {
      const help = await runCli([command]);
      expect([help.code, help.stderr]).toEqual([0, '']);
      expect(help.stdout).toMatch(new RegExp(`^Usage: parley ${command} \\[options\\] \\[command\\]`));
      expect(help.stdout).toContain('send');
    }
    expect((await runCli(['group', 'frobnicate'])).stderr).toBe("error BAD_INPUT: unknown command 'frobnicate'\n");

    // A fresh profile would print "trusting server key …" on connecting: nothing may come before the error.
    const badName = await cli('y1', ['register', 'no spaces allowed'], { PARLEY_PASSWORD: PASSWORD });
    expect([badName.code, badName.stdout]).toEqual([1, '']);
    expect(badName.stderr).toMatch(/^error INVALID_USERNAME: invalid username "no spaces allowed"[^\n]*\n$/);
    const shortPassword = await cli('y2', ['register', 'carol'], { PARLEY_PASSWORD: 'short' });
    expect([shortPassword.code, shortPassword.stdout, shortPassword.stderr]).toEqual([1, '', 'error BAD_INPUT: choose a password of at least 8 characters\n']);
    const recover = await cli('y3', ['recover', 'carol', '--recovery-key', '0000-0000-0000-0000-0000-0000-0000-0000'], { PARLEY_NEW_PASSWORD: 'short' });
    expect(recover.stderr).toBe('error BAD_INPUT: choose a password of at least 8 characters\n');
    const badLogin = await cli('y4', ['login', 'x'], { PARLEY_PASSWORD: PASSWORD });
    expect(badLogin.stderr).toMatch(/^error INVALID_USERNAME: [^\n]*\n$/);
    expect(existsSync(profile('y1')) || existsSync(profile('y2')) || existsSync(profile('y4'))).toBe(false);
  });

  it('a logged-out or revoked device cannot reconnect', async () => {
    await cli('bob-1', ['register', 'bob'], { PARLEY_PASSWORD: PASSWORD });
    await cli('bob-2', ['login', 'bob'], { PARLEY_PASSWORD: PASSWORD });
    await cli('bob-3', ['login', 'bob'], { PARLEY_PASSWORD: PASSWORD });
    cpSync(profile('bob-2'), profile('bob-2-copy'), { recursive: true });
    cpSync(profile('bob-3'), profile('bob-3-copy'), { recursive: true });

    expect((await cli('bob-2', ['logout'])).stdout).toBe('logged out\n');
    expect((await cli('bob-2', ['whoami'])).stderr).toMatch(/^error NOT_LOGGED_IN:/);
    const stolen = await cli('bob-2-copy', ['whoami']);
    expect(stolen.code).toBe(1);
    expect(stolen.stderr).toMatch(/^error DEVICE_REVOKED:/);

    const bob3 = JSON.parse((await cli('bob-3', ['--json', 'whoami'])).stdout) as { deviceId: string };
    expect((await cli('bob-1', ['devices', 'revoke', bob3.deviceId])).code).toBe(0);
    expect((await cli('bob-3-copy', ['whoami'])).stderr).toMatch(/^error DEVICE_REVOKED:/);

    expect(JSON.parse((await cli('bob-1', ['--json', 'logout', '--all'])).stdout)).toEqual({ revoked: 1 });
  });

  it('keeps accounts across a restart; a pinned client refuses a server with a new key', async () => {
    await server.stop();
    server = await startServeProcess(['--port', new URL(server.url).port, '--data', data]);
    const whoami = await cli('phone', ['--json', 'whoami']);
    expect(whoami.code).toBe(0);
    expect(JSON.parse(whoami.stdout)).toMatchObject({ username: 'alice' });
    expect((await cli('tablet', ['login', 'alice'], { PARLEY_PASSWORD: PASSWORD })).code).toBe(0);

    // Same address, different data directory: a different server key.
    const port = new URL(server.url).port;
    await server.stop();
    const impostorData = tempDir('impostor');
    server = await startServeProcess(['--port', port, '--data', impostorData.path]);
    try {
      const refused = await cli('phone', ['whoami']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^error SERVER_KEY_CHANGED: /);
      expect(refused.stderr).toContain(server.fingerprint);
      const fresh = await cli('phone', ['--server-key', server.fingerprint, 'whoami']);
      // The key is accepted; this server simply has no such device.
      expect(fresh.stderr).toMatch(/^error UNKNOWN_DEVICE:/);
    } finally {
      await server.stop();
      impostorData.remove();
      server = await startServeProcess(['--port', port, '--data', data]);
    }
  });
});
