/** @module The server's answer to a client's protocol version, carried in Noise handshake message 2 (DESIGN §4). */
import { NoiseNXResponder, type HandshakeResult, type StaticKeyPair } from '@parley/crypto';
import { clientHelloSchema, decodeCbor, encodeCbor, ErrorCode, PROTOCOL_VERSION, SUPPORTED_VERSIONS } from '@parley/protocol';

/** Handshake message 2's payload: the version this server speaks, and why it refuses the client's if it does. */
export function serverHello(version: number): { v: number; error?: { code: ErrorCode; message: string } } {
  if (SUPPORTED_VERSIONS.includes(version)) return { v: PROTOCOL_VERSION };
  const message = `protocol version ${version} is not supported; this server speaks ${SUPPORTED_VERSIONS.join(', ')}`;
  return { v: PROTOCOL_VERSION, error: { code: ErrorCode.UNSUPPORTED_VERSION, message } };
}

/**
 * Reads handshake message 1 (the client's hello) and writes message 2 (the server's). Throws
 * CryptoError, CodecError or ValidationError on a malformed hello: the client's fault.
 */
export function answerHello(staticKey: StaticKeyPair, frame: Uint8Array): { version: number; message: Uint8Array; result: HandshakeResult } {
  const responder = new NoiseNXResponder({ staticKey });
  const version = clientHelloSchema.parse(decodeCbor(responder.readMessage1(frame))).v;
  // The client's ephemeral key is first used here: an invalid one fails here, as the client's fault.
  return { version, ...responder.writeMessage2(encodeCbor(serverHello(version))) };
}
