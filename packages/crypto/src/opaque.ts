/**
 * @module OPAQUE (RFC 9807) via @serenity-kit/opaque, with Argon2id as its key-stretching function.
 * Wrapped so the rest of Parley sees bytes in, bytes out, and typed errors.
 */
import * as opaque from '@serenity-kit/opaque';
import { fromBase64Url, toBase64Url } from '@parley/protocol';
import { CryptoError } from './errors.js';

/** The WASM module loads asynchronously; await this once before any other call. */
export const opaqueReady: Promise<void> = opaque.ready;

const b64 = toBase64Url;
function bytes(text: string): Uint8Array {
  return fromBase64Url(text);
}

function guard<T>(what: string, code: 'BAD_INPUT' | 'AUTH_FAILED', run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof CryptoError) throw error;
    throw new CryptoError(code, `${what} failed`, { cause: error });
  }
}

// Both sides name the account, so a record registered for one username cannot be replayed for another.
const identifiers = (username: string) => ({ client: username, server: 'parley' });

export const opaqueClient = {
  startRegistration(password: string): { state: string; request: Uint8Array } {
    const { clientRegistrationState, registrationRequest } = opaque.client.startRegistration({ password });
    return { state: clientRegistrationState, request: bytes(registrationRequest) };
  },
  finishRegistration(state: string, password: string, username: string, response: Uint8Array): { record: Uint8Array; exportKey: Uint8Array } {
    return guard('OPAQUE registration', 'BAD_INPUT', () => {
      const result = opaque.client.finishRegistration({
        clientRegistrationState: state,
        registrationResponse: b64(response),
        password,
        identifiers: identifiers(username),
      });
      return { record: bytes(result.registrationRecord), exportKey: bytes(result.exportKey) };
    });
  },
  startLogin(password: string): { state: string; request: Uint8Array } {
    const { clientLoginState, startLoginRequest } = opaque.client.startLogin({ password });
    return { state: clientLoginState, request: bytes(startLoginRequest) };
  },
  /** Throws AUTH_FAILED for a wrong password, an unknown user, or a server that lies. */
  finishLogin(state: string, password: string, username: string, response: Uint8Array): { finish: Uint8Array; exportKey: Uint8Array; sessionKey: Uint8Array } {
    const result = guard('OPAQUE login', 'AUTH_FAILED', () =>
      opaque.client.finishLogin({ clientLoginState: state, loginResponse: b64(response), password, identifiers: identifiers(username) }),
    );
    if (!result) throw new CryptoError('AUTH_FAILED', 'wrong username or password');
    return { finish: bytes(result.finishLoginRequest), exportKey: bytes(result.exportKey), sessionKey: bytes(result.sessionKey) };
  },
};

export const opaqueServer = {
  createSetup(): string {
    return opaque.server.createSetup();
  },
  registrationResponse(setup: string, username: string, request: Uint8Array): Uint8Array {
    return guard('OPAQUE registration response', 'BAD_INPUT', () =>
      bytes(opaque.server.createRegistrationResponse({ serverSetup: setup, userIdentifier: username, registrationRequest: b64(request) }).registrationResponse),
    );
  },
  /** `record` undefined for an unknown user: OPAQUE then answers with a fake response (no enumeration). */
  startLogin(setup: string, username: string, record: Uint8Array | undefined, request: Uint8Array): { state: string; response: Uint8Array } {
    return guard('OPAQUE login start', 'BAD_INPUT', () => {
      const result = opaque.server.startLogin({
        serverSetup: setup,
        userIdentifier: username,
        registrationRecord: record ? b64(record) : null,
        startLoginRequest: b64(request),
        identifiers: identifiers(username),
      });
      return { state: result.serverLoginState, response: bytes(result.loginResponse) };
    });
  },
  /** Throws AUTH_FAILED unless the client proved knowledge of the password. */
  finishLogin(state: string, username: string, finish: Uint8Array): { sessionKey: Uint8Array } {
    return guard('OPAQUE login', 'AUTH_FAILED', () => {
      const { sessionKey } = opaque.server.finishLogin({ serverLoginState: state, finishLoginRequest: b64(finish), identifiers: identifiers(username) });
      return { sessionKey: bytes(sessionKey) };
    });
  },
};
