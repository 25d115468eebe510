import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Output } from './output.js';

/** An Output over two in-memory streams, and what each received. */
function capture(json: boolean) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const written = { stdout: '', stderr: '' };
  stdout.on('data', (chunk: Buffer) => (written.stdout += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (written.stderr += chunk.toString()));
  return { output: new Output(json, stdout, stderr), written };
}

describe('Output: errors of a conversation', () => {
  const error = { conversation: 'team', group: 'AAAA', code: 'UNREADABLE_ENTRY', message: 'entry 4 from bob/phone did not decrypt or verify' };

  it('with --json, is one {"kind":"error"} line among the results on stdout', () => {
    const { output, written } = capture(true);
    output.conversationError(error);
    expect(written.stderr).toBe('');
    expect(written.stdout.split('\n')).toEqual([JSON.stringify({ kind: 'error', ...error }), '']);
  });

  it('for people, is one plain line on stderr naming the conversation', () => {
    const { output, written } = capture(false);
    output.conversationError(error);
    output.conversationError({ code: 'UNREADABLE_ENTRY', message: 'history chunk 0 came empty' });
    expect(written.stdout).toBe('');
    expect(written.stderr).toBe('error in team: UNREADABLE_ENTRY: entry 4 from bob/phone did not decrypt or verify\nerror: UNREADABLE_ENTRY: history chunk 0 came empty\n');
  });
});
