// Addresses as users write them: `host:port`, `[ipv6]:port`, where host is an IPv4
// address, a bracketed IPv6 address or a host name. Host names are resolved to numeric
// addresses before anything reaches the native side, which takes numbers only. The one
// home of address identity too: how an address is written back (formatAddress), when two
// spellings are the same address (addressKey), and which addresses are loopback.
import { lookup } from 'node:dns/promises';
import { isIPv4, isIPv6 } from 'node:net';

import { LbResolveError } from '../errors.js';

export type HostKind = 'ipv4' | 'ipv6' | 'hostname';

/** A parsed address; `host` has no brackets. */
export interface ParsedAddress {
  host: string;
  port: number;
  kind: HostKind;
}

export type ParseAddressResult = { ok: true; address: ParsedAddress } | { ok: false; message: string };

export interface ParseAddressOptions {
  /** Accept port 0 (let the kernel pick a free port): for listen addresses only. */
  allowPortZero?: boolean;
}

const hostnamePattern =
  /^(?=.{1,253}\.?$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;

/**
 * Parses `host:port` or `[ipv6]:port`. Never throws: a failure carries a message saying
 * what was expected, e.g. `port must be 1-65535, got 70000`.
 */
export function parseAddress(text: string, options: ParseAddressOptions = {}): ParseAddressResult {
  const fail = (message: string): ParseAddressResult => ({ ok: false, message });
  if (text === '') return fail('expected host:port, e.g. 127.0.0.1:9001');

  let host: string;
  let portText: string;
  let kind: HostKind;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) return fail("missing ']' after the IPv6 address; expected [ipv6]:port");
    host = text.slice(1, close);
    if (!isIPv6(host)) return fail(`'${host}' is not an IPv6 address; expected [ipv6]:port`);
    const rest = text.slice(close + 1);
    if (rest === '') return fail('missing port; expected [ipv6]:port, e.g. [::1]:8080');
    if (!rest.startsWith(':')) return fail('expected [ipv6]:port, e.g. [::1]:8080');
    portText = rest.slice(1);
    kind = 'ipv6';
  } else {
    const colon = text.indexOf(':');
    if (colon === -1) return fail('missing port; expected host:port, e.g. 127.0.0.1:9001');
    if (text.indexOf(':', colon + 1) !== -1) {
      return fail('IPv6 addresses need brackets, e.g. [::1]:8080');
    }
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host === '') return fail('missing host; expected host:port, e.g. 127.0.0.1:9001');
    if (isIPv4(host)) {
      kind = 'ipv4';
    } else if (/^[0-9.]+$/.test(host)) {
      return fail(`'${host}' is not a valid IPv4 address`);
    } else if (hostnamePattern.test(host)) {
      kind = 'hostname';
    } else {
      return fail(`'${host}' is not a valid host name or IP address`);
    }
  }

  const min = options.allowPortZero ? 0 : 1;
  if (!/^[0-9]+$/.test(portText)) {
    return fail(
      portText === '' ? `missing port; expected a port ${min}-65535` : `port must be a number ${min}-65535, got '${portText}'`,
    );
  }
  const port = Number(portText);
  if (port < min || port > 65_535) return fail(`port must be ${min}-65535, got ${port}`);
  return { ok: true, address: { host, port, kind } };
}

/** `host:port`, with brackets around an IPv6 host. */
export function formatAddress(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The key two backend addresses are the same by, equal for every spelling of one address:
 * IPv6 in its canonical form (`[0:0::1]:80` and `[::1]:80`), host names lower-case without
 * a trailing dot (`Web.Example.:80` and `web.example:80`), the port as a number (`080`
 * and `80`). Takes a parsed address or text (`host:port`, `[ipv6]:port`); text that does
 * not parse is its own key. Host names are compared as names, never resolved.
 */
export function addressKey(address: string | { host: string; port: number }): string {
  if (typeof address === 'string') {
    const text = address.trim();
    const parsed = parseAddress(text);
    return parsed.ok ? addressKey(parsed.address) : text;
  }
  return formatAddress(canonicalHost(address.host), address.port);
}

/** `host` as addressKey compares it (brackets around IPv6 are dropped). */
export function canonicalHost(host: string): string {
  const bare = withoutBrackets(host);
  if (isIPv6(bare)) return canonicalIPv6(bare);
  if (isIPv4(bare)) return bare;
  return bare.toLowerCase().replace(/\.$/, '');
}

/**
 * True for the loopback addresses: 127.0.0.0/8, ::1 in any spelling, and IPv4-mapped
 * 127.x (`::ffff:127.0.0.1`); brackets allowed. The unspecified addresses (0.0.0.0, ::)
 * and host names (even `localhost`, which is only a name until resolved) are not.
 */
export function isLoopback(host: string): boolean {
  const bare = withoutBrackets(host);
  if (isIPv4(bare)) return bare.split('.')[0] === '127';
  if (!isIPv6(bare)) return false;
  const canonical = canonicalIPv6(bare);
  if (canonical === '::1') return true;
  // IPv4-mapped addresses come out of canonicalIPv6 as ::ffff:HHHH:HHHH.
  const mapped = /^::ffff:([0-9a-f]{1,4}):[0-9a-f]{1,4}$/.exec(canonical);
  return mapped !== null && Number.parseInt(mapped[1]!, 16) >> 8 === 127;
}

function withoutBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** RFC 5952 form (lower case, longest zero run compressed), as the WHATWG URL parser writes it. */
function canonicalIPv6(host: string): string {
  try {
    return new URL(`http://[${host}]/`).hostname.slice(1, -1);
  } catch {
    // A zone index (fe80::1%eth0) is no URL host: compared as written, in lower case.
    return host.toLowerCase();
  }
}

/**
 * The numeric address for `host`: itself if already numeric, else the first dns.lookup
 * answer. Throws LbResolveError naming `path` (where the host was given in the options).
 */
export async function resolveHost(host: string, path: string): Promise<string> {
  if (isIPv4(host) || isIPv6(host)) return host;
  try {
    const { address } = await lookup(host);
    return address;
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    throw new LbResolveError(path, host, typeof code === 'string' ? code : String(cause), { cause });
  }
}

export type ParsePublicUrlResult = { ok: true; url: string } | { ok: false; message: string };

/**
 * Checks a backend's public URL (redirect mode): an absolute http(s) URL of a host, with
 * no path but '/', no query, fragment or credentials. Returns its origin, e.g.
 * `https://web1.example.com` (lower-case host, default port dropped, no trailing '/').
 */
export function parsePublicUrl(text: string): ParsePublicUrlResult {
  const fail = (message: string): ParsePublicUrlResult => ({ ok: false, message });
  const expected = 'expected an absolute http(s) URL with no path, e.g. https://web1.example.com';
  const match = /^(https?):\/\/([^/?#]*)(.*)$/i.exec(text);
  if (!match) return fail(`'${text}' is not an http(s) URL; ${expected}`);
  const rest = match[3] ?? '';
  if (rest.includes('?') || rest.includes('#')) return fail(`'${text}' has a query or fragment; ${expected}`);
  if (rest !== '' && rest !== '/') return fail(`'${text}' has a path; ${expected} (the request's path is appended)`);
  if ((match[2] ?? '').includes('@')) return fail(`'${text}' has credentials; ${expected}`);
  if (/[\s\x00-\x1f\x7f]/.test(text)) return fail(`'${text}' contains spaces or control characters; ${expected}`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(`'${text}' is not a valid URL; ${expected}`);
  }
  if (url.hostname === '') return fail(`'${text}' has no host; ${expected}`);
  return { ok: true, url: url.origin };
}
