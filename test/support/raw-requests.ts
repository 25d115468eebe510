/**
 * Typed requests over a hand-driven channel (raw-channel.ts), for tests that act as a hostile
 * client: no SDK between the test and the wire, so nothing is retried, solved or dropped unless
 * the test does it. A request on a channel the server closed resolves to the close, not a hang.
 */
import { channelAuthMessage, powBinding, sign, solvePow } from '@parley/crypto';
import { encodeRequest, parseResponse, type OpName, type RequestOf, type ResponseOf, type WireError } from '@parley/protocol';
import type { ProfileStore } from '@parley/client';
import { openRawChannel, type RawChannel } from './raw-channel.js';

export type RawResult<O extends OpName> =
  | { ok: true; body: ResponseOf<O> }
  | { ok: false; error: WireError }
  /** The server closed the channel before answering. */
  | { ok: false; closed: number };

export interface RawSession {
  raw: RawChannel;
  /** The close code once the server closed the channel, else undefined. */
  readonly closedWith: number | undefined;
  request<O extends OpName>(op: O, body: RequestOf<O>): Promise<RawResult<O>>;
  close(): void;
}

export async function openRawSession(url: string, localAddress: string): Promise<RawSession> {
  const raw = await openRawChannel(url, 1, { localAddress });
  let closedWith: number | undefined;
  const closed = raw.closed.then(({ code }) => (closedWith = code));
  let nextId = 1;
  return {
    raw,
    get closedWith() {
      return closedWith;
    },
    async request<O extends OpName>(op: O, body: RequestOf<O>): Promise<RawResult<O>> {
      if (closedWith !== undefined) return { ok: false, closed: closedWith };
      const id = nextId++;
      raw.send(encodeRequest(op, id, body));
      for (;;) {
        const message = await Promise.race([raw.next(10_000), closed.then((code) => ({ closedCode: code }))]);
        if ('closedCode' in message) return { ok: false, closed: message.closedCode };
        if (message.type !== 'reply' || message.id !== id) continue; // events, e.g. presence
        return message.ok ? { ok: true, body: parseResponse(op, message.body) } : { ok: false, error: message.error };
      }
    },
    close: () => raw.ws.close(),
  };
}

/** A raw session signed in as the device saved in `profile` (device.auth over this channel). */
export async function openDeviceSession(url: string, profile: ProfileStore, localAddress: string): Promise<RawSession> {
  const { account } = await profile.load();
  const secrets = await profile.loadSecrets();
  if (!account || !secrets) throw new Error('the profile is not logged in');
  const session = await openRawSession(url, localAddress);
  const signature = sign(secrets.devicePrivateKey, channelAuthMessage(session.raw.channel.handshakeHash, account.username, account.deviceId));
  const reply = await session.request('device.auth', { username: account.username, deviceId: account.deviceId, signature });
  if (!reply.ok) throw new Error(`device.auth failed: ${JSON.stringify(reply)}`);
  return session;
}

type PowOp = 'login.start' | 'recover.start' | 'password.verify.start';

/**
 * Sends a proof-gated start, and when the server answers POW_REQUIRED, solves the challenge it
 * sent (bound to this request) and sends it again: what a determined attacker does.
 */
export async function requestSolving<O extends PowOp>(session: RawSession, op: O, username: string, body: RequestOf<O>): Promise<RawResult<O> & { difficulty: number }> {
  let difficulty = 0;
  for (let round = 0; round < 4; round++) {
    const reply = await session.request(op, body);
    if (reply.ok || !('error' in reply) || reply.error.code !== 'POW_REQUIRED' || !reply.error.pow) return { ...reply, difficulty };
    const challenge = reply.error.pow;
    difficulty = challenge.difficulty;
    const counter = await solvePow(challenge, powBinding(op, username, body.request));
    body = { ...body, pow: { ...challenge, counter } };
  }
  throw new Error(`${op}: proof of work refused four times`);
}
