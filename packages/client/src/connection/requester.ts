/** @module How SDK internals send a typed request over the channel. */
import type { OpName, RequestOf, ResponseOf } from '@parley/protocol';

export type Requester = <O extends OpName>(op: O, body: RequestOf<O>) => Promise<ResponseOf<O>>;
