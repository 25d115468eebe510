/**
 * A seeded frame fuzzer for a live server (DESIGN §10: "bad input gets an error reply, never a
 * crash"). Several connections each send one message at a time and wait for its answer: a reply,
 * or the connection closing. A message nobody answers within the timeout is a failure.
 *
 * Messages: well-formed requests, the same with random mutations (bit flips, byte changes,
 * insertions, deletions, truncation, splices), random CBOR values, random bytes, bad fragment
 * flags and split envelopes, all sealed in the channel; plus unsealed garbage (the channel must
 * close) and garbage handshakes on fresh connections.
 */
import { NoiseNXInitiator, type HandshakeResult } from '@parley/crypto';
import { decodeServerMessage, encodeCbor } from '@parley/protocol';
import { WebSocket } from 'ws';

/** mulberry32: a small, fast, seeded PRNG, so a failing run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = ReturnType<typeof prng>;
const int = (random: Random, max: number) => Math.floor(random() * max);
const pick = <T>(random: Random, items: readonly T[]): T => items[int(random, items.length)] as T;
const bytes = (random: Random, length: number) => Uint8Array.from({ length }, () => int(random, 256));

const USERNAMES = ['alice', 'bob', 'fuzz-user', 'x'.repeat(32), 'ab', 'ALICE', 'a b', ''];
const OPS = ['ping', 'pow.challenge', 'register.start', 'register.finish', 'login.start', 'login.finish', 'device.auth', 'device.add', 'account.whoami', 'keys.claim', 'group.send', 'sync.fetch', 'sync.ack', 'presence.list', 'recover.start', 'no.such.op'];

function validBody(random: Random, op: string): unknown {
  switch (op) {
    case 'pow.challenge':
      return { context: pick(random, ['register', 'login']) };
    case 'register.start':
    case 'login.start':
    case 'recover.start':
      return { username: pick(random, USERNAMES.slice(0, 3)), request: bytes(random, pick(random, [32, 64, 96])) };
    case 'login.finish':
      return { finish: bytes(random, 64) };
    case 'register.finish':
      return { record: bytes(random, 192), identityKey: bytes(random, 32), recoveryKey: bytes(random, 32), device: { deviceId: 'fuzzdevice01', name: 'fuzz', publicKey: bytes(random, 32), signature: bytes(random, 64) }, backup: bytes(random, 80), recoveryBackup: bytes(random, 80) };
    case 'device.auth':
      return { username: 'alice', deviceId: 'fuzzdevice01', signature: bytes(random, 64) };
    case 'keys.claim':
      return { username: 'bob' };
    case 'group.send':
      return { groupId: bytes(random, 16), epoch: int(random, 5), message: bytes(random, 100) };
    case 'sync.fetch':
      return { limit: int(random, 2000) };
    case 'sync.ack':
      return { mailbox: [int(random, 10)], cursors: [] };
    default:
      return {};
  }
}

function randomValue(random: Random, depth = 0): unknown {
  const kind = int(random, depth > 3 ? 6 : 9);
  switch (kind) {
    case 0:
      return int(random, 2 ** 31) * (random() < 0.1 ? -1 : 1);
    case 1:
      return String.fromCharCode(...Array.from({ length: int(random, 20) }, () => 32 + int(random, 95)));
    case 2:
      return bytes(random, int(random, 64));
    case 3:
      return random() < 0.5;
    case 4:
      return null;
    case 5:
      return random() * 1e6;
    case 6:
      return Array.from({ length: int(random, 5) }, () => randomValue(random, depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: int(random, 5) }, () => [pick(random, ['op', 'id', 'body', 'username', 'request', 'pow', 'x', 'limit']), randomValue(random, depth + 1)]));
  }
}

function request(random: Random): Uint8Array {
  const op = pick(random, OPS);
  return encodeCbor({ op, id: int(random, 2 ** 32), body: validBody(random, op) });
}

function mutate(random: Random, input: Uint8Array): Uint8Array {
  let data = Array.from(input);
  for (let n = 1 + int(random, 4); n > 0; n--) {
    const at = int(random, Math.max(1, data.length));
    switch (int(random, 6)) {
      case 0:
        data[at] = (data[at] ?? 0) ^ (1 << int(random, 8));
        break;
      case 1:
        data[at] = int(random, 256);
        break;
      case 2:
        data.splice(at, 0, ...bytes(random, 1 + int(random, 8)));
        break;
      case 3:
        data.splice(at, 1 + int(random, 8));
        break;
      case 4:
        data = data.slice(0, at);
        break;
      default:
        data.splice(at, 0, ...data.slice(int(random, data.length), int(random, data.length)));
    }
  }
  return Uint8Array.from(data);
}

const withFlag = (flag: number, body: Uint8Array) => {
  const chunk = new Uint8Array(body.length + 1);
  chunk[0] = flag;
  chunk.set(body, 1);
  return chunk;
};

type Message =
  /** Sealed chunks (flag byte included): the server answers once, after the last. */
  | { kind: string; sealed: Uint8Array[] }
  /** Bytes that are not a sealed frame: the server must close the channel. */
  | { kind: 'unsealed'; raw: Uint8Array };

