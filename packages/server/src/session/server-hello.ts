/** @module The server's answer to a client's protocol version, carried in Noise handshake message 2 (DESIGN §4). */
import { ErrorCode, PROTOCOL_VERSION, SUPPORTED_VERSIONS } from '@parley/protocol';

/** Handshake message 2's payload: the version this server speaks, and why it refuses the client's if it does. */
export function serverHello(version: number): { v: number; error?: { code: ErrorCode; message: string } } {
  if (SUPPORTED_VERSIONS.includes(version)) return { v: PROTOCOL_VERSION };
  const message = `protocol version ${version} is not supported; this server speaks ${SUPPORTED_VERSIONS.join(', ')}`;
  return { v: PROTOCOL_VERSION, error: { code: ErrorCode.UNSUPPORTED_VERSION, message } };
}
