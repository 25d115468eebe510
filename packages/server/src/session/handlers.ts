/** @module The op → handler table, with the authentication each op needs (checked before it runs). */
import { ErrorCode, ParleyError, type DeviceRef, type OpName, type PowSolution, type RequestOf, type ResponseOf } from '@parley/protocol';
import { powBinding } from '@parley/crypto';
import type { AccountService } from '../services/accounts.js';
import type { ConsentService } from '../services/consent.js';
import type { PasswordService } from '../services/passwords.js';
import type { DeliveryService } from '../services/delivery.js';
import type { DirectService } from '../services/direct.js';
import type { DirectoryService } from '../services/directory.js';
import type { TransparencyLog } from '../services/transparency.js';
import type { GroupService } from '../services/groups.js';
import type { KeyPackageService } from '../services/key-packages.js';
import type { PowService } from '../services/pow.js';
import type { PresenceService } from '../services/presence.js';
import type { Authentication } from './authentication.js';
import type { StrikeReason } from '../services/abuse.js';
import type { TimelockService } from '../services/timelock.js';

export interface Services {
  accounts: AccountService;
  passwords: PasswordService;
  directory: DirectoryService;
  transparency: TransparencyLog;
  keyPackages: KeyPackageService;
  groups: GroupService;
  delivery: DeliveryService;
  presence: PresenceService;
  consent: ConsentService;
  pow: PowService;
  timelock: TimelockService;
  direct: DirectService;
}

/** What a handler may see and change of its connection. */
export interface RequestContext {
  readonly handshakeHash: Uint8Array;
  readonly auth: Authentication;
  /** Counts a strike against the client's address (DESIGN §10), e.g. for a forged proof of work. */
  strike(reason: StrikeReason): void;
}

type Handler<O extends OpName> =
  | { needs: 'none'; handle: (ctx: RequestContext, body: RequestOf<O>, services: Services) => Promise<ResponseOf<O>> }
  | { needs: 'device'; handle: (session: DeviceRef, body: RequestOf<O>, services: Services) => Promise<ResponseOf<O>> };

export type HandlerTable = { [O in OpName]: Handler<O> };

function requireAnonymous(ctx: RequestContext): void {
  if (ctx.auth.identity.kind !== 'anonymous') throw new ParleyError(ErrorCode.ALREADY_AUTHENTICATED, 'this connection is already signed in');
}

/** For ops that continue an exchange on this connection as well as needing a signed-in device. */
function requireDevice(ctx: RequestContext): DeviceRef {
  const session = ctx.auth.session;
  if (!session) throw new ParleyError(ErrorCode.UNAUTHENTICATED, 'changing the password needs a signed-in device');
  return session;
}

/**
 * Before any OPAQUE work: under load, or for an account with failed proofs, only a solved
 * challenge bound to this very request gets through (DESIGN §10).
 */
function gate(ctx: RequestContext, pow: PowService, op: 'login.start' | 'recover.start' | 'password.verify.start', username: string, body: { request: Uint8Array; pow?: PowSolution }): Promise<void> {
  return pow.check('login', { binding: powBinding(op, username, body.request), account: username }, body.pow, (reason) => ctx.strike(reason));
}

