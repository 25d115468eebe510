/** @module The one failure an entry's processing may end in without stopping the others. */
import { ParleyError, type ErrorCode } from '@parley/protocol';
import type { ConversationRecord } from '../store/client-store.js';

/**
 * An entry that cannot take effect (it does not decrypt, breaks the group's rules, or is not
 * for this device): the pipeline acknowledges it, keeps `keep` (e.g. a ratchet that moved on
 * while decrypting it), and reports it as an error event of its conversation.
 */
export class RejectedEntry extends Error {
  override readonly name = 'RejectedEntry';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly keep: Partial<ConversationRecord> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The channel's failure inside an MLS operation's error (the directory could not be asked while
 * a credential was checked): the entry is not at fault, so it must not be acknowledged or held
 * against its group. Returns that ParleyError, if the error's causes hold one.
 */
export function channelFailure(error: unknown): ParleyError | undefined {
  for (let cause = error; cause instanceof Error; cause = cause.cause) if (cause instanceof ParleyError) return cause;
  return undefined;
}
