/** @module Text encodings for bytes shown to people or kept in files, and byte comparison. */

export function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

/** Throws a TypeError on characters outside the base64url alphabet. */
export function fromBase64Url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new TypeError('not base64url');
  const padded = text.replaceAll('-', '+').replaceAll('_', '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** Equal length and contents, compared without an early exit (keys, references, hashes). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/**
 * A group id as text: base64url, the one encoding the SDK, the CLI, the web client and the
 * server's logs use. On the wire group ids stay raw bytes.
 */
export function groupIdText(groupId: Uint8Array): string {
  return toBase64Url(groupId);
}

/** The bytes of a group id given as text; undefined when it is not base64url of 16 bytes. */
export function parseGroupId(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]{22}$/.test(text)) return undefined;
  const bytes = fromBase64Url(text);
  return bytes.byteLength === 16 ? bytes : undefined;
}
