import { isIPv4, isIPv6 } from 'node:net';
import { BadAddressError } from './errors.ts';

/** IPv4-mapped IPv6, what a dual-stack socket reports for an IPv4 peer. */
const MAPPED_IPV4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/**
 * The network block an agent registered from: an IPv4 /24 or an IPv6 /48, the share of address
 * space one party typically controls. Replicas of a task are spread over different blocks, so
 * that one party with many keys on one network cannot fill every seat of a vote (Sybil).
 * IPv4-mapped IPv6 (`::ffff:1.2.3.4`, what a dual-stack socket reports) counts as IPv4.
 */
export function addressBlock(address: string): string {
  const mapped = MAPPED_IPV4.exec(address);
  const ip = mapped?.[1] ?? address;
  if (isIPv4(ip)) {
    const [a, b, c] = ip.split('.');
    return `${a}.${b}.${c}.0/24`;
  }
  if (isIPv6(ip)) {
    const prefix = ipv6Groups(ip).slice(0, 3);
    while (prefix.at(-1) === '0') prefix.pop(); // 2001:db8:0::/48 is written 2001:db8::/48
    return `${prefix.join(':')}::/48`;
  }
  throw new BadAddressError(address);
}

/**
 * What the per-address rate limit counts under: an IPv4 address itself, an IPv6 address's /64 (a
 * host's usual allocation, so rotating through it buys nothing). Checked on every request, so the
 * common IPv4 case is told apart by its lack of a colon, without parsing.
 */
export function rateLimitKey(address: string): string {
  if (!address.includes(':')) return address;
  const mapped = MAPPED_IPV4.exec(address);
  if (mapped !== null) return mapped[1] as string;
  return isIPv6(address) ? `${ipv6Groups(address).slice(0, 4).join(':')}::/64` : address;
}

/** The eight 16-bit groups of an IPv6 address, lower-case hex without leading zeros. */
function ipv6Groups(ip: string): string[] {
  const bare = ip.split('%')[0] as string; // drop a zone index (fe80::1%eth0)
  const [head = '', tail] = bare.split('::');
  const split = (part: string): string[] => (part === '' ? [] : part.split(':'));
  let groups = split(head);
  if (tail !== undefined) {
    const back = split(tail);
    groups = [...groups, ...Array<string>(8 - groups.length - back.length).fill('0'), ...back];
  }
  // An embedded IPv4 tail (::1.2.3.4) sits in the last 32 bits, never in the first 48.
  return groups.map((g) => (g.includes('.') ? g : Number.parseInt(g, 16).toString(16)));
}
