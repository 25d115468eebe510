/** @module Direct sessions from the command line (DESIGN §9): `parley direct USER` and `parley listen --direct`. */
import { createInterface } from 'node:readline';
import type { ConversationEvent, DirectOptions, DirectStateChange, Messenger, ParleyClient } from '@parley/client';
import { weriftLinkFactory } from '@parley/client/node';
import { normalizeUsername, type ParleyError } from '@parley/protocol';
import { withClient, type CommandContext } from './account-commands.js';
import { noteEvent, printMessage, showUnread, withMessenger } from './messaging-commands.js';
import { describeError } from './output.js';

export interface DirectCommandOptions {
  copyToServer?: boolean;
  /** Seconds each setup step may take. */
  timeout?: string;
}

function directOptions(ctx: CommandContext, options: DirectCommandOptions): DirectOptions {
  const timeout = options.timeout === undefined ? 30 : Number(options.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0 || timeout > 3600) throw Object.assign(new Error('--timeout must be 0..3600 seconds'), { code: 'BAD_INPUT' });
  return {
    links: weriftLinkFactory,
    copyToServer: options.copyToServer ?? false,
    timeoutMs: timeout * 1000,
    onFailure: (error) => ctx.output.conversationError(describeError(error)),
  };
}

/** `direct session with USER open|closed: REASON` on stderr; `{"event":"direct",…}` on stdout with --json. */
function printState(ctx: CommandContext, change: DirectStateChange): void {
  const human = `direct session with ${change.peer} ${change.state}${change.reason ? `: ${change.reason}` : ''}`;
  if (ctx.output.json) ctx.output.result({ event: 'direct', peer: change.peer, state: change.state, ...(change.reason ? { reason: change.reason } : {}) }, human);
  else ctx.output.note(human);
}

/** Prints live conversation events in order; messages say how they came (`via`). */
function livePrinter(ctx: CommandContext, messenger: Messenger, fail: (error: unknown) => void): (event: ConversationEvent) => void {
  let printing = Promise.resolve();
  return (event) => {
    printing = printing
      .then(async () => {
        if (event.kind !== 'message' && event.kind !== 'unlocked') return noteEvent(ctx, event);
        printMessage(ctx, { ...event.message, via: event.message.via ?? 'server' });
        await messenger.markShown([event.message]);
      })
      .catch(fail);
  };
}

/**
 * `parley direct USER`: open a direct session, send each line of standard input over it (through
 * the server whenever the channel is down), print what arrives; end of input ends the session
 * with a notice to the peer. Returns when the input ends or the peer ends the session.
 */
export async function direct(ctx: CommandContext, username: string, options: DirectCommandOptions): Promise<void> {
  const peer = normalizeUsername(username);
  const settings = directOptions(ctx, options);
  await withMessenger(ctx, async (messenger, client) => {
    let failure: unknown;
    const stopEvents = client.onConversationEvent(livePrinter(ctx, messenger, (error) => (failure ??= error)), (error) => (failure ??= error));
    const session = await (await client.direct(settings)).open(peer);
    client.onClose(() => session.state === 'open' && ctx.output.note('the server connection closed; the direct session goes on without it'));
    let endedByPeer: () => void = () => undefined;
    const peerEnded = new Promise<void>((resolve) => (endedByPeer = resolve));
    session.onState((change) => {
      printState(ctx, change);
      // A lost channel leaves the command running: what is typed next goes through the server.
      if (change.state === 'closed' && change.reason !== 'connection lost') endedByPeer();
    });
    await session.opened;
    const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
    const reading = (async () => {
      for await (const line of lines) {
        if (line.trim() === '') continue;
        const sent = await session.send(line);
        ctx.output.note(`sent to ${peer} via ${sent.via ?? 'server'}`);
        if (session.state === 'closed' && session.reason !== 'connection lost') break;
      }
    })();
    await Promise.race([reading, peerEnded]);
    lines.close();
    await session.end('ended');
    await session.drained();
    await messenger.settled();
    stopEvents();
    if (failure !== undefined) throw failure;
  });
}

/**
 * `parley listen --direct`: listen, and accept direct sessions from contacts, printing what
 * arrives over them; each line of standard input is sent over the latest open session. If the
 * server goes away while a session is open, it goes on; listening ends with the last session then.
 */
export async function listenDirect(ctx: CommandContext, options: DirectCommandOptions): Promise<void> {
  const settings = directOptions(ctx, options);
  await withClient(ctx, async (client: ParleyClient) => {
    // Listening for requests before signing in: this device is online to contacts from then on.
    const ready = client.direct(settings);
    const messenger = await client.messenger();
    await showUnread(ctx, messenger);
    const sessions = await ready;
    const openSessions = () => sessions.active.filter((session) => session.state === 'open');
    const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
    await new Promise<void>((resolve, reject) => {
      let serverLost: ParleyError | undefined;
      client.onConversationEvent(livePrinter(ctx, messenger, reject), reject);
      sessions.answer(
        () => true,
        (session) =>
          session.onState((change) => {
            printState(ctx, change);
            if (change.state === 'closed' && serverLost && openSessions().length === 0) reject(serverLost);
          }),
      );
      client.onClose((error) => {
        if (openSessions().length === 0) return reject(error);
        serverLost = error;
        ctx.output.note('the server connection closed; direct sessions go on without it');
      });
      messenger.sync().catch(reject);
      let sending = Promise.resolve();
      lines.on('line', (line) => {
        const session = openSessions().at(-1);
        if (line.trim() === '') return;
        if (!session) return ctx.output.conversationError({ code: 'BAD_INPUT', message: 'no direct session is open; line not sent' });
        sending = sending.then(async () => void ctx.output.note(`sent to ${session.peer} via ${(await session.send(line)).via ?? 'server'}`)).catch(reject);
      });
      const stop = () => void sessions.endAll('ended').then(resolve, reject);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    }).finally(() => lines.close());
  });
}
