/** @module System lines of one conversation: entries that could not be read, a group this browser can no longer follow (issue #11 §1). */
import type { ConversationErrorLine } from '../app/state.js';

function describe(line: ConversationErrorLine): string {
  if (line.code === 'GROUP_BROKEN') return `This browser can no longer follow this group, and nothing can be sent to it: ${line.message}`;
  return `Something in this chat could not be read and was skipped: ${line.message}`;
}

export function ConversationErrors({ lines }: { lines: ConversationErrorLine[] | undefined }) {
  if (!lines || lines.length === 0) return null;
  return (
    <ul className="system-lines" aria-label="Problems in this conversation">
      {lines.map((line) => (
        <li key={line.key} className="system-line" role="status" data-code={line.code}>
          {describe(line)}
        </li>
      ))}
    </ul>
  );
}
