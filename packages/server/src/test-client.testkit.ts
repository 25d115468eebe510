/**
 * A small protocol client for the server's own end-to-end tests: a real Noise NX channel over a
 * real WebSocket, OPAQUE registration and login, and typed requests. The server package may not
 * import @parley/client (DESIGN §3), so this speaks the wire protocol directly.
 */
import {
  channelAuthMessage,
  deviceCertificateMessage,
  generateSigningKeyPair,
  NoiseNXInitiator,
  opaqueClient,
  sign,
  type HandshakeResult,
  type MlsMember,
  type SigningKeyPair,
} from '@parley/crypto';
import {
  decodeServerMessage,
  encodeCbor,
  encodeRequest,
  fragment,
  parseResponse,
  ParleyError,
  Reassembler,
  type DeviceCertificate,
  type Event,
  type EventKind,
  type EventOf,
  type OpName,
  type RequestOf,
  type ResponseOf,
} from '@parley/protocol';
import { WebSocket } from 'ws';

export const PASSWORD = 'a password for tests';

/** A user's device as the tests know it: its keys and its MLS signing identity. */
export interface TestDevice {
  username: string;
  deviceId: string;
  identity: SigningKeyPair;
  keys: SigningKeyPair;
  member: MlsMember;
}

type Pending = { op: OpName; resolve: (body: unknown) => void; reject: (error: unknown) => void };

export class TestClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly events: Event[] = [];
  private readonly waiters: { kind: EventKind; resolve: (event: Event) => void }[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(
    private readonly ws: WebSocket,
    private readonly channel: HandshakeResult,
    queued: Uint8Array[],
  ) {
    const reassembler = new Reassembler();
    const onFrame = (frame: Uint8Array) => {
      const envelope = reassembler.push(this.channel.receive.decrypt(frame));
      if (envelope) this.dispatch(envelope);
    };
    ws.removeAllListeners('message');
    ws.on('message', (data: Buffer) => onFrame(new Uint8Array(data)));
    for (const frame of queued) onFrame(frame);
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async connect(url: string): Promise<TestClient> {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + '/v1/ws');
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const frames: Uint8Array[] = [];
    const arrived = new Promise<void>((resolve) => {
      ws.on('message', (data: Buffer) => {
        frames.push(new Uint8Array(data));
        resolve();
      });
    });
    const initiator = new NoiseNXInitiator();
    ws.send(initiator.writeMessage1(encodeCbor({ v: 1 })));
    await arrived;
    const { result } = initiator.readMessage2(frames.shift() as Uint8Array);
    return new TestClient(ws, result, frames);
  }

  get handshakeHash(): Uint8Array {
    return this.channel.handshakeHash;
  }

  request<O extends OpName>(op: O, body: RequestOf<O>): Promise<ResponseOf<O>> {
    const id = this.nextId++;
    for (const chunk of fragment(encodeRequest(op, id, body))) this.ws.send(this.channel.send.encrypt(chunk));
    return new Promise((resolve, reject) => this.pending.set(id, { op, resolve: resolve as (body: unknown) => void, reject }));
  }

  /** The oldest event of `kind` not yet taken, waiting for one if none came. */
  nextEvent<K extends EventKind>(kind: K, timeoutMs = 5_000): Promise<EventOf<K>> {
    const index = this.events.findIndex((event) => event.kind === kind);
    if (index >= 0) return Promise.resolve(this.events.splice(index, 1)[0]?.body as EventOf<K>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${kind} event within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        kind,
        resolve: (event) => {
          clearTimeout(timer);
          resolve(event.body as EventOf<K>);
        },
      });
    });
  }

  /** Events of `kind` received and not taken yet (taking them). */
  takeEvents<K extends EventKind>(kind: K): EventOf<K>[] {
    const taken = this.events.filter((event) => event.kind === kind);
    this.events.splice(0, this.events.length, ...this.events.filter((event) => event.kind !== kind));
    return taken.map((event) => event.body as EventOf<K>);
  }

  close(): void {
    this.ws.close();
  }

  private dispatch(envelope: Uint8Array): void {
    const message = decodeServerMessage(envelope);
    if (message.type === 'event') {
      const waiter = this.waiters.findIndex((w) => w.kind === message.event.kind);
      if (waiter >= 0) this.waiters.splice(waiter, 1)[0]?.resolve(message.event);
      else this.events.push(message.event);
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    if (message.ok) pending.resolve(parseResponse(pending.op, message.body));
    else pending.reject(ParleyError.fromWire(message.error));
  }
}

const utf8 = (text: string) => new TextEncoder().encode(text);

function newDevice(username: string, identity: SigningKeyPair, deviceId: string, keys: SigningKeyPair = generateSigningKeyPair()): TestDevice {
  return {
    username,
    deviceId,
    identity,
    keys,
    member: { identity: utf8(`${username}/${deviceId}`), signaturePrivateKey: keys.privateKey, signaturePublicKey: keys.publicKey },
  };
}

/** The device certificate `register` and `addDevice` enrol for `device` (signed by its identity key). */
export function certificate(device: TestDevice): DeviceCertificate {
  const name = `${device.deviceId} name`;
  const signature = sign(device.identity.privateKey, deviceCertificateMessage({ username: device.username, deviceId: device.deviceId, name, publicKey: device.keys.publicKey }));
  return { deviceId: device.deviceId, name, publicKey: device.keys.publicKey, signature };
}

/** Registers `username` with its first device; the returned client is signed in as it. */
export async function register(url: string, username: string): Promise<{ client: TestClient; device: TestDevice }> {
  const client = await TestClient.connect(url);
  const start = opaqueClient.startRegistration(PASSWORD);
  const { response } = await client.request('register.start', { username, request: start.request });
  const { record } = opaqueClient.finishRegistration(start.state, PASSWORD, username, response);
  const device = newDevice(username, generateSigningKeyPair(), `${username}-device-1`);
  await client.request('register.finish', {
    record,
    identityKey: device.identity.publicKey,
    recoveryKey: generateSigningKeyPair().publicKey,
    device: certificate(device),
    // The server never opens backups; any bytes do for these tests.
    backup: utf8('sealed backup'),
    recoveryBackup: utf8('sealed recovery backup'),
  });
  return { client, device };
}

/** Logs in with the password and enrols a further device of the same account, with new keys or the given ones (an attacker may reuse a key). */
export async function addDevice(url: string, first: TestDevice, deviceId: string, keys?: SigningKeyPair): Promise<{ client: TestClient; device: TestDevice }> {
  const client = await TestClient.connect(url);
  const start = opaqueClient.startLogin(PASSWORD);
  const { response } = await client.request('login.start', { username: first.username, request: start.request });
  const { finish } = opaqueClient.finishLogin(start.state, PASSWORD, first.username, response);
  await client.request('login.finish', { finish });
  const device = newDevice(first.username, first.identity, deviceId, keys);
  await client.request('device.add', { device: certificate(device) });
  return { client, device };
}

/** A new connection signed in as a known device (signing the channel's handshake hash). */
export async function reconnect(url: string, device: TestDevice): Promise<TestClient> {
  const client = await TestClient.connect(url);
  const signature = sign(device.keys.privateKey, channelAuthMessage(client.handshakeHash, device.username, device.deviceId));
  await client.request('device.auth', { username: device.username, deviceId: device.deviceId, signature });
  return client;
}
