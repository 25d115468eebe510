/** @module Finding the links in a message's text (linkifyjs): only web and mail addresses become links. */
import { find } from 'linkifyjs';

export type TextPart = string | { href: string; text: string };

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

/** The text cut into plain runs and links, in order; joined, the parts give the text back. */
export function linkParts(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let at = 0;
  for (const link of find(text)) {
    const href = safeHref(link.href);
    if (!href) continue;
    if (link.start > at) parts.push(text.slice(at, link.start));
    parts.push({ href, text: text.slice(link.start, link.end) });
    at = link.end;
  }
  if (at < text.length) parts.push(text.slice(at));
  return parts;
}
