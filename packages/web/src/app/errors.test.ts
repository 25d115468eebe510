import { ErrorCode, ParleyError } from '@parley/client';
import { describe, expect, it } from 'vitest';
import { describeError, isConnectionError, keyChangedMessage } from './errors.js';

describe('describeError', () => {
  it('says the same for a wrong password and an unknown user', () => {
    expect(describeError(new ParleyError(ErrorCode.AUTH_FAILED, 'wrong username or password'))).toBe('Wrong username or password');
  });

  it('turns codes the user can act on into words', () => {
    expect(describeError(new ParleyError(ErrorCode.USERNAME_TAKEN, 'the username alice is taken'))).toBe('That username is taken; choose another.');
    expect(describeError(new ParleyError(ErrorCode.CONNECTION_FAILED, 'cannot connect to ws://x'))).toMatch(/^Cannot reach the server/);
    expect(describeError(new ParleyError(ErrorCode.SERVER_KEY_CHANGED, 'x'))).toMatch(/intercepting/);
    expect(describeError(new ParleyError(ErrorCode.IDENTITY_KEY_CHANGED, 'the identity key of bob changed: … (parley verify bob) …'))).toMatch(/^Their identity key changed, so nothing was sent\. Compare safety numbers/);
    expect(describeError(new ParleyError(ErrorCode.TRANSPARENCY_PROOF_INVALID, 'x'))).toMatch(/^The server could not prove these keys are in its public key log, so nothing was sent/);
    expect(describeError(new ParleyError(ErrorCode.TRANSPARENCY_FORKED, 'x'))).toMatch(/contradicts the one it showed before, so nothing was sent/);
    expect(keyChangedMessage('bob')).toMatch(/^bob’s identity key changed, so nothing was sent\. Compare safety numbers with bob/);
  });

  it('makes a sentence of any other message', () => {
    expect(describeError(new ParleyError(ErrorCode.BAD_INPUT, 'choose a password of at least 8 characters'))).toBe('Choose a password of at least 8 characters.');
    expect(describeError(new Error('already a sentence!'))).toBe('Already a sentence!');
    expect(describeError('not an error')).toBe('Something went wrong.');
  });

  it('knows which errors mean the connection is gone', () => {
    expect(isConnectionError(new ParleyError(ErrorCode.TIMEOUT, 'x'))).toBe(true);
    expect(isConnectionError(new ParleyError(ErrorCode.FORBIDDEN, 'x'))).toBe(false);
  });
});
