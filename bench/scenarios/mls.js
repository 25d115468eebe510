/**
 * @module Bench scenario `mls`: Parley's crypto on node:crypto (what Node runs) against ts-mls's
 * default implementation (WebCrypto) and the pure-JS @noble fallback, all in one run.
 *
 * - MLS application messages: Alice encrypts, Bob processes, through the facade (state bytes in,
 *   state bytes out, as the SDK does), in a 2-member group. Providers take turns in rounds on the
 *   same group, so warm-up and background load weigh on all alike. Goal: node:crypto ≥ 5× ts-mls.
 * - Commits at 100 and 500 members: a group made by one commit adding everyone from KeyPackages,
 *   then rounds of "remove one" and "add one" by the creator, each from the state the last one
 *   left, and a member processing each removal. "first" is the first round; "epochs kept" the
 *   median of the later ones, once the state carries the past epochs' trees that MLS key
 *   retention keeps (ts-mls 1.6 stores a whole tree per kept epoch). Goal: under 300 ms at 500.
 * - The Noise channel: handshakes, and transport frames (seal + open) of 256 B, 1 KiB and 16 KiB,
 *   per second, on node:crypto and on noble (what Node used before).
 *
 * Wall times on a shared machine include other work; each row also shows the CPU time the process
 * spent (all threads, so WebCrypto's thread pool counts too).
 *
 * Knobs: BENCH_MLS_MESSAGES (per provider and round, default 300), BENCH_MLS_ROUNDS (default 3),
 * BENCH_MLS_SIZES (default 100,500), BENCH_MLS_REPEATS (commit rounds, default 6); --quick: 60
 * messages, one round, 100 members, 3 commit rounds.
 */
import { performance } from 'node:perf_hooks';
import {
  NoiseNXInitiator,
  NoiseNXResponder,
  addMembers,
  createGroup,
  encrypt,
  generateKeyPackage,
  generateSigningKeyPair,
  generateStaticKeyPair,
  installCryptoProvider,
  joinFromWelcome,
  nobleCryptoProvider,
  processMessage,
  removeMembers,
} from '@parley/crypto';
import { nodeCryptoProvider } from '@parley/crypto/node';

export const name = 'mls';

/** `undefined` is "nothing installed": in Node, ts-mls's default (WebCrypto) for MLS, noble for Noise. */
const PROVIDERS = [
  { label: 'node:crypto', provider: nodeCryptoProvider },
  { label: 'ts-mls default (WebCrypto)', provider: undefined },
  { label: 'noble (pure JS)', provider: nobleCryptoProvider },
];
const accept = async () => true;
const text = new TextEncoder();

