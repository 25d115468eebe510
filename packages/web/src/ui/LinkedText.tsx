/** @module Message text with its links made clickable (see links.ts). */
import { linkParts } from './links.js';

export function LinkedText({ text }: { text: string }) {
  return (
    <>
      {linkParts(text).map((part, index) =>
        typeof part === 'string' ? (
          part
        ) : (
          // The page that opens gets neither this page (opener) nor its address (referrer).
          <a key={index} href={part.href} target="_blank" rel="noopener noreferrer">
            {part.text}
          </a>
        ),
      )}
    </>
  );
}
