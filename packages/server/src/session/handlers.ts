/** @module The op → handler table, with the authentication each op needs (checked before it runs). */
import { ErrorCode, ParleyError, type OpName, type RequestOf, type ResponseOf, type Session } from '@parley/protocol';
import type { AccountService } from '../services/accounts.js';
import type { RequestContext } from './state.js';

export interface Services {
  accounts: AccountService;
}

type Handler<O extends OpName> =
  | { needs: 'none'; handle: (ctx: RequestContext, body: RequestOf<O>, services: Services) => Promise<ResponseOf<O>> }
  | { needs: 'device'; handle: (session: Session, body: RequestOf<O>, services: Services) => Promise<ResponseOf<O>> };

export type HandlerTable = { [O in OpName]: Handler<O> };

function requireAnonymous(ctx: RequestContext): void {
  if (ctx.auth.kind !== 'anonymous') throw new ParleyError(ErrorCode.ALREADY_AUTHENTICATED, 'this connection is already signed in');
}

export const handlers: HandlerTable = {
  ping: { needs: 'none', handle: async () => ({ time: Date.now() }) },

  'register.start': {
    needs: 'none',
    handle: async (ctx, body, { accounts }) => {
      requireAnonymous(ctx);
      const { reply, pending } = await accounts.registerStart(body);
      ctx.auth = { kind: 'anonymous', pending };
      return reply;
    },
  },
  'register.finish': {
    needs: 'none',
    handle: async (ctx, body, { accounts }) => {
      requireAnonymous(ctx);
      const pending = ctx.auth.kind === 'anonymous' ? ctx.auth.pending : undefined;
      ctx.auth = { kind: 'anonymous' };
      const session = await accounts.registerFinish(pending, body);
      ctx.auth = { kind: 'device', session };
      return session;
    },
  },
  'login.start': {
    needs: 'none',
    handle: async (ctx, body, { accounts }) => {
      requireAnonymous(ctx);
      const { reply, pending } = await accounts.loginStart(body);
      ctx.auth = { kind: 'anonymous', pending };
      return reply;
    },
  },
  'login.finish': {
    needs: 'none',
    handle: async (ctx, body, { accounts }) => {
      requireAnonymous(ctx);
      const pending = ctx.auth.kind === 'anonymous' ? ctx.auth.pending : undefined;
      // One attempt per login.start: a failed finish cannot be retried against the same state.
      ctx.auth = { kind: 'anonymous' };
      const { reply, username } = await accounts.loginFinish(pending, body);
      ctx.auth = { kind: 'password', username };
      return reply;
    },
  },
  'device.add': {
    needs: 'none',
    handle: async (ctx, body, { accounts }) => {
      if (ctx.auth.kind !== 'password') throw new ParleyError(ErrorCode.UNAUTHENTICATED, 'log in with the password before adding a device');
      const session = await accounts.addDevice(ctx.auth.username, body.device);
      ctx.auth = { kind: 'device', session };
      return session;
    },
  },
  'device.auth': {
    needs: 'none',
    handle: async (ctx, body, { accounts }) => {
      requireAnonymous(ctx);
      const session = await accounts.authenticateDevice(ctx.handshakeHash, body);
      ctx.auth = { kind: 'device', session };
      return session;
    },
  },
  'account.whoami': { needs: 'device', handle: (session, _body, { accounts }) => accounts.whoami(session) },
  'device.list': { needs: 'device', handle: async (session, _body, { accounts }) => ({ devices: await accounts.listDevices(session) }) },
  'device.revoke': {
    needs: 'device',
    handle: async (session, body, { accounts }) => {
      await accounts.revokeDevice(session, body.deviceId);
      return {};
    },
  },
  'session.logout': {
    needs: 'device',
    handle: async (session, body, { accounts }) => ({ revoked: await accounts.logout(session, body.all ?? false) }),
  },
};
