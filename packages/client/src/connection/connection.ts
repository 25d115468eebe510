/**
 * @module The client end of the secure channel (DESIGN §4): Noise NX handshake with the server's
 * key checked before anything is sent, then sealed requests matched to replies by id.
 */
import { NoiseNXInitiator, type HandshakeResult } from '@parley/crypto';
import {
  CloseCode,
  decodeCbor,
  decodeServerMessage,
  encodeCbor,
  encodeRequest,
  ErrorCode,
  fragment,
  parseResponse,
  ParleyError,
  PROTOCOL_VERSION,
  Reassembler,
  serverHelloSchema,
  isErrorCode,
  type Event,
  type OpName,
  type RequestOf,
  type ResponseOf,
} from '@parley/protocol';
import type { SocketFactory, SocketLike } from './socket.js';

export interface ConnectOptions {
  socketFactory: SocketFactory;
  /**
   * Called with the server's static public key once the handshake proves the server holds it,
   * before any request is sent. Throw to refuse the server (e.g. SERVER_KEY_CHANGED).
   */
  verifyServerKey(publicKey: Uint8Array): void | Promise<void>;
  timeoutMs?: number;
}

interface Pending {
  op: OpName;
  resolve(body: unknown): void;
  reject(error: ParleyError): void;
  timer: ReturnType<typeof setTimeout>;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** RATE_LIMITED answers waited out per request, and the longest wait taken (longer ones go to the caller). */
const MAX_RATE_LIMIT_RETRIES = 8;
const MAX_RATE_LIMIT_WAIT_MS = 5_000;

const closeCodeErrors: Partial<Record<number, ErrorCode>> = {
  [CloseCode.SESSION_REVOKED]: ErrorCode.DEVICE_REVOKED,
  [CloseCode.RATE_LIMITED]: ErrorCode.RATE_LIMITED,
  [CloseCode.BANNED]: ErrorCode.BANNED,
  [CloseCode.SERVER_SHUTDOWN]: ErrorCode.UNAVAILABLE,
  [CloseCode.AUTH_TIMEOUT]: ErrorCode.TIMEOUT,
};

function toBytes(data: unknown): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new ParleyError(ErrorCode.BAD_FRAME, 'the server sent a non-binary frame');
}

/**
 * Why the WebSocket could not open. A server refuses a banned address or one with too many
 * connections with 403 or 429 (DESIGN §10); Node's `ws` names the status, browsers do not.
 */
function connectError(url: string, event: unknown): ParleyError {
  const message = typeof event === 'object' && event !== null && 'message' in event ? String(event.message) : '';
  const status = /Unexpected server response: (\d{3})/.exec(message)?.[1];
  if (status === '403') return new ParleyError(ErrorCode.BANNED, `${url} refused the connection: this address is banned for a while after repeated abuse`);
  if (status === '429') return new ParleyError(ErrorCode.RATE_LIMITED, `${url} refused the connection: too many connections from this address`);
  return new ParleyError(ErrorCode.CONNECTION_FAILED, `cannot connect to ${url}`);
}

export class Connection {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly reassembler = new Reassembler();
  private readonly eventListeners = new Set<(event: Event) => void>();
  private readonly closeListeners = new Set<(error: ParleyError) => void>();
  private readonly requestListeners = new Set<(op: OpName) => void>();
  private closedWith: ParleyError | undefined;

  private constructor(
    private readonly socket: SocketLike,
    private readonly channel: HandshakeResult,
    readonly serverKey: Uint8Array,
    private readonly timeoutMs: number,
  ) {}

