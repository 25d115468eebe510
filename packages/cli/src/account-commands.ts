/** @module Client commands for accounts and devices: register, login, logout, whoami, devices, passwd, recover. */
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import { checkNewPassword, ErrorCode, ParleyClient, ParleyError } from '@parley/client';
import { recoveryKeys } from '@parley/crypto';
import { normalizeUsername, toBase64Url } from '@parley/protocol';
import { DirectoryProfileStore, nodeSocketFactory, SqliteClientStore } from '@parley/client/node';
import { mkdirSync } from 'node:fs';
import { readNewPassword, readPassword, type PasswordSource } from './password.js';
import type { Output } from './output.js';

export interface GlobalOptions {
  server?: string;
  profile?: string;
  json?: boolean;
  serverKey?: string;
  passwordStdin?: boolean;
}

export interface CommandContext {
  options: GlobalOptions;
  output: Output;
  env: NodeJS.ProcessEnv;
  passwords: PasswordSource;
}

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

function profileDir(ctx: CommandContext): string {
  return ctx.options.profile ?? ctx.env.PARLEY_PROFILE ?? join(homedir(), '.parley');
}

export function profileStore(ctx: CommandContext): DirectoryProfileStore {
  return new DirectoryProfileStore(profileDir(ctx));
}

/** The profile's messages: conversations, MLS state and history (SQLite, mode 0600). */
export function messageStore(ctx: CommandContext): SqliteClientStore {
  mkdirSync(profileDir(ctx), { recursive: true, mode: 0o700 });
  return new SqliteClientStore(join(profileDir(ctx), 'messages.db'));
}

/** Connect to the server named by --server, PARLEY_SERVER, the profile's account, or the default. */
export async function connect(ctx: CommandContext): Promise<ParleyClient> {
  const store = profileStore(ctx);
  const profile = await store.load();
  const server = ctx.options.server ?? ctx.env.PARLEY_SERVER ?? profile.account?.server ?? DEFAULT_SERVER;
  const serverKey = ctx.options.serverKey ?? ctx.env.PARLEY_SERVER_KEY;
  return ParleyClient.connect({
    server,
    store,
    messages: messageStore(ctx),
    socketFactory: nodeSocketFactory,
    ...(serverKey ? { serverKey } : {}),
    onServerKeyPinned: (fingerprint) => ctx.output.note(`trusting server key ${fingerprint} for ${new URL(server).origin} (first use)`),
  });
}

/** Run `run` on a connected client; `signedIn` commands fail fast on a profile with no account. */
export async function withClient<T>(ctx: CommandContext, run: (client: ParleyClient) => Promise<T>, signedIn = true): Promise<T> {
  if (signedIn && !(await profileStore(ctx).load()).account) {
    throw new ParleyError(ErrorCode.NOT_LOGGED_IN, 'this profile is not logged in; run `parley register USER` or `parley login USER` first');
  }
  const client = await connect(ctx);
  try {
    return await run(client);
  } finally {
    client.close();
  }
}

// Usernames and new passwords are checked before connecting: a mistake is reported before anything else is printed.

export async function register(ctx: CommandContext, usernameInput: string, options: { deviceName?: string }): Promise<void> {
  const username = normalizeUsername(usernameInput);
  const password = await readPassword(ctx.passwords, 'current', 'New password: ', true);
  checkNewPassword(password);
  const result = await withClient(ctx, (client) => client.register(username, password, { deviceName: options.deviceName ?? hostname() }), false);
  ctx.output.result(
    { username: result.username, deviceId: result.deviceId, recoveryKey: result.recoveryKey },
    [
      `registered ${result.username} (device ${result.deviceId})`,
      `recovery key: ${result.recoveryKey}`,
      'Write the recovery key down and keep it safe: it is shown only this once, and it is the only way back in if you forget your password.',
    ].join('\n'),
  );
}

export async function login(ctx: CommandContext, usernameInput: string, options: { deviceName?: string }): Promise<void> {
  const username = normalizeUsername(usernameInput);
  const password = await readPassword(ctx.passwords, 'current', 'Password: ');
  const session = await withClient(ctx, (client) => client.login(username, password, { deviceName: options.deviceName ?? hostname() }), false);
  ctx.output.result({ username: session.username, deviceId: session.deviceId }, `logged in as ${session.username} (device ${session.deviceId})`);
}

export async function passwd(ctx: CommandContext): Promise<void> {
  const current = await readPassword(ctx.passwords, 'current', 'Current password: ');
  const next = await readPassword(ctx.passwords, 'new', 'New password: ', true);
  checkNewPassword(next);
  const { username } = await withClient(ctx, (client) => client.changePassword(current, next));
  ctx.output.result({ username, changed: true }, `password changed for ${username}; your other devices stay logged in`);
}

export async function recover(ctx: CommandContext, usernameInput: string, options: { recoveryKey?: string; deviceName?: string }): Promise<void> {
  const username = normalizeUsername(usernameInput);
  const recoveryKey = options.recoveryKey ?? ctx.env.PARLEY_RECOVERY_KEY;
  if (!recoveryKey) throw new ParleyError(ErrorCode.BAD_INPUT, 'give the recovery key with --recovery-key KEY (or PARLEY_RECOVERY_KEY)');
  try {
    recoveryKeys(recoveryKey); // its form, checked before asking for a new password
  } catch (error) {
    throw new ParleyError(ErrorCode.BAD_INPUT, `not a recovery key: ${(error as Error).message}`);
  }
  const password = await readNewPassword(ctx.passwords, 'New password: ');
  checkNewPassword(password);
  const session = await withClient(ctx, (client) => client.recover(username, recoveryKey, password, { deviceName: options.deviceName ?? hostname() }), false);
  ctx.output.result(
    { username: session.username, deviceId: session.deviceId },
    `new password set with the recovery key\nlogged in as ${session.username} (device ${session.deviceId})`,
  );
}

export async function logout(ctx: CommandContext, options: { all?: boolean }): Promise<void> {
  const { revoked } = await withClient(ctx, (client) => client.logout({ all: options.all ?? false }));
  ctx.output.result({ revoked }, options.all ? `logged out everywhere (${revoked} devices)` : 'logged out');
}

export async function whoami(ctx: CommandContext): Promise<void> {
  const { me, server, serverKey } = await withClient(ctx, async (client) => ({
    me: await client.whoami(),
    server: client.server,
    serverKey: client.serverFingerprint,
  }));
  ctx.output.result(
    { username: me.username, deviceId: me.deviceId, identityKey: toBase64Url(me.identityKey), server, serverKey },
    `${me.username} (device ${me.deviceId}) on ${server}`,
  );
}

export async function devices(ctx: CommandContext): Promise<void> {
  const list = await withClient(ctx, (client) => client.devices());
  for (const device of list) {
    const created = new Date(device.createdAt).toISOString();
    const seen = device.lastSeenAt === undefined ? 'never' : new Date(device.lastSeenAt).toISOString();
    ctx.output.result(
      { deviceId: device.deviceId, name: device.name, createdAt: created, lastSeenAt: device.lastSeenAt === undefined ? null : seen, current: device.current },
      `${device.current ? '*' : ' '} ${device.deviceId}  ${device.name}  added ${created}  last seen ${seen}`,
    );
  }
}

export async function revokeDevice(ctx: CommandContext, deviceId: string): Promise<void> {
  await withClient(ctx, (client) => client.revokeDevice(deviceId));
  ctx.output.result({ revoked: deviceId }, `revoked device ${deviceId}`);
}
