/** @module The `parley` command: `serve`, and a scriptable client (DESIGN §13, CLI contract). */
import { readFileSync } from 'node:fs';
import { PROTOCOL_VERSION } from '@parley/protocol';
import { Command, CommanderError } from 'commander';
import * as accounts from './account-commands.js';
import * as directSessions from './direct-commands.js';
import * as consent from './consent-commands.js';
import * as messaging from './messaging-commands.js';
import { Output } from './output.js';
import { serve } from './serve.js';
import * as timelocks from './timelock-commands.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export interface MainIo {
  env?: NodeJS.ProcessEnv;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

const UNLOCK_AT = 'time-lock the message until WHEN: an ISO 8601 time, or +N with s, m, h or d (+30s, +2h, +3d)';

/** A command that only groups subcommands: alone, it prints its help (on stdout, as --help does). */
function helpWithoutSubcommand(command: Command): Command {
  return command.allowExcessArguments().action((_options: unknown, self: Command) => {
    if (self.args.length > 0) self.error(`unknown command '${self.args[0]}'`);
    self.outputHelp();
  });
}

/** Run the CLI; resolves to the process exit code. */
export async function main(argv: string[], io: MainIo = {}): Promise<number> {
  const env = io.env ?? process.env;
  const stderr = io.stderr ?? process.stderr;
  const jsonRequested = argv.includes('--json');
  let output = new Output(jsonRequested, io.stdout, stderr);

  const program = new Command('parley')
    .description('Parley: a self-hostable end-to-end encrypted messenger')
    .version(`parley ${version} (protocol ${PROTOCOL_VERSION})`, '-V, --version', 'print the version')
    .option('--server <url>', 'server URL (or PARLEY_SERVER; default http://127.0.0.1:8080)')
    .option('--profile <dir>', 'profile directory (or PARLEY_PROFILE; default ~/.parley)')
    .option('--server-key <fingerprint>', "the server key you expect (or PARLEY_SERVER_KEY); replaces a pinned one")
    .option('--json', 'one JSON object per line')
    .option('--password-stdin', 'read the password (and for passwd the new one) from standard input')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => (io.stdout ?? process.stdout).write(text),
      writeErr: () => undefined, // usage errors are printed in the `error CODE: message` form below
    })
    .showHelpAfterError(false);

  const context = (): accounts.CommandContext => {
    const options = program.opts<accounts.GlobalOptions>();
    output = new Output(options.json ?? false, io.stdout, stderr);
    return {
      options,
      output,
      env,
      passwords: { env, fromStdin: options.passwordStdin ?? false, stdin: process.stdin, stderr: process.stderr },
    };
  };
  let exitCode = 0;

  program
    .command('serve')
    .description('run a Parley server (SQLite under --data, or PostgreSQL and Redis shared by several nodes)')
    .option('--port <port>', 'port to listen on (or PARLEY_PORT)', undefined)
    .option('--host <host>', 'address to bind (or PARLEY_HOST; default 127.0.0.1)')
    .option('--data <dir>', 'data directory (or PARLEY_DATA; default ./data)')
    .option('--tls-cert <file>', 'PEM certificate: serve https/wss')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (or PARLEY_LOG_LEVEL)')
    .option('--postgres <url>', 'keep state in PostgreSQL, shared by several nodes (or PARLEY_POSTGRES_URL)')
    .option('--redis <url>', 'share events and presence between nodes through Redis (or PARLEY_REDIS_URL)')
    .option('--redis-namespace <prefix>', 'prefix of Redis keys and channels (or PARLEY_REDIS_NAMESPACE; default parley:)')
    .option('--key-file <file>', 'server key file, the same for every node (or PARLEY_KEY_FILE; default <data>/server-keys.json)')
    .option('--open-directory', 'everyone sees everyone online (or PARLEY_OPEN_DIRECTORY=1)')
    .option('--presence-ttl <seconds>', "with Redis: a dead node's users go offline after this (or PARLEY_PRESENCE_TTL; default 15)")
    .option('--startup-timeout <seconds>', 'how long to wait for PostgreSQL and Redis at start (or PARLEY_STARTUP_TIMEOUT; default 30)')
    .action(async (options) => {
      exitCode = await serve(options, env);
    });

  program
    .command('register <username>')
    .description('create an account with this profile as its first device; prints the recovery key once')
    .option('--device-name <name>', 'a name for this device')
    .action((username: string, options: { deviceName?: string }) => accounts.register(context(), username, options));
  program
    .command('login <username>')
    .description('make this profile a new device of USER')
    .option('--device-name <name>', 'a name for this device')
    .action((username: string, options: { deviceName?: string }) => accounts.login(context(), username, options));
  program
    .command('logout')
    .description("end this device's session (or every device's with --all)")
    .option('--all', 'log out every device of the account')
    .action((options: { all?: boolean }) => accounts.logout(context(), options));
  program.command('whoami').description('the account and device of this profile').action(() => accounts.whoami(context()));
  const devices = program.command('devices').description("this account's devices").action(() => accounts.devices(context()));
  devices
    .command('revoke <deviceId>')
    .description('revoke a device: it can no longer connect')
    .action((deviceId: string) => accounts.revokeDevice(context(), deviceId));
  program
    .command('passwd')
    .description('change the password (current: PARLEY_PASSWORD, new: PARLEY_NEW_PASSWORD; --password-stdin: one a line)')
    .action(() => accounts.passwd(context()));
  program
    .command('recover <username>')
    .description('set a new password with the recovery key (new password: PARLEY_NEW_PASSWORD); this profile becomes a new device')
    .option('--recovery-key <key>', 'the recovery key shown at registration (or PARLEY_RECOVERY_KEY)')
    .option('--device-name <name>', 'a name for this device')
    .action((username: string, options: { recoveryKey?: string; deviceName?: string }) => accounts.recover(context(), username, options));

  program.command('users').description('online users visible to me').option('--limit <n>', 'at most this many (default 50)').action((options: { limit?: string }) => messaging.users(context(), options));
  program
    .command('send <username> <text>')
    .description('send a 1:1 message (creates the conversation on first use)')
    .option('--unlock-at <when>', UNLOCK_AT)
    .action((username: string, text: string, options: { unlockAt?: string }) => messaging.send(context(), username, text, options));
  program.command('sync').description('fetch, decrypt, print and acknowledge new messages').action(() => messaging.sync(context()));
  program
    .command('listen')
    .description('stay connected; print messages as they arrive')
    .option('--direct', 'also accept direct (peer-to-peer) sessions from contacts, and print messages that arrive over them')
    .option('--copy-to-server', 'with --direct: also store direct messages on the server, for your other devices')
    .action((options: { direct?: boolean; copyToServer?: boolean }) => (options.direct ? directSessions.listenDirect(context(), options) : messaging.listen(context())));
  program
    .command('direct <username>')
    .description("open a direct session with USER's online device, send each line of standard input over it and print what arrives; end of input ends it")
    .option('--copy-to-server', 'also store each message on the server, so your other devices get it (default: device to device only)')
    .option('--timeout <seconds>', 'how long to wait for an answer, and for the channel to open (default 30)')
    .action((username: string, options: { copyToServer?: boolean; timeout?: string }) => directSessions.direct(context(), username, options));
  program
    .command('unlock')
    .description('fetch released keys and print what opened; --solve also solves the puzzles of locked messages here (no server needed)')
    .option('--solve', 'solve the puzzles of messages still locked on this device (progress on stderr; resumes after a restart)')
    .action((options: { solve?: boolean }) => timelocks.unlock(context(), options));
  program.command('chats').description('conversations with unread counts, newest first').action(() => messaging.chats(context()));
  program
    .command('verify <username>')
    .description('safety number with USER (and a QR code); --mark once compared')
    .option('--mark', 'record that you compared the safety number and it matched')
    .option('--trust-new-key', "accept USER's changed identity key (after comparing the new number)")
    .action((username: string, options: { mark?: boolean; trustNewKey?: boolean }) => messaging.verify(context(), username, options));
  program.command('requests').description('message requests waiting for your answer: who, where, the first message').action(() => consent.requests(context()));
  program
    .command('accept <name>')
    .description("accept a message request (NAME: the requester, or the group's name or id): they become your contacts")
    .action((name: string) => consent.accept(context(), name));
  program.command('decline <name>').description('decline a message request: leave the group or drop the 1:1').action((name: string) => consent.decline(context(), name));
  program
    .command('block <username>')
    .description("block a user: the server refuses their Welcomes and direct messages to you; declines their requests")
    .action((username: string) => consent.block(context(), username));
  program.command('unblock <username>').description('stop blocking a user').action((username: string) => consent.unblock(context(), username));
  program.command('blocked').description('users you block').action(() => consent.blocked(context()));
  const history = helpWithoutSubcommand(program.command('history').description('message history between devices of this account'));
  history
    .command('send <deviceId>')
    .description('send this device\'s message history, end-to-end encrypted, to another device of the account')
    .action((deviceId: string) => messaging.historySend(context(), deviceId));
  const group = helpWithoutSubcommand(program.command('group').description('group conversations'));
  group
    .command('create <name>')
    .option('--members <users>', 'comma-separated usernames to add')
    .description('create a group (you are its admin)')
    .action((name: string, options: { members?: string }) => messaging.groupCreate(context(), name, options));
  group.command('add <name> <users...>').description('add members (admins only)').action((name: string, users: string[]) => messaging.groupAdd(context(), name, users));
  group.command('remove <name> <users...>').description('remove members, re-keying the group (admins only)').action((name: string, users: string[]) => messaging.groupRemove(context(), name, users));
  group.command('leave <name>').description('leave a group').action((name: string) => messaging.groupLeave(context(), name));
  group.command('members <name>').description('members and admins').action((name: string) => messaging.groupMembers(context(), name));
  group.command('promote <name> <user>').description('make a member an admin (admins only)').action((name: string, user: string) => messaging.groupPromote(context(), name, user));
  group
    .command('send <name> <text>')
    .description('send to a group')
    .option('--unlock-at <when>', UNLOCK_AT)
    .action((name: string, text: string, options: { unlockAt?: string }) => messaging.groupSend(context(), name, text, options));

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return 0; // --help, --version
      output.error(Object.assign(new Error(error.message.replace(/^error: /, '')), { code: 'BAD_INPUT' }));
      return 2;
    }
    output.error(error);
    return 1;
  }
}
