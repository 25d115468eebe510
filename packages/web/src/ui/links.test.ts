import { describe, expect, it } from 'vitest';
import { linkParts } from './links.js';

describe('linkParts', () => {
  it('links web and mail addresses, and gives the text back whole', () => {
    const text = 'See https://example.com/a?b=1, example.org or mail bob@example.net.';
    const parts = linkParts(text);
    expect(parts).toEqual([
      'See ',
      { href: 'https://example.com/a?b=1', text: 'https://example.com/a?b=1' },
      ', ',
      { href: 'http://example.org', text: 'example.org' },
      ' or mail ',
      { href: 'mailto:bob@example.net', text: 'bob@example.net' },
      '.',
    ]);
    expect(parts.map((part) => (typeof part === 'string' ? part : part.text)).join('')).toBe(text);
  });

  it('leaves other schemes and plain text as text', () => {
    expect(linkParts('javascript:alert(1) and data:text/html,<b>x</b>')).toEqual(['javascript:alert(1) and data:text/html,<b>x</b>']);
    expect(linkParts('no links here')).toEqual(['no links here']);
    expect(linkParts('')).toEqual([]);
  });
});
