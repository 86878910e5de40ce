// Addresses as users write them: `host:port`, `[ipv6]:port`, where host is an IPv4
// address, a bracketed IPv6 address or a host name. Host names are resolved to numeric
// addresses before anything reaches the native side, which takes numbers only.
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

export type ParseAddressResult =
  | { ok: true; address: ParsedAddress }
  | { ok: false; message: string };

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
