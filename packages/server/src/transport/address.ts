/**
 * @module Client addresses as the abuse defences key them: IPv4 as is (also when IPv4-mapped),
 * IPv6 by its /64 (one host usually holds a whole /64, so counting single IPv6 addresses would
 * let it dodge bans). Behind a trusted reverse proxy, the client's address is the last
 * `X-Forwarded-For` hop the proxies added.
 */
import { isIP } from 'node:net';

/** The key strikes, bans and connection counts are kept under, for a socket's remote address. */
export function addressKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (isIP(address) !== 6) return address;
  return `${expandIpv6(address).slice(0, 4).join(':')}::/64`;
}

function expandIpv6(address: string): string[] {
  const [head = '', tail] = address.split('%')[0]?.split('::') ?? [''];
  const left = head ? head.split(':') : [];
  const right = tail === undefined ? [] : tail ? tail.split(':') : [];
  // A trailing dotted IPv4 part takes two groups.
  const last = right.length > 0 ? right : left;
  const v4 = last.at(-1)?.includes('.') ? last.pop() : undefined;
  if (v4) {
    const [a = 0, b = 0, c = 0, d = 0] = v4.split('.').map(Number);
    last.push(((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
  }
  const missing = 8 - left.length - right.length;
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, missing)).fill('0'), ...right];
  return groups.map((group) => (Number.parseInt(group, 16) || 0).toString(16));
}

/**
 * The client's address for a request that came from `peer`: `peer` itself, unless it is one of
 * `trustedProxies`, in which case the rightmost `X-Forwarded-For` entry that is not a trusted
 * proxy (entries further left were written by the client and prove nothing).
 */
export function clientAddress(peer: string, forwardedFor: string | string[] | undefined, trustedProxies: ReadonlySet<string>): string {
  if (!trustedProxies.has(peer) || forwardedFor === undefined) return peer;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((hop) => hop.trim())
    .filter((hop) => isIP(hop) !== 0)
    .map(addressKey);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    if (!trustedProxies.has(hop)) return hop;
  }
  return peer;
}