export const handlers: HandlerTable = {
  ping: { needs: 'none', handle: async () => ({ time: Date.now() }) },
  'pow.challenge': { needs: 'none', handle: async (_ctx, body, { pow }) => ({ challenge: pow.challenge(body.context) }) },

  'register.start': {
    needs: 'none',
    handle: async (ctx, body, { accounts, pow }) => {
      requireAnonymous(ctx);
      await pow.check('register', { binding: powBinding('register.start', body.username, body.request) }, body.pow, (reason) => ctx.strike(reason));
      const { reply, pending } = await accounts.registerStart(body);
      ctx.auth.begin(pending);
      return reply;
    },
  },
  'register.finish': {
    needs: 'none',
    handle: async (ctx, body, { accounts }) => {
      requireAnonymous(ctx);
      const session = await ctx.auth.advance('register', (pending) => accounts.registerFinish(pending, body));
      ctx.auth.signedIn(session);
      return session;
    },
  },
  'login.start': {
    needs: 'none',
    handle: async (ctx, body, { accounts, pow }) => {
      requireAnonymous(ctx);
      await gate(ctx, pow, 'login.start', body.username, body);
      const { reply, pending } = await accounts.loginStart(body);
      ctx.auth.begin(pending);
      return reply;
    },
  },
  'login.finish': {
    needs: 'none',
    handle: async (ctx, body, { accounts }) => {
      requireAnonymous(ctx);
      const { reply, username } = await ctx.auth.advance('login', (pending) => accounts.loginFinish(pending, body));
      ctx.auth.proven(username);
      return reply;
    },
  },
  'device.add': {
    needs: 'none',
    handle: async (ctx, body, { accounts }) => {
      const { identity } = ctx.auth;
      if (identity.kind !== 'password') throw new ParleyError(ErrorCode.UNAUTHENTICATED, 'log in with the password before adding a device');
      const session = await accounts.addDevice(identity.username, body.device);
      ctx.auth.signedIn(session);
      return session;
    },
  },
  'device.auth': {
    needs: 'none',
    handle: async (ctx, body, { accounts }) => {
      requireAnonymous(ctx);
      const session = await accounts.authenticateDevice(ctx.handshakeHash, body).catch((error: unknown) => {
        // A signature that does not verify is a forgery, or a guess: a strike for the address.
        if (error instanceof ParleyError && error.code === ErrorCode.AUTH_FAILED) ctx.strike('auth_failed');
        throw error;
      });
      ctx.auth.signedIn(session);
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

  // Password change (DESIGN §5): prove the current password, register the new one, sign the change.
  'password.verify.start': {
    needs: 'none',
    handle: async (ctx, body, { passwords, pow }) => {
      const session = requireDevice(ctx);
      await gate(ctx, pow, 'password.verify.start', session.username, body);
      const { reply, pending } = await passwords.verifyStart(session, body);
      ctx.auth.begin(pending);
      return reply;
    },
  },
  'password.verify.finish': {
    needs: 'none',
    handle: async (ctx, body, { passwords }) => {
      const session = requireDevice(ctx);
      const { reply, pending } = await ctx.auth.advance('password.verify', (verifying) => passwords.verifyFinish(session, verifying, body));
      ctx.auth.begin(pending);
      return reply;
    },
  },
  'password.change.start': {
    needs: 'none',
    handle: async (ctx, body, { passwords }) => {
      const session = requireDevice(ctx);
      const { reply, pending } = await ctx.auth.advance('password.proven', (proven) => passwords.changeStart(session, proven, body));
      ctx.auth.begin(pending);
      return reply;
    },
  },
  'password.change.finish': {
    needs: 'none',
    handle: async (ctx, body, { passwords }) => {
      const session = requireDevice(ctx);
      await ctx.auth.advance('password.change', (change) => passwords.changeFinish(session, change, body));
      return {};
    },
  },
  // Recovery: anonymous, and on success the connection may enrol a device, as after a login.
  'recover.start': {
    needs: 'none',
    handle: async (ctx, body, { passwords, pow }) => {
      requireAnonymous(ctx);
      await gate(ctx, pow, 'recover.start', body.username, body);
      const { reply, pending } = await passwords.recoverStart(body);
      ctx.auth.begin(pending);
      return reply;
    },
  },
  'recover.finish': {
    needs: 'none',
    handle: async (ctx, body, { passwords }) => {
      requireAnonymous(ctx);
      const username = await ctx.auth.advance('recovery', (recovery) => passwords.recoverFinish(recovery, body));
      ctx.auth.proven(username);
      return {};
    },
  },

  'directory.lookup': { needs: 'device', handle: (_session, body, { directory }) => directory.lookup(body.username) },
  'transparency.consistency': { needs: 'device', handle: async (_session, body, { transparency }) => ({ proof: await transparency.consistency(body.from, body.to) }) },
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

  'contacts.add': { needs: 'device', handle: (session, body, { consent }) => consent.add(session, body) },
  'contacts.remove': { needs: 'device', handle: (session, body, { consent }) => consent.remove(session, body) },
  'contacts.block': { needs: 'device', handle: (session, body, { consent }) => consent.block(session, body) },
  'contacts.unblock': { needs: 'device', handle: (session, body, { consent }) => consent.unblock(session, body) },
  'contacts.list': { needs: 'device', handle: (session, _body, { consent }) => consent.list(session) },

  'presence.list': { needs: 'device', handle: (session, body, { presence }) => presence.list(session, body) },

  'direct.request': { needs: 'device', handle: (session, body, { direct }) => direct.request(session, body) },
  'direct.answer': { needs: 'device', handle: (session, body, { direct }) => direct.answer(session, body) },
  'direct.signal': { needs: 'device', handle: (session, body, { direct }) => direct.signal(session, body) },
  'direct.end': { needs: 'device', handle: (session, body, { direct }) => direct.end(session, body) },
};
