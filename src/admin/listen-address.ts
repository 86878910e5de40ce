// The admin listener's address: `host:port` or `[ipv6]:port` (port 0 picks a free one),
// resolved to the one numeric address it binds, and whether that address is loopback,
// which decides whether a token is required.
import { isLoopback, parseAddress, resolveHost } from '../config/address.js';
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
  return { text, host, port: parsed.address.port, loopback: isLoopback(host) };
}

/**
 * True when an HTTP Host header names this machine's loopback interface (`localhost`,
 * `127.x.x.x`, `[::1]`, with or without a port). Used to refuse DNS-rebinding requests on
 * an admin listener that runs without a token.
 */
export function isLoopbackHostHeader(hostHeader: string | undefined): boolean {
  if (!hostHeader) return false;
  const host = hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.replace(/:\d*$/, '');
  const name = host.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost') || isLoopback(name);
}
