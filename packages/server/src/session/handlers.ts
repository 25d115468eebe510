/** @module The op → handler table, with the authentication each op needs (checked before it runs). */
import { ErrorCode, ParleyError, type OpName, type RequestOf, type ResponseOf, type DeviceRef } from '@parley/protocol';
import { powBinding } from '@parley/crypto';
import type { AccountService } from '../services/accounts.js';
import type { PasswordService } from '../services/passwords.js';
import type { DeliveryService } from '../services/delivery.js';
import type { DirectoryService } from '../services/directory.js';
import type { GroupService } from '../services/groups.js';
import type { KeyPackageService } from '../services/key-packages.js';
import type { PowService } from '../services/pow.js';
import type { PresenceService } from '../services/presence.js';
import type { TimelockService } from '../services/timelock.js';
import type { AuthState, RequestContext } from './state.js';

export interface Services {
  accounts: AccountService;
  passwords: PasswordService;
  directory: DirectoryService;
  keyPackages: KeyPackageService;
  groups: GroupService;
  delivery: DeliveryService;
  presence: PresenceService;
  pow: PowService;
  timelock: TimelockService;
}

type Handler<O extends OpName> =
  | { needs: 'none'; handle: (ctx: RequestContext, body: RequestOf<O>, services: Services) => Promise<ResponseOf<O>> }
  | { needs: 'device'; handle: (session: DeviceRef, body: RequestOf<O>, services: Services) => Promise<ResponseOf<O>> };

export type HandlerTable = { [O in OpName]: Handler<O> };

function requireAnonymous(ctx: RequestContext): void {
  if (ctx.auth.kind !== 'anonymous') throw new ParleyError(ErrorCode.ALREADY_AUTHENTICATED, 'this connection is already signed in');
}

/** For ops that read and replace this connection's state as well as needing a signed-in device. */
function requireDevice(ctx: RequestContext): Extract<AuthState, { kind: 'device' }> {
  if (ctx.auth.kind !== 'device') throw new ParleyError(ErrorCode.UNAUTHENTICATED, 'changing the password needs a signed-in device');
  return ctx.auth;
}

