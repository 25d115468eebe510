/** @module A requester that answers from a script, for unit tests of the SDK's decisions: it records every request. */
import { ParleyError, type ErrorCode, type OpName, type RequestOf, type ResponseOf } from '@parley/protocol';
import type { Requester } from './requester.js';

export type Answers = { [O in OpName]?: (body: RequestOf<O>) => ResponseOf<O> | Promise<ResponseOf<O>> };

export interface FakeRequester {
  request: Requester;
  /** Every request, in order. */
  calls: { op: OpName; body: unknown }[];
  /** Just the ops, in order. */
  ops(): OpName[];
}

/** Answers each op with its handler in `answers`; any other op fails the test loudly. */
export function fakeRequester(answers: Answers): FakeRequester {
  const calls: FakeRequester['calls'] = [];
  const request = (async (op: OpName, body: unknown) => {
    calls.push({ op, body });
    const answer = answers[op] as ((body: unknown) => unknown) | undefined;
    if (!answer) throw new Error(`unexpected request ${op}`);
    return answer(body);
  }) as Requester;
  return { request, calls, ops: () => calls.map((call) => call.op) };
}

/** An error reply, as the server would send it. */
export function refusal(code: ErrorCode, message: string, details: { epoch?: number } = {}): ParleyError {
  return new ParleyError(code, message, details);
}