function positive(variable, fallback) {
  const value = Number(process.env[variable] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${variable} must be a positive integer`);
  return value;
}

function device(name) {
  const { privateKey, publicKey } = generateSigningKeyPair();
  return { identity: text.encode(name), signaturePrivateKey: privateKey, signaturePublicKey: publicKey };
}

/** Wall and CPU milliseconds of `work`. */
async function timed(work) {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const result = await work();
  const used = process.cpuUsage(cpu);
  return { result, ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000 };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const round1 = (value) => Math.round(value * 10) / 10;
/** CPU per message is well under a millisecond: tenths would make the ratio between providers coarse (0.6 stands for 0.55-0.65). */
const round3 = (value) => Math.round(value * 1000) / 1000;

async function messages({ count, rounds }) {
  installCryptoProvider(nodeCryptoProvider);
  const [alice, bob] = [device('alice'), device('bob')];
  const created = await createGroup(alice, text.encode('bench 1:1'));
  const invite = await generateKeyPackage(bob);
  const added = await addMembers(created.state, alice, [invite.keyPackage], accept);
  let aliceState = added.pendingState;
  let bobState = (await joinFromWelcome(added.welcome, invite.privateState, accept)).state;
  const plaintext = text.encode('a message of about the length people type, to see what it costs');
  const exchange = async (n) => {
    for (let i = 0; i < n; i++) {
      const sent = await encrypt(aliceState, alice, plaintext);
      aliceState = sent.state;
      bobState = (await processMessage(bobState, sent.message, accept)).state;
    }
  };
  // Off the clock: let the JIT compile every provider's path first.
  for (const { provider } of PROVIDERS) {
    installCryptoProvider(provider);
    await exchange(Math.max(30, count / 4));
  }
  const totals = PROVIDERS.map(() => ({ messages: 0, ms: 0, cpuMs: 0 }));
  for (let round = 0; round < rounds; round++) {
    for (const [i, { provider }] of PROVIDERS.entries()) {
      installCryptoProvider(provider);
      const { ms, cpuMs } = await timed(() => exchange(count));
      Object.assign(totals[i], { messages: totals[i].messages + count, ms: totals[i].ms + ms, cpuMs: totals[i].cpuMs + cpuMs });
    }
  }
  installCryptoProvider(undefined);
  return PROVIDERS.map(({ label }, i) => ({ provider: label, messages: totals[i].messages, perSecond: round1((totals[i].messages / totals[i].ms) * 1000), cpuMsPerMessage: round3(totals[i].cpuMs / totals[i].messages) }));
}

/**
 * One provider's commits in a group of `members`: built by one commit adding everyone, then
 * REPEATS rounds of "remove one" and "add one" by the creator, each from the state the previous
 * commit left (as a client goes on once the server accepted a commit), a member processing each.
 */
async function commits(provider, { keyPackages, removable, extras, joiner, repeats }) {
  installCryptoProvider(provider);
  const creator = device('creator');
  const created = await createGroup(creator, text.encode('bench group'));
  const build = await timed(() => addMembers(created.state, creator, [...keyPackages, joiner.invite.keyPackage], accept));
  let state = build.result.pendingState;
  let memberState = (await joinFromWelcome(build.result.welcome, joiner.invite.privateState, accept)).state;
  const samples = { remove: [], add: [], processRemove: [], stateKiB: [] };
  for (let i = 0; i < repeats; i++) {
    samples.stateKiB.push(Math.round(state.length / 1024));
    const removal = await timed(() => removeMembers(state, creator, [removable[i]]));
    state = removal.result.pendingState;
    const processed = await timed(() => processMessage(memberState, removal.result.commit, accept));
    memberState = processed.result.state;
    const addition = await timed(() => addMembers(state, creator, [extras[i]], accept));
    state = addition.result.pendingState;
    memberState = (await processMessage(memberState, addition.result.commit, accept)).state;
    samples.remove.push(removal);
    samples.processRemove.push(processed);
    samples.add.push(addition);
  }
  return { buildMs: round1(build.ms), samples };
}

/** RFC 9420 §15.2 key retention: after this many commits the state carries the full window of past epochs. */
const RETENTION_FILLED = 2;

function summarise(provider, members, { buildMs, samples }) {
  const cell = (list) => ({ ms: round1(median(list.map((s) => s.ms))), cpuMs: round1(median(list.map((s) => s.cpuMs))) });
  const row = (stage, from, to) => ({
    provider,
    members,
    stage,
    stateKiB: samples.stateKiB[to - 1],
    remove: cell(samples.remove.slice(from, to)),
    add: cell(samples.add.slice(from, to)),
    processRemove: cell(samples.processRemove.slice(from, to)),
  });
  const rows = [row('first', 0, 1)];
  if (samples.remove.length > RETENTION_FILLED) rows.push(row('epochs kept', RETENTION_FILLED, samples.remove.length));
  return { members, provider, buildMs, rows };
}

async function commitTimes({ sizes, repeats, providers }) {
  installCryptoProvider(nodeCryptoProvider);
  const results = [];
  for (const members of sizes) {
    // KeyPackages are bytes, the same whichever provider made them: make them once.
    const devices = Array.from({ length: members - 2 }, (_, i) => device(`member ${i}`));
    const keyPackages = await Promise.all(devices.map(async (d) => (await generateKeyPackage(d)).keyPackage));
    const extras = await Promise.all(Array.from({ length: repeats }, async (_, i) => (await generateKeyPackage(device(`extra ${i}`))).keyPackage));
    const member = device('member');
    const joiner = { device: member, invite: await generateKeyPackage(member) };
    const removable = devices.map((d) => d.signaturePublicKey);
    for (const { label, provider } of providers) {
      console.log(`  ${members} members on ${label}`);
      results.push(summarise(label, members, await commits(provider, { keyPackages, removable, extras, joiner, repeats })));
    }
  }
  installCryptoProvider(undefined);
  return results;
}

/** Noise transport frames: a short message, a typical one, and a full 16 KiB chunk. */
const FRAME_SIZES = [256, 1024, 16384];

async function channel({ seconds }) {
  const results = [];
  for (const { label, provider } of PROVIDERS.filter((p) => p.provider !== undefined)) {
    installCryptoProvider(provider);
    const server = generateStaticKeyPair();
    const handshake = () => {
      const initiator = new NoiseNXInitiator();
      const responder = new NoiseNXResponder({ staticKey: server });
      responder.readMessage1(initiator.writeMessage1());
      const { message, result } = responder.writeMessage2();
      return { client: initiator.readMessage2(message).result, server: result };
    };
    const perSecond = (work) => {
      let n = 0;
      const started = performance.now();
      while (performance.now() - started < seconds * 1000) {
        work();
        n++;
      }
      return round1((n / (performance.now() - started)) * 1000);
    };
    const { client, server: peer } = handshake();
    const frames = {};
    for (const size of FRAME_SIZES) {
      const frame = new Uint8Array(size).fill(7);
      frames[size] = perSecond(() => peer.receive.decrypt(client.send.encrypt(frame)));
    }
    results.push({ provider: label, handshakesPerSecond: perSecond(handshake), framesPerSecond: frames });
  }
  installCryptoProvider(undefined);
  return results;
}

const ratio = (a, b) => Number((a / b).toFixed(2));

export async function run({ quick }) {
  const options = quick
    ? { count: 60, rounds: 1, sizes: [100], repeats: 3, seconds: 0.5 }
    : {
        count: positive('BENCH_MLS_MESSAGES', 300),
        rounds: positive('BENCH_MLS_ROUNDS', 3),
        sizes: (process.env.BENCH_MLS_SIZES ?? '100,500').split(',').map(Number),
        repeats: positive('BENCH_MLS_REPEATS', 6),
        seconds: 2,
      };
  console.log('MLS application messages (2-member group, encrypt + process through the facade)');
  const messageRows = await messages(options);
  const [native, reference] = messageRows;
  console.log('\n| provider                   | messages | messages/s | CPU ms/message | × ts-mls default |');
  console.log('|----------------------------|---------:|-----------:|---------------:|-----------------:|');
  for (const row of messageRows) {
    console.log(`| ${row.provider.padEnd(26)} | ${String(row.messages).padStart(8)} | ${row.perSecond.toFixed(1).padStart(10)} | ${row.cpuMsPerMessage.toFixed(3).padStart(14)} | ${ratio(row.perSecond, reference.perSecond).toFixed(2).padStart(16)} |`);
  }
  const messageRatio = ratio(native.perSecond, reference.perSecond);
  const messageCpuRatio = ratio(reference.cpuMsPerMessage, native.cpuMsPerMessage);
  console.log(`\nnode:crypto / ts-mls default: ${messageRatio}× messages/s, ${messageCpuRatio}× less CPU per message (goal ≥ 5×)`);

  console.log('\nCommits (ms wall / ms CPU)');
  const commitResults = await commitTimes({ ...options, providers: PROVIDERS.slice(0, 2) });
  console.log('\n| members | provider                   | commit      | state KiB | remove one     | add one        | member processes removal |');
  console.log('|--------:|----------------------------|-------------|----------:|---------------:|---------------:|-------------------------:|');
  const cell = ({ ms, cpuMs }) => `${ms.toFixed(0).padStart(5)} / ${cpuMs.toFixed(0).padStart(5)}`;
  for (const { rows } of commitResults) {
    for (const row of rows) {
      console.log(`| ${String(row.members).padStart(7)} | ${row.provider.padEnd(26)} | ${row.stage.padEnd(11)} | ${String(row.stateKiB).padStart(9)} | ${cell(row.remove).padStart(14)} | ${cell(row.add).padStart(14)} | ${cell(row.processRemove).padStart(24)} |`);
    }
  }
  for (const members of options.sizes) {
    const [ours, theirs] = commitResults.filter((r) => r.members === members).map((r) => r.rows.at(-1));
    console.log(`${members} members, ${ours.stage}: ts-mls default / node:crypto: remove ${ratio(theirs.remove.ms, ours.remove.ms)}×, add ${ratio(theirs.add.ms, ours.add.ms)}×`);
  }
  const largest = commitResults.filter((r) => r.provider === PROVIDERS[0].label).at(-1);
  const slowest = (key) => Math.max(...largest.rows.flatMap((row) => [row.remove[key], row.add[key]]));
  console.log(`slowest commit at ${largest.members} members on node:crypto: ${slowest('ms').toFixed(0)} ms wall, ${slowest('cpuMs').toFixed(0)} ms CPU (goal at 500: under 300 ms)`);

  console.log('\nNoise channel (one process plays both ends)');
  const channelRows = await channel(options);
  const frameHeads = FRAME_SIZES.map((size) => `${size} B frames/s`.padStart(17));
  console.log(`\n| provider        | handshakes/s | ${frameHeads.join(' | ')} |`);
  console.log(`|-----------------|-------------:|${frameHeads.map(() => '------------------:').join('|')}|`);
  for (const row of channelRows) {
    const frames = FRAME_SIZES.map((size) => row.framesPerSecond[size].toFixed(0).padStart(17));
    console.log(`| ${row.provider.padEnd(15)} | ${row.handshakesPerSecond.toFixed(0).padStart(12)} | ${frames.join(' | ')} |`);
  }
  const [nodeChannel, nobleChannel] = channelRows;
  const channelRatios = {
    handshakes: ratio(nodeChannel.handshakesPerSecond, nobleChannel.handshakesPerSecond),
    frames: Object.fromEntries(FRAME_SIZES.map((size) => [size, ratio(nodeChannel.framesPerSecond[size], nobleChannel.framesPerSecond[size])])),
  };
  console.log(`\nnode:crypto / noble: handshakes ${channelRatios.handshakes}×, frames ${FRAME_SIZES.map((size) => `${size} B ${channelRatios.frames[size]}×`).join(', ')}`);

  return {
    messages: { rows: messageRows, nativeOverDefault: { perSecond: messageRatio, cpu: messageCpuRatio } },
    commits: commitResults,
    channel: { rows: channelRows, nativeOverNoble: channelRatios },
  };
}
