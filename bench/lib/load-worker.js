#!/usr/bin/env node
/**
 * @module One load generator process (./workers.js starts them). It holds the connections the
 * bench asks it to open and plays traffic patterns over them (./patterns.js); it also makes and
 * loads the fixture (./fixture-build.js). Commands arrive over IPC as `{ id, command, args }`
 * and are answered `{ id, result }` or `{ id, error }`.
 */
import { opaqueReady } from '@parley/crypto';
import { fromBase64Url } from '@parley/protocol';
import { eachLimited, enrol, makeGroup, replayAccounts, replayGroups } from './fixture-build.js';
import { listenForFanOut, logins, relay, wallClock } from './patterns.js';
import { BaselineConnection, ParleyConnection } from './wire.js';

/** The connections open now: `{ id, connection, conversation, peer, sender }`. */
let ends = [];

function opener(target, sizes) {
  if (target === 'parley') return (url, localAddress) => ParleyConnection.open(url, { localAddress });
  if (target === 'baseline') return (url, localAddress) => BaselineConnection.open(url, { localAddress, sizes });
  throw new Error(`unknown target ${target}`);
}

/** What an end sends: its group's MLS message over Parley; over the baseline, a frame for its peer. */
function conversation(target, spec) {
  if (target === 'baseline') return { peerId: spec.peerId };
  if (!spec.message) return undefined;
  return { groupId: fromBase64Url(spec.groupId), epoch: spec.epoch, message: fromBase64Url(spec.message) };
}

/** Each frame kind's size, as the first connection to see one saw it. */
function frameSizes() {
  const sizes = {};
  for (const { connection } of ends) for (const [kind, size] of Object.entries(connection.sizes)) sizes[kind] ??= size;
  return sizes;
}

/** Opens and authenticates a connection for each spec ({ id, url, account, localAddress, peerId?, sender?, message? }). */
async function connect({ target, sizes, specs, concurrency }) {
  const open = opener(target, sizes);
  const opened = [];
  await eachLimited(specs, concurrency, async (spec) => {
    const connection = await open(spec.url, spec.localAddress);
    await connection.authenticate(spec.account, spec.id);
    opened.push({ id: spec.id, connection, conversation: conversation(target, spec), peerId: spec.peerId, sender: spec.sender ?? false });
  });
  const byId = new Map(opened.map((end) => [end.id, end]));
  for (const end of opened) end.peer = byId.get(end.peerId);
  ends = ends.concat(opened);
  return { opened: opened.length, sizes: frameSizes() };
}

const commands = {
  ready: async () => {
    await opaqueReady;
    return true;
  },
  enrol,
  'make-group': makeGroup,
  'replay-accounts': replayAccounts,
  'replay-groups': replayGroups,
  connect,
  relay: async (options) => ({ ...(await relay(ends, options)), sizes: frameSizes() }),
  'fanout-listen': () => {
    listenForFanOut(
      ends.filter((end) => !end.sender),
      (round, arrivals, lastAckAt) => process.send({ event: 'fanout-round', round, arrivals, lastAckAt }),
    );
    return true;
  },
  'fanout-send': async () => {
    const sender = ends.find((end) => end.sender);
    const sentAt = wallClock();
    await sender.connection.send(sender.conversation);
    return { sentAt, sizes: frameSizes() };
  },
  login: ({ target, url, sizes, ...options }) => {
    const open = opener(target, sizes);
    return logins(() => open(url), options.accounts, options);
  },
  disconnect: () => {
    for (const { connection } of ends) connection.close();
    ends = [];
    return true;
  },
};

process.on('message', async ({ id, command, args }) => {
  try {
    const run = commands[command];
    if (!run) throw new Error(`unknown command ${command}`);
    process.send({ id, result: await run(args) });
  } catch (error) {
    process.send({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
// The bench stops its load generators with SIGTERM; connections close with the process.
process.once('SIGTERM', () => process.exit(0));
