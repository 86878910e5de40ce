// The admin listener's address: `host:port` or `[ipv6]:port` (port 0 picks a free one),
// resolved to the one numeric address it binds, and whether that address is loopback,
// which decides whether a token is required.
import { isIPv4, isIPv6 } from 'node:net';

import { parseAddress, resolveHost } from '../config/address.js';
import { LbConfigError } from '../errors.js';

export interface AdminListenAddress {
  /** The address as given, e.g. `127.0.0.1:9100`. */
  text: string;
  /** The numeric address to bind, without brackets. */
  host: string;
  port: number;
  loopback: boolean;
}

/** Parses and resolves `admin.listen`. Throws LbConfigError (path `admin.listen`) or LbResolveError. */
export async function resolveAdminListen(text: string): Promise<AdminListenAddress> {
  if (typeof text !== 'string') {
    throw new LbConfigError([{ path: 'admin.listen', message: `expected host:port, e.g. 127.0.0.1:9100, got ${typeof text}` }]);
  }
  const parsed = parseAddress(text, { allowPortZero: true });
  if (!parsed.ok) throw new LbConfigError([{ path: 'admin.listen', message: parsed.message }]);
  const host = await resolveHost(parsed.address.host, 'admin.listen');
  return { text, host, port: parsed.address.port, loopback: isLoopbackAddress(host) };
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped 127.x addresses. The unspecified addresses (0.0.0.0, ::) are not loopback. */
export function isLoopbackAddress(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIPv4(bare)) return bare.split('.')[0] === '127';
  if (!isIPv6(bare)) return false;
  const lower = bare.toLowerCase();
  if (lower === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(lower)) return true;
  const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  return mapped?.[1] !== undefined && isLoopbackAddress(mapped[1]);
}

/**
 * True when an HTTP Host header names this machine's loopback interface (`localhost`,
 * `127.x.x.x`, `[::1]`, with or without a port). Used to refuse DNS-rebinding requests on
 * an admin listener that runs without a token.
 */
export function isLoopbackHostHeader(hostHeader: string | undefined): boolean {
  if (!hostHeader) return false;
  const host = hostHeader.startsWith('[')
    ? hostHeader.slice(0, hostHeader.indexOf(']') + 1)
    : hostHeader.replace(/:\d*$/, '');
  const name = host.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost') || isLoopbackAddress(name);
}