export const handlers: HandlerTable = {
  ping: { needs: 'none', handle: async () => ({ time: Date.now() }) },
  'pow.challenge': { needs: 'none', handle: async (_ctx, body, { pow }) => ({ challenge: pow.challenge(body.context) }) },

  'register.start': {
    needs: 'none',
    handle: async (ctx, body, { accounts, pow }) => {
      requireAnonymous(ctx);
      // Before any OPAQUE work: under load, only a solved challenge bound to this request gets through.
      await pow.check('register', powBinding('register.start', body.username, body.request), body.pow, (reason) => ctx.strike(reason));
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
    handle: async (ctx, body, { accounts, pow }) => {
      requireAnonymous(ctx);
      // A login started and never finished is a wrong password (see Connection.strikeAbandonedLogin).
      if (ctx.auth.kind === 'anonymous' && ctx.auth.pending?.kind === 'login') {
        ctx.strike('auth_failed');
        ctx.auth = { kind: 'anonymous' };
      }
      // Before any OPAQUE work: under load, only a solved challenge bound to this request gets through.
      await pow.check('login', powBinding('login.start', body.username, body.request), body.pow, (reason) => ctx.strike(reason));
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

  // Password change (DESIGN §5). Each step consumes the state the one before left on this
  // connection, before it awaits anything, so a failed or repeated step cannot be retried.
  'password.verify.start': {
    needs: 'none',
    handle: async (ctx, body, { passwords }) => {
      const { session } = requireDevice(ctx);
      ctx.auth = { kind: 'device', session };
      const { reply, pending } = await passwords.verifyStart(session, body);
      ctx.auth = { kind: 'device', session, passwordChange: pending };
      return reply;
    },
  },
  'password.verify.finish': {
    needs: 'none',
    handle: async (ctx, body, { passwords }) => {
      const { session, passwordChange } = requireDevice(ctx);
      ctx.auth = { kind: 'device', session };
      const { reply, pending } = await passwords.verifyFinish(session, passwordChange, body);
      ctx.auth = { kind: 'device', session, passwordChange: pending };
      return reply;
    },
  },
  'password.change.start': {
    needs: 'none',
    handle: async (ctx, body, { passwords }) => {
      const { session, passwordChange } = requireDevice(ctx);
      ctx.auth = { kind: 'device', session };
      const { reply, pending } = passwords.changeStart(session, passwordChange, body);
      ctx.auth = { kind: 'device', session, passwordChange: pending };
      return reply;
    },
  },
  'password.change.finish': {
    needs: 'none',
    handle: async (ctx, body, { passwords }) => {
      const { session, passwordChange } = requireDevice(ctx);
      ctx.auth = { kind: 'device', session };
      await passwords.changeFinish(session, passwordChange, body);
      return {};
    },
  },
  // Recovery: anonymous, and on success the connection may enrol a device, as after a login.
  'recover.start': {
    needs: 'none',
    handle: async (ctx, body, { passwords }) => {
      requireAnonymous(ctx);
      const { reply, pending } = await passwords.recoverStart(body);
      ctx.auth = { kind: 'anonymous', recovery: pending };
      return reply;
    },
  },
  'recover.finish': {
    needs: 'none',
    handle: async (ctx, body, { passwords }) => {
      requireAnonymous(ctx);
      const recovery = ctx.auth.kind === 'anonymous' ? ctx.auth.recovery : undefined;
      ctx.auth = { kind: 'anonymous' };
      const username = await passwords.recoverFinish(recovery, body);
      ctx.auth = { kind: 'password', username };
      return {};
    },
  },

  'directory.lookup': { needs: 'device', handle: (_session, body, { directory }) => directory.lookup(body.username) },
  'keys.upload': { needs: 'device', handle: (session, body, { keyPackages }) => keyPackages.upload(session, body) },
  'keys.claim': { needs: 'device', handle: (session, body, { keyPackages }) => keyPackages.claim(session, body) },
  'keys.count': { needs: 'device', handle: (session, _body, { keyPackages }) => keyPackages.count(session) },

  'group.create': { needs: 'device', handle: (session, body, { groups }) => groups.create(session, body) },
  'group.commit': { needs: 'device', handle: (session, body, { groups }) => groups.commit(session, body) },
  'group.info': { needs: 'device', handle: (session, body, { groups }) => groups.info(session, body.groupId) },
  'group.rejoin': { needs: 'device', handle: (session, body, { groups }) => groups.rejoin(session, body) },
  'group.send': { needs: 'device', handle: (session, body, { delivery }) => delivery.send(session, body) },
  'group.list': { needs: 'device', handle: (session, _body, { groups }) => groups.list(session) },
  'group.get': { needs: 'device', handle: (session, body, { groups }) => groups.get(session, body.groupId) },
  'group.promote': { needs: 'device', handle: (session, body, { groups }) => groups.promote(session, body) },
  'group.leave': { needs: 'device', handle: (session, body, { groups }) => groups.leave(session, body) },

  'sync.fetch': { needs: 'device', handle: (session, body, { delivery }) => delivery.fetch(session, body) },
  'sync.ack': { needs: 'device', handle: (session, body, { delivery }) => delivery.ack(session, body) },
  'device.transfer': { needs: 'device', handle: (session, body, { delivery }) => delivery.transfer(session, body) },

  'timelock.lock': { needs: 'device', handle: (session, body, { timelock }) => timelock.lock(session, body) },
  'timelock.fetch': { needs: 'device', handle: (session, body, { timelock }) => timelock.fetch(session, body) },

  'presence.list': { needs: 'device', handle: (session, body, { presence }) => presence.list(session, body) },
};
