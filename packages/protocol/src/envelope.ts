/**
 * @module The envelopes carried inside the secure channel (DESIGN §4):
 * requests `{op, id, body}`, replies `{id, ok, body | error}` and pushes `{op: 'event', kind, body}`.
 * Decoding validates the body against its op's schema, so handlers only ever see well-typed input.
 */
import { decodeCbor, encodeCbor } from './codec.js';
import { CodecError, ErrorCode, isErrorCode, ParleyError, ValidationError, type WireError } from './errors.js';
import { powChallengeSchema } from './account.js';
import { events, isEventKind, isOpName, ops, type EventKind, type EventOf, type OpName, type RequestOf, type ResponseOf } from './ops.js';
import { object, optional, string, uint } from './schema.js';

export const PROTOCOL_VERSION = 1;
export const SUPPORTED_VERSIONS: readonly number[] = [PROTOCOL_VERSION];

const MAX_REQUEST_ID = 2 ** 32 - 1;

export type Request = { [O in OpName]: { op: O; id: number; body: RequestOf<O> } }[OpName];
export type Reply<O extends OpName = OpName> =
  | { id: number; ok: true; body: ResponseOf<O> }
  | { id: number; ok: false; error: WireError };
export type Event = { [K in EventKind]: { op: 'event'; kind: K; body: EventOf<K> } }[EventKind];

/** A request that could not be accepted: the error to send back, and the id to send it under if one was readable. */
export interface RejectedRequest {
  ok: false;
  id: number | undefined;
  error: ParleyError;
}

const requestShape = object({ op: string({ max: 64 }), id: uint({ max: MAX_REQUEST_ID }), body: optional(object({})) });

export function encodeRequest<O extends OpName>(op: O, id: number, body: RequestOf<O>): Uint8Array {
  return encodeCbor({ op, id, body });
}

/** Decode and validate one request. Never throws: bad input becomes a RejectedRequest. */
export function decodeRequest(frame: Uint8Array): { ok: true; request: Request } | RejectedRequest {
  let raw: unknown;
  try {
    raw = decodeCbor(frame);
  } catch (error) {
    return reject(undefined, ErrorCode.BAD_FRAME, (error as CodecError).message);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return reject(undefined, ErrorCode.BAD_FRAME, 'a request must be a map');
  }
  const fields = raw as Record<string, unknown>;
  const id = typeof fields.id === 'number' && Number.isSafeInteger(fields.id) && fields.id >= 0 && fields.id <= MAX_REQUEST_ID
    ? fields.id
    : undefined;
  const { body, ...envelope } = fields;
  try {
    requestShape.parse({ ...envelope, body: undefined });
  } catch (error) {
    return reject(id, ErrorCode.BAD_FRAME, `bad envelope: ${(error as Error).message}`);
  }
  const op = fields.op;
  if (!isOpName(op)) return reject(id, ErrorCode.UNKNOWN_OP, `unknown op ${JSON.stringify(op)}`);
  try {
    const parsedBody = ops[op].request.parse(body ?? {}, 'body');
    return { ok: true, request: { op, id: id as number, body: parsedBody } as Request };
  } catch (error) {
    if (error instanceof ValidationError) return reject(id, ErrorCode.BAD_REQUEST, `${op}: ${error.message}`);
    throw error;
  }
}

function reject(id: number | undefined, code: ErrorCode, message: string): RejectedRequest {
  return { ok: false, id, error: new ParleyError(code, message) };
}

export function encodeReply<O extends OpName>(id: number, body: ResponseOf<O>): Uint8Array {
  return encodeCbor({ id, ok: true, body });
}

export function encodeErrorReply(id: number | undefined, error: WireError): Uint8Array {
  return encodeCbor({ id: id ?? 0, ok: false, error });
}

export function encodeEvent<K extends EventKind>(kind: K, body: EventOf<K>): Uint8Array {
  return encodeCbor({ op: 'event', kind, body });
}

/** What the server can send: a reply to request `id`, or a pushed event. */
export type ServerMessage = { type: 'reply'; id: number; ok: true; body: unknown } | { type: 'reply'; id: number; ok: false; error: WireError } | { type: 'event'; event: Event };

/**
 * Decode a server frame. A reply body is validated later, against the op the client
 * remembers for that id (see `parseResponse`); events are validated here.
 */
export function decodeServerMessage(frame: Uint8Array): ServerMessage {
  const raw = decodeCbor(frame);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CodecError('a server message must be a map');
  const fields = raw as Record<string, unknown>;
  if (fields.op === 'event') {
    if (!isEventKind(fields.kind)) throw new CodecError(`unknown event ${JSON.stringify(fields.kind)}`);
    const body = events[fields.kind].parse(fields.body, 'body');
    return { type: 'event', event: { op: 'event', kind: fields.kind, body } as Event };
  }
  const id = uint({ max: MAX_REQUEST_ID }).parse(fields.id, 'id');
  if (fields.ok === true) return { type: 'reply', id, ok: true, body: fields.body };
  if (fields.ok === false) return { type: 'reply', id, ok: false, error: parseWireError(fields.error) };
  throw new CodecError('a reply needs ok: true or false');
}

const wireErrorShape = object({ code: string({ max: 64 }), message: string({ max: 2000 }), retryAfterMs: optional(uint()), epoch: optional(uint()), pow: optional(powChallengeSchema) });
function parseWireError(value: unknown): WireError {
  const parsed = wireErrorShape.parse(value, 'error');
  // An unknown code from a newer server still reaches the user, as INTERNAL with its message.
  const code = isErrorCode(parsed.code) ? parsed.code : ErrorCode.INTERNAL;
  return { ...parsed, code };
}

export function parseResponse<O extends OpName>(op: O, body: unknown): ResponseOf<O> {
  return ops[op].response.parse(body, 'body') as ResponseOf<O>;
}

/** Payload of Noise handshake message 1: the client's protocol version (DESIGN §4). */
export const clientHelloSchema = object({ v: uint({ max: 65535 }) });
/** Payload of Noise handshake message 2: the version the server speaks, or why it refuses. */
export const serverHelloSchema = object({
  v: uint({ max: 65535 }),
  error: optional(object({ code: string({ max: 64 }), message: string({ max: 2000 }) })),
});