  /** Open a WebSocket to `url`, run the handshake and check the server key. */
  static async open(url: string, options: ConnectOptions): Promise<Connection> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let socket: SocketLike;
    try {
      socket = options.socketFactory(url);
    } catch (error) {
      throw new ParleyError(ErrorCode.CONNECTION_FAILED, `cannot connect to ${url}: ${(error as Error).message}`);
    }
    socket.binaryType = 'arraybuffer';
    const initiator = new NoiseNXInitiator();
    const handshake = await new Promise<{ result: HandshakeResult & { remoteStatic: Uint8Array }; payload: Uint8Array }>((resolve, reject) => {
      const fail = (error: ParleyError) => {
        clearTimeout(timer);
        reject(error);
        socket.close();
      };
      const timer = setTimeout(() => fail(new ParleyError(ErrorCode.TIMEOUT, `no handshake answer from ${url} within ${timeoutMs} ms`)), timeoutMs);
      let answered = false;
      socket.addEventListener('open', () => socket.send(initiator.writeMessage1(encodeCbor({ v: PROTOCOL_VERSION }))));
      socket.addEventListener('error', (event) => fail(connectError(url, event)));
      socket.addEventListener('close', (event) => {
        if (!answered) fail(new ParleyError(ErrorCode.CONNECTION_FAILED, `the server closed the connection during the handshake (${event.code} ${event.reason})`));
      });
      socket.addEventListener('message', (event) => {
        if (answered) return;
        answered = true;
        clearTimeout(timer);
        try {
          resolve(initiator.readMessage2(toBytes(event.data)));
        } catch (error) {
          fail(new ParleyError(ErrorCode.CONNECTION_FAILED, `the server's handshake did not verify: ${(error as Error).message}`));
        }
      });
    });
    let hello;
    try {
      hello = serverHelloSchema.parse(decodeCbor(handshake.payload));
    } catch (error) {
      socket.close();
      throw new ParleyError(ErrorCode.CONNECTION_FAILED, `unreadable server hello: ${(error as Error).message}`);
    }
    if (hello.error) {
      socket.close();
      throw new ParleyError(isErrorCode(hello.error.code) ? hello.error.code : ErrorCode.UNSUPPORTED_VERSION, hello.error.message);
    }
    try {
      await options.verifyServerKey(handshake.result.remoteStatic);
    } catch (error) {
      socket.close();
      throw error;
    }
    const connection = new Connection(socket, handshake.result, handshake.result.remoteStatic, timeoutMs);
    connection.listen();
    return connection;
  }

  /** The channel's handshake hash: what a device signs to authenticate on this connection. */
  get handshakeHash(): Uint8Array {
    return this.channel.handshakeHash;
  }

  get isOpen(): boolean {
    return this.closedWith === undefined;
  }

  /**
   * Sends a request and resolves with its validated reply. A RATE_LIMITED answer is waited out
   * and the request sent again (a few times, for short waits): the server refuses it before
   * running anything (DESIGN §10), so sending it again is always safe.
   */
  async request<O extends OpName>(op: O, body: RequestOf<O>): Promise<ResponseOf<O>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.requestOnce(op, body);
      } catch (error) {
        const wait = error instanceof ParleyError && error.code === ErrorCode.RATE_LIMITED ? error.details.retryAfterMs : undefined;
        if (wait === undefined || wait > MAX_RATE_LIMIT_WAIT_MS || attempt >= MAX_RATE_LIMIT_RETRIES || this.closedWith) throw error;
        // Jittered, so requests limited together do not all come back at the same instant.
        await new Promise((resolve) => setTimeout(resolve, wait * (1 + Math.random() * attempt)));
      }
    }
  }

  private requestOnce<O extends OpName>(op: O, body: RequestOf<O>): Promise<ResponseOf<O>> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const id = this.nextId++;
    return new Promise<ResponseOf<O>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ParleyError(ErrorCode.TIMEOUT, `${op}: no reply within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending.set(id, { op, resolve: resolve as (body: unknown) => void, reject, timer });
      for (const chunk of fragment(encodeRequest(op, id, body))) this.socket.send(this.channel.send.encrypt(chunk));
      for (const listener of this.requestListeners) listener(op);
    });
  }

  /** Hears the op of every request as it is sent (a retry counts again): for metrics and tests. */
  onRequest(listener: (op: OpName) => void): () => void {
    this.requestListeners.add(listener);
    return () => this.requestListeners.delete(listener);
  }

  onEvent(listener: (event: Event) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onClose(listener: (error: ParleyError) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  close(): void {
    this.shutdown(new ParleyError(ErrorCode.CONNECTION_FAILED, 'connection closed'));
    this.socket.close(1000, 'bye');
  }

  private listen(): void {
    this.socket.addEventListener('message', (event) => {
      if (this.closedWith) return;
      try {
        const envelope = this.reassembler.push(this.channel.receive.decrypt(toBytes(event.data)));
        if (envelope) this.deliver(envelope);
      } catch (error) {
        this.shutdown(new ParleyError(ErrorCode.BAD_FRAME, `bad frame from the server: ${(error as Error).message}`));
        this.socket.close(CloseCode.CHANNEL_BROKEN, 'bad frame');
      }
    });
    this.socket.addEventListener('close', (event) => {
      const code = closeCodeErrors[event.code] ?? ErrorCode.CONNECTION_FAILED;
      this.shutdown(new ParleyError(code, `connection closed by the server (${event.code}${event.reason ? ` ${event.reason}` : ''})`));
    });
  }

  private deliver(envelope: Uint8Array): void {
    const message = decodeServerMessage(envelope);
    if (message.type === 'event') {
      for (const listener of this.eventListeners) listener(message.event);
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) return; // a reply after its request timed out
    this.pending.delete(message.id);
    clearTimeout(pending.timer);
    if (!message.ok) {
      pending.reject(ParleyError.fromWire(message.error));
      return;
    }
    try {
      pending.resolve(parseResponse(pending.op, message.body));
    } catch (error) {
      pending.reject(new ParleyError(ErrorCode.BAD_FRAME, `malformed ${pending.op} reply: ${(error as Error).message}`));
    }
  }

  private shutdown(error: ParleyError): void {
    if (this.closedWith) return;
    this.closedWith = error;
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.pending.clear();
    for (const listener of this.closeListeners) listener(error);
  }
}
