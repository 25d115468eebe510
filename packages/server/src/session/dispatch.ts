/**
 * @module Answering one decoded request: the rate limits (DESIGN §10), the handler table, and the
 * reply or error envelope, each counted in the metrics. The connection only frames and sends it.
 */
import { encodeErrorReply, encodeReply, ErrorCode, ParleyError, type DeviceRef, type Request } from '@parley/protocol';
import type { Logger } from '../logger.js';
import type { ServerMetrics } from '../metrics.js';
import type { RateLimiter, TokenBucket } from '../services/rate-limit.js';
import { handlers, type RequestContext, type Services } from './handlers.js';

export interface DispatchOptions {
  services: Services;
  /** Token buckets per account, shared by all of an account's connections on this node. */
  accountLimiter?: RateLimiter;
  metrics?: ServerMetrics;
}

/** What a request runs against: the connection, and who it is signed in as, if anyone. */
export interface DispatchContext extends RequestContext {
  readonly session: DeviceRef | undefined;
  readonly log: Logger;
  /** This connection's own token bucket; unlimited if absent. */
  readonly requests: TokenBucket | undefined;
}

// The table is keyed by op, so each entry's body type matches its request; TypeScript cannot see through the union.
type AnyHandler =
  | { needs: 'none'; handle: (ctx: RequestContext, body: unknown, services: Services) => Promise<unknown> }
  | { needs: 'device'; handle: (session: DeviceRef, body: unknown, services: Services) => Promise<unknown> };

/** The encoded reply to `request`: the handler's answer, or an error reply (an unexpected error is logged, never sent). */
export async function answer(request: Request, context: DispatchContext, options: DispatchOptions): Promise<Uint8Array> {
  const { metrics } = options;
  const handler = handlers[request.op] as AnyHandler;
  metrics?.requests.inc({ op: request.op });
  const limited = rateLimitError(context, options);
  try {
    if (limited) throw limited;
    let body: unknown;
    if (handler.needs === 'device') {
      const session = context.session;
      if (!session) throw new ParleyError(ErrorCode.UNAUTHENTICATED, `${request.op} needs a signed-in device`);
      body = await handler.handle(session, request.body, options.services);
    } else {
      body = await handler.handle(context, request.body, options.services);
    }
    return encodeReply(request.id, body as never);
  } catch (error) {
    if (error instanceof ParleyError) {
      metrics?.errors.inc({ code: error.code });
      // Limits inside services (e.g. KeyPackage claims) are counted under their op.
      if (error.code === ErrorCode.RATE_LIMITED && error !== limited) metrics?.rateLimited.inc({ scope: request.op });
      return encodeErrorReply(request.id, error.toWire());
    }
    metrics?.errors.inc({ code: ErrorCode.INTERNAL });
    context.log.error({ err: error, op: request.op }, 'request failed');
    return encodeErrorReply(request.id, { code: ErrorCode.INTERNAL, message: 'internal server error' });
  }
}

/** Per-connection, then per-account token buckets (DESIGN §10): the RATE_LIMITED error to answer, if over. */
function rateLimitError(context: DispatchContext, options: DispatchOptions): ParleyError | undefined {
  const connectionWait = context.requests?.take();
  if (connectionWait !== undefined) {
    options.metrics?.rateLimited.inc({ scope: 'connection' });
    return new ParleyError(ErrorCode.RATE_LIMITED, `too many requests on this connection; retry in ${connectionWait} ms`, { retryAfterMs: connectionWait });
  }
  const username = context.session?.username;
  const accountWait = username === undefined ? undefined : options.accountLimiter?.take(username);
  if (accountWait === undefined) return undefined;
  options.metrics?.rateLimited.inc({ scope: 'account' });
  return new ParleyError(ErrorCode.RATE_LIMITED, `too many requests from this account; retry in ${accountWait} ms`, { retryAfterMs: accountWait });
}