function message(random: Random): Message {
  const roll = random();
  if (roll < 0.2) return { kind: 'valid', sealed: [withFlag(0, request(random))] };
  if (roll < 0.55) return { kind: 'mutated', sealed: [withFlag(0, mutate(random, request(random)))] };
  if (roll < 0.7) return { kind: 'random-cbor', sealed: [withFlag(0, encodeCbor(randomValue(random)))] };
  if (roll < 0.85) return { kind: 'random-bytes', sealed: [withFlag(0, bytes(random, int(random, 300)))] };
  if (roll < 0.9) return { kind: 'bad-flag', sealed: [withFlag(2 + int(random, 254), request(random))] };
  if (roll < 0.99) {
    const envelope = random() < 0.5 ? request(random) : mutate(random, request(random));
    const cut = int(random, envelope.length + 1);
    return { kind: 'fragmented', sealed: [withFlag(1, envelope.subarray(0, cut)), withFlag(0, envelope.subarray(cut))] };
  }
  return { kind: 'unsealed', raw: bytes(random, 1 + int(random, 100)) };
}

interface Channel {
  ws: WebSocket;
  channel: HandshakeResult;
  /** Resolves with 'reply' for the next whole server message, 'closed' when the socket closes first. */
  next(timeoutMs: number): Promise<'reply' | 'closed' | 'timeout'>;
  closeCode(): number | undefined;
  errorCodes: string[];
}

