// Resolves a pool's DNS name into backends and a TTL: A/AAAA with node:dns's Resolver
// (which reports TTLs with { ttl: true }), SRV with our own query (srv.ts), since node's
// resolveSrv reports no TTL. Both ask the configured server, or the system's.
import { Resolver } from 'node:dns/promises';
import { isIPv4, isIPv6 } from 'node:net';

import { formatAddress } from '../config/address.js';
import { DnsQueryError } from '../errors.js';
import type { DnsServer } from './dns-query.js';
import { type DiscoveredBackend, clampWeight } from './discovered-backend.js';
import { resolveSrv } from './srv.js';

export type DnsRecordType = 'A' | 'AAAA' | 'SRV';

export interface DnsLookup {
  /** The name to resolve: a host name (A/AAAA) or an SRV name such as `_http._tcp.api.internal`. */
  name: string;
  type: DnsRecordType;
  /** A/AAAA: the backends' port. Ignored for SRV (each record has its own). */
  port?: number;
  /** `host:port` (or `[ipv6]:port`, or a bare address for port 53) of the DNS server; default: the system's. */
  resolver?: string;
  /** A/AAAA: the weight of every backend found. Ignored for SRV (weights come from the records). */
  weight?: number;
  /** Per query try. Default 2000. */
  timeoutMs?: number;
  /** Tries per query. Default 2. */
  tries?: number;
}

/** What a name resolved to. */
export interface DnsAnswer {
  backends: DiscoveredBackend[];
  /** Seconds, the smallest TTL of the records used. */
  ttl: number;
}

/** Parses `host:port`, `[ipv6]:port`, or a bare numeric address (port 53). Throws RangeError. */
export function parseDnsServer(text: string): DnsServer {
  const trimmed = text.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(trimmed);
  let host: string;
  let port = 53;
  if (bracketed) {
    host = bracketed[1]!;
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (isIPv6(trimmed)) {
    host = trimmed;
  } else {
    const match = /^([^:]+)(?::(\d+))?$/.exec(trimmed);
    if (!match) throw new RangeError(`resolver '${text}': expected host:port, e.g. 127.0.0.1:53`);
    host = match[1]!;
    if (match[2] !== undefined) port = Number(match[2]);
  }
  if (!isIPv4(host) && !isIPv6(host)) throw new RangeError(`resolver '${text}': the host must be a numeric IP address`);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new RangeError(`resolver '${text}': port must be 1-65535`);
  return { host, port };
}

/** The system's DNS servers (from /etc/resolv.conf), as node reads them. */
export function systemDnsServers(): DnsServer[] {
  return new Resolver().getServers().flatMap((text) => {
    try {
      return [parseDnsServer(text)];
    } catch {
      return [];
    }
  });
}

/** Resolves one DNS name into backends. Create once per pool; `resolve()` may be called again and again. */
export class DnsResolver {
  readonly #lookup: DnsLookup;
  readonly #servers: DnsServer[];
  readonly #node: Resolver;

  constructor(lookup: DnsLookup) {
    this.#lookup = lookup;
    this.#node = new Resolver({ timeout: lookup.timeoutMs ?? 2_000, tries: lookup.tries ?? 2 });
    if (lookup.resolver !== undefined) {
      const server = parseDnsServer(lookup.resolver);
      this.#servers = [server];
      this.#node.setServers([formatAddress(server.host, server.port)]);
    } else {
      this.#servers = systemDnsServers();
    }
  }

  /** Resolves now. Rejects with DnsQueryError (reason ENOTFOUND, ENODATA, ETIMEOUT, SERVFAIL, ...). */
  async resolve(): Promise<DnsAnswer> {
    const { type } = this.#lookup;
    return type === 'SRV' ? this.#resolveSrv() : this.#resolveAddress(type);
  }

  /** Cancels queries in flight (A/AAAA); they reject with ECANCELLED. */
  cancel(): void {
    this.#node.cancel();
  }

  async #resolveAddress(type: 'A' | 'AAAA'): Promise<DnsAnswer> {
    const { name, port, weight } = this.#lookup;
    if (port === undefined) throw new RangeError(`${type} discovery of '${name}' needs a port`);
    let records: Array<{ address: string; ttl: number }>;
    try {
      records = type === 'A' ? await this.#node.resolve4(name, { ttl: true }) : await this.#node.resolve6(name, { ttl: true });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new DnsQueryError(
        typeof code === 'string' ? code : 'EUNKNOWN',
        `DNS query ${name} ${type} failed: ${String((error as Error).message ?? error)}`,
        {
          cause: error,
        },
      );
    }
    if (records.length === 0) throw new DnsQueryError('ENODATA', `no ${type} records for ${name}`);
    const seen = new Set<string>();
    const backends: DiscoveredBackend[] = [];
    for (const record of records) {
      const address = formatAddress(record.address, port);
      if (seen.has(address)) continue;
      seen.add(address);
      backends.push(weight === undefined ? { address } : { address, weight: clampWeight(weight) });
    }
    return { backends, ttl: Math.min(...records.map((r) => r.ttl)) };
  }

  async #resolveSrv(): Promise<DnsAnswer> {
    const { name, timeoutMs, tries } = this.#lookup;
    if (this.#servers.length === 0) throw new DnsQueryError('ENOSERVER', 'no DNS server configured (none in /etc/resolv.conf)');
    const options = { ...(timeoutMs !== undefined && { timeoutMs }), ...(tries !== undefined && { tries }) };
    let lastError: unknown;
    // Like the system resolver: the next server when one does not answer at all.
    for (const server of this.#servers) {
      try {
        const { backends, ttl } = await resolveSrv(server, name, options);
        return { backends, ttl };
      } catch (error) {
        lastError = error;
        const reason = error instanceof DnsQueryError ? error.reason : undefined;
        if (reason !== 'ETIMEOUT' && reason !== 'ECONNREFUSED') break;
      }
    }
    throw lastError;
  }
}
