/** A loopback TCP relay that records every byte in both directions, like a network tap. */
import { startTcpLink, targetOf } from './tcp-link.js';

export interface Relay {
  url: string;
  /** Bytes client → server. */
  upstream(): Buffer;
  /** Bytes server → client. */
  downstream(): Buffer;
  close(): Promise<void>;
}

export async function startRelay(target: string): Promise<Relay> {
  const up: Buffer[] = [];
  const down: Buffer[] = [];
  const link = await startTcpLink(targetOf(target, 80), { tap: { upstream: (chunk) => up.push(chunk), downstream: (chunk) => down.push(chunk) } });
  return {
    url: `http://127.0.0.1:${link.port}`,
    upstream: () => Buffer.concat(up),
    downstream: () => Buffer.concat(down),
    close: () => link.close(),
  };
}

/**
 * Unmask the payloads of client-to-server WebSocket frames (RFC 6455 §5.3), so a test
 * searches what the frames really carry, not bytes XORed with a random mask.
 */
export function websocketPayloads(stream: Buffer): Buffer {
  const headerEnd = stream.indexOf('\r\n\r\n');
  let offset = headerEnd < 0 ? 0 : headerEnd + 4;
  const payloads: Buffer[] = [stream.subarray(0, offset)];
  while (offset + 2 <= stream.length) {
    const second = stream[offset + 1] ?? 0;
    let length = second & 0x7f;
    let cursor = offset + 2;
    if (length === 126) {
      length = stream.readUInt16BE(cursor);
      cursor += 2;
    } else if (length === 127) {
      length = Number(stream.readBigUInt64BE(cursor));
      cursor += 8;
    }
    const masked = (second & 0x80) !== 0;
    const mask = masked ? stream.subarray(cursor, cursor + 4) : undefined;
    if (masked) cursor += 4;
    const payload = Buffer.from(stream.subarray(cursor, cursor + length));
    if (mask) for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] ?? 0) ^ (mask[i % 4] ?? 0);
    payloads.push(payload);
    offset = cursor + length;
  }
  return Buffer.concat(payloads);
}