function openWebSocket(url: string, localAddress: string | undefined): Promise<WebSocket> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`, { perMessageDeflate: false, ...(localAddress ? { localAddress } : {}) });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function listen(ws: WebSocket) {
  const frames: Uint8Array[] = [];
  let closed: number | undefined;
  let wake: (() => void) | undefined;
  ws.on('message', (data: Buffer) => {
    frames.push(new Uint8Array(data));
    wake?.();
  });
  ws.on('close', (code) => {
    closed = code;
    wake?.();
  });
  ws.on('error', () => undefined);
  const take = async (timeoutMs: number): Promise<Uint8Array | 'closed' | 'timeout'> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = frames.shift();
      if (frame) return frame;
      if (closed !== undefined) return 'closed';
      const left = deadline - Date.now();
      if (left <= 0) return 'timeout';
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  };
  return { take, closeCode: () => closed };
}

async function openChannel(url: string, localAddress: string | undefined): Promise<Channel> {
  const ws = await openWebSocket(url, localAddress);
  const { take, closeCode } = listen(ws);
  const initiator = new NoiseNXInitiator();
  ws.send(initiator.writeMessage1(encodeCbor({ v: 1 })));
  const first = await take(10_000);
  if (!(first instanceof Uint8Array)) throw new Error(`no handshake answer (${first})`);
  const { result } = initiator.readMessage2(first);
  const errorCodes: string[] = [];
  return {
    ws,
    channel: result,
    closeCode,
    errorCodes,
    next: async (timeoutMs) => {
      for (;;) {
        const frame = await take(timeoutMs);
        if (!(frame instanceof Uint8Array)) return frame;
        const chunk = result.receive.decrypt(frame);
        if (chunk[0] !== 0) continue; // more of a fragmented reply follows
        const decoded = decodeServerMessage(chunk.subarray(1));
        if (decoded.type === 'reply' && !decoded.ok) errorCodes.push(decoded.error.code);
        return 'reply';
      }
    },
  };
}

export interface FuzzOptions {
  url: string;
  /** Messages to send in all (a split envelope counts its frames). */
  frames: number;
  concurrency: number;
  seed: number;
  /** Source address of the fuzzing connections (any of 127.0.0.0/8). */
  localAddress?: string;
  /** How long a message may go unanswered before the run fails. */
  answerTimeoutMs?: number;
  /** Called now and then with the frames sent so far. */
  onProgress?: (frames: number) => void;
}

export interface FuzzResult {
  frames: number;
  /** Messages answered with a reply. */
  answered: number;
  /** Messages answered by the connection closing. */
  closedOn: number;
  /** Messages neither answered nor closed on within the timeout: must be 0. */
  unanswered: number;
  /** The kinds of the unanswered messages, with a hex sample of each. */
  unansweredKinds: Record<string, string>;
  connections: number;
  closeCodes: Record<string, number>;
  errorCodes: Record<string, number>;
  kinds: Record<string, number>;
  seconds: number;
}

const count = (tally: Record<string, number>, key: string | number) => {
  tally[key] = (tally[key] ?? 0) + 1;
};

export async function fuzz(options: FuzzOptions): Promise<FuzzResult> {
  const started = performance.now();
  const timeout = options.answerTimeoutMs ?? 10_000;
  const result: FuzzResult = { frames: 0, answered: 0, closedOn: 0, unanswered: 0, unansweredKinds: {}, connections: 0, closeCodes: {}, errorCodes: {}, kinds: {}, seconds: 0 };
  let lastReport = 0;
  const worker = async (index: number) => {
    const random = prng(options.seed * 1000 + index);
    let channel: Channel | undefined;
    const retire = () => {
      if (!channel) return;
      for (const code of channel.errorCodes) count(result.errorCodes, code);
      count(result.closeCodes, channel.closeCode() ?? 'open');
      channel.ws.terminate();
      channel = undefined;
    };
    while (result.frames < options.frames) {
      // One fresh connection in fifty opens with a garbage handshake instead.
      if (!channel && random() < 0.02) {
        const ws = await openWebSocket(options.url, options.localAddress);
        const { take, closeCode } = listen(ws);
        result.connections++;
        result.frames++;
        count(result.kinds, 'bad-handshake');
        ws.send(random() < 0.5 ? bytes(random, int(random, 200)) : mutate(random, new NoiseNXInitiator().writeMessage1(encodeCbor({ v: 1 }))));
        const answer = await take(timeout);
        if (answer === 'timeout') result.unanswered++;
        else if (answer === 'closed') result.closedOn++;
        else result.answered++; // a mutated hello that still parsed: the server answered message 2
        count(result.closeCodes, closeCode() ?? 'open');
        ws.terminate();
        continue;
      }
      if (!channel) {
        channel = await openChannel(options.url, options.localAddress);
        result.connections++;
      }
      const open: Channel = channel;
      const next = message(random);
      count(result.kinds, next.kind);
      if ('raw' in next) {
        open.ws.send(next.raw);
        result.frames++;
      } else {
        for (const chunk of next.sealed) open.ws.send(open.channel.send.encrypt(chunk));
        result.frames += next.sealed.length;
      }
      const answer = await open.next(timeout);
      if (answer === 'reply') result.answered++;
      else if (answer === 'closed') {
        result.closedOn++;
        retire();
      } else {
        result.unanswered++;
        result.unansweredKinds[next.kind] ??= Buffer.from('raw' in next ? next.raw : (next.sealed[0] ?? [])).toString('hex').slice(0, 400);
        retire();
      }
      if (options.onProgress && result.frames - lastReport >= 10_000) {
        lastReport = result.frames;
        options.onProgress(result.frames);
      }
    }
    retire();
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, index) => worker(index)));
  result.seconds = (performance.now() - started) / 1000;
  return result;
}
