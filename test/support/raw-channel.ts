/** A hand-driven client for protocol tests: real Noise handshake, then arbitrary frames. */
import { NoiseNXInitiator, type HandshakeResult } from '@parley/crypto';
import { decodeServerMessage, encodeCbor, fragment, Reassembler, type ServerMessage } from '@parley/protocol';
import { WebSocket } from 'ws';

export interface RawChannel {
  ws: WebSocket;
  channel: HandshakeResult;
  /** Seal and send an envelope (any bytes). */
  send(envelope: Uint8Array): void;
  /** Wait for the next server message (joining a reply that spans several frames). */
  next(timeoutMs?: number): Promise<ServerMessage>;
  closed: Promise<{ code: number; reason: string }>;
}

/** `localAddress` picks the client's source address (any of 127.0.0.0/8 on loopback), so tests can act as several hosts. */
export function openSocket(url: string, options: { localAddress?: string } = {}): Promise<{ ws: WebSocket; closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/v1/ws', options);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, closed }));
    ws.once('error', reject);
  });
}

export async function openRawChannel(url: string, version = 1, options: { localAddress?: string } = {}): Promise<RawChannel> {
  const { ws, closed } = await openSocket(url, options);
  const initiator = new NoiseNXInitiator();
  const inbox: Uint8Array[] = [];
  const waiters: ((frame: Uint8Array) => void)[] = [];
  ws.on('message', (data: Buffer) => {
    const frame = new Uint8Array(data);
    const waiter = waiters.shift();
    if (waiter) waiter(frame);
    else inbox.push(frame);
  });
  const nextFrame = (timeoutMs = 5000) =>
    new Promise<Uint8Array>((resolve, reject) => {
      const queued = inbox.shift();
      if (queued) return resolve(queued);
      const timer = setTimeout(() => reject(new Error('no frame from the server')), timeoutMs);
      waiters.push((frame) => {
        clearTimeout(timer);
        resolve(frame);
      });
    });
  ws.send(initiator.writeMessage1(encodeCbor({ v: version })));
  const { result } = initiator.readMessage2(await nextFrame());
  const reassembler = new Reassembler();
  return {
    ws,
    channel: result,
    closed,
    send: (envelope) => {
      for (const chunk of fragment(envelope)) ws.send(result.send.encrypt(chunk));
    },
    next: async (timeoutMs) => {
      for (;;) {
        const envelope = reassembler.push(result.receive.decrypt(await nextFrame(timeoutMs)));
        if (envelope) return decodeServerMessage(envelope);
      }
    },
  };
}
