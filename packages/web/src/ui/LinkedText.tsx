/** @module Message text with its links made clickable (linkifyjs finds them; only web and mail links become links). */
import { find } from 'linkifyjs';
import { Fragment, type ReactNode } from 'react';

const SAFE_SCHEMES = new Set(['http:', 'https:', 'mailto:']);

/** The link's target if it is a web or mail address; a `javascript:` or other scheme stays text. */
function safeHref(href: string): string | undefined {
  try {
    return SAFE_SCHEMES.has(new URL(href).protocol) ? href : undefined;
  } catch {
    // Not a URL after all: shown as text.
    return undefined;
  }
}

export function LinkedText({ text }: { text: string }) {
  const parts: ReactNode[] = [];
  let at = 0;
  for (const link of find(text)) {
    const href = safeHref(link.href);
    if (!href) continue;
    if (link.start > at) parts.push(text.slice(at, link.start));
    parts.push(
      // The page that opens gets neither this page (opener) nor its address (referrer).
      <a key={link.start} href={href} target="_blank" rel="noopener noreferrer">
        {link.value}
      </a>,
    );
    at = link.end;
  }
  if (at < text.length) parts.push(text.slice(at));
  return <Fragment>{parts}</Fragment>;
}
