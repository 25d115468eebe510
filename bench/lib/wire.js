/**
 * @module The two kinds of connection a load generator opens, with one interface:
 * `ParleyConnection` speaks Parley's real protocol (a Noise NX channel in a WebSocket, sealed CBOR
 * envelopes, device authentication, OPAQUE login, MLS messages), built on the pieces of
 * @parley/crypto and @parley/protocol that clients share; `BaselineConnection` speaks the
 * baseline relay's plain frames (./baseline.js) with the sizes and pattern Parley's frames had.
 *
 * Both: `open(url, { localAddress, sizes })`, `authenticate(account, id)`, `send(conversation)`
 * (resolves on the server's reply), `onDelivery(handler)` (handler gets an `ack` function),
 * `login(account)`, `close()`; and `sizes`, the byte size of each frame kind seen.
 */
import { channelAuthMessage, NoiseNXInitiator, opaqueClient, sign } from '@parley/crypto';
import { decodeServerMessage, encodeCbor, encodeRequest, fragment, fromBase64Url, PROTOCOL_VERSION, Reassembler } from '@parley/protocol';
import { WebSocket } from 'ws';
import { BROADCAST, FrameType, frame, frameType } from './baseline.js';

const ANSWER_TIMEOUT_MS = 30_000;

function openSocket(url, localAddress) {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`, { localAddress, perMessageDeflate: false });
  ws.binaryType = 'nodebuffer';
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function nextFrame(ws) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer from the server')), ANSWER_TIMEOUT_MS);
    ws.once('message', (data) => {
      clearTimeout(timer);
      resolve(new Uint8Array(data));
    });
  });
}

/** Remembers each frame kind's size the first time one is seen (they barely vary). */
function note(sizes, kind, bytes) {
  sizes[kind] ??= bytes;
}

export class ParleyConnection {
  static async open(url, { localAddress } = {}) {
    const ws = await openSocket(url, localAddress);
    const initiator = new NoiseNXInitiator();
    const hello = initiator.writeMessage1(encodeCbor({ v: PROTOCOL_VERSION }));
    const answer = nextFrame(ws);
    ws.send(hello);
    const reply = await answer;
    const { result } = initiator.readMessage2(reply);
    return new ParleyConnection(ws, result, { hello: hello.length, 'hello reply': reply.length });
  }

  #ws;
  #channel;
  #nextId = 1;
  #pending = new Map();
  #reassembler = new Reassembler();
  #onDelivery = () => {};

  constructor(ws, channel, sizes) {
    this.#ws = ws;
    this.#channel = channel;
    this.sizes = sizes;
    ws.on('message', (data) => this.#receive(data));
    ws.on('close', () => this.#failAll(new Error('connection closed')));
    ws.on('error', () => {});
  }

  request(op, body) {
    if (this.#ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error('connection closed'));
    const id = this.#nextId++;
    const frames = fragment(encodeRequest(op, id, body)).map((chunk) => this.#channel.send.encrypt(chunk));
    note(this.sizes, op, frames[0].length);
    for (const sealed of frames) this.#ws.send(sealed);
    return new Promise((resolve, reject) => this.#pending.set(id, { op, resolve, reject }));
  }

  /** Signs in as a registered device (DESIGN §5: a signature over the channel's handshake hash). */
  authenticate(account) {
    const { username, deviceId } = account;
    const signature = sign(fromBase64Url(account.devicePrivateKey), channelAuthMessage(this.#channel.handshakeHash, username, deviceId));
    return this.request('device.auth', { username, deviceId, signature });
  }

  /** Sends the conversation's MLS application message into its group. */
  send(conversation) {
    return this.request('group.send', { groupId: conversation.groupId, epoch: conversation.epoch, message: conversation.message });
  }

  /** `handler({ ack })` for every message pushed; `ack()` advances this device's cursor past it. */
  onDelivery(handler) {
    this.#onDelivery = handler;
  }

  /** A password login with OPAQUE (RFC 9807 §6): the client stretches the password with Argon2id. */
  async login(account, password) {
    const start = opaqueClient.startLogin(password);
    const { response } = await this.request('login.start', { username: account.username, request: start.request });
    const { finish } = opaqueClient.finishLogin(start.state, password, account.username, response);
    await this.request('login.finish', { finish });
  }

  close() {
    this.#ws.close();
  }

  #receive(data) {
    const sealed = new Uint8Array(data);
    const envelope = this.#reassembler.push(this.#channel.receive.decrypt(sealed));
    if (!envelope) return;
    const message = decodeServerMessage(envelope);
    if (message.type === 'event') {
      if (message.event.kind !== 'message') return;
      note(this.sizes, 'push', sealed.length);
      const { groupId, seq } = message.event.body;
      this.#onDelivery({ ack: () => this.request('sync.ack', { mailbox: [], cursors: [{ groupId, seq }] }) });
      return;
    }
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    this.#pending.delete(message.id);
    note(this.sizes, `${pending.op} reply`, sealed.length);
    if (message.ok) pending.resolve(message.body);
    else pending.reject(new Error(`${pending.op}: ${message.error.code}: ${message.error.message}`));
  }

  #failAll(error) {
    for (const { reject } of this.#pending.values()) reject(error);
    this.#pending.clear();
  }
}

/**
 * The baseline's client. Every request names the size of the reply it wants, so the relay answers
 * each with the size Parley's reply had; pushes carry the size Parley's push had.
 */
export class BaselineConnection {
  static async open(url, { localAddress, sizes }) {
    const ws = await openSocket(url, localAddress);
    const answer = nextFrame(ws);
    ws.send(frame(FrameType.HELLO, { size: sizes.hello, replySize: sizes['hello reply'] }));
    await answer;
    return new BaselineConnection(ws, sizes);
  }

  #ws;
  #replies = [];
  #onDelivery = () => {};

  constructor(ws, sizes) {
    this.#ws = ws;
    this.sizes = sizes;
    ws.on('message', (data) => this.#receive(data));
    ws.on('close', () => {
      for (const { reject } of this.#replies.splice(0)) reject(new Error('connection closed'));
    });
    ws.on('error', () => {});
  }

  /** Registers this connection under `id` (the index of the conversation end it plays). */
  authenticate(_account, id) {
    return this.#request(FrameType.AUTH, 'device.auth', { target: id });
  }

  send(conversation) {
    return this.#request(FrameType.SEND, 'group.send', { target: conversation.peerId ?? BROADCAST, pushSize: this.sizes.push });
  }

  onDelivery(handler) {
    this.#onDelivery = handler;
  }

  async login() {
    await this.#request(FrameType.REQUEST, 'login.start');
    await this.#request(FrameType.REQUEST, 'login.finish');
  }

  close() {
    this.#ws.close();
  }

  #request(type, op, fields = {}) {
    if (this.#ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error('connection closed'));
    this.#ws.send(frame(type, { size: this.sizes[op], replySize: this.sizes[`${op} reply`], ...fields }));
    return new Promise((resolve, reject) => this.#replies.push({ resolve, reject }));
  }

  #receive(data) {
    if (frameType(data) === FrameType.PUSH) {
      this.#onDelivery({ ack: () => this.#request(FrameType.REQUEST, 'sync.ack') });
      return;
    }
    this.#replies.shift()?.resolve();
  }
}
