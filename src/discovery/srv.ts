// SRV discovery (RFC 2782): which records count, how their weights become backend
// weights, and how their targets become addresses.
//
// - Priority: only the group with the lowest priority value is used. Its records are the
//   pool; higher-priority-value groups are standby and are used only when no target of
//   every lower group resolves to an address. (Failing over when lower-group backends are
//   merely unhealthy is the balancer's health checks' job, not DNS's.)
// - Weight: the SRV weight (0-65535) becomes the backend weight, clamped to 1-256. Weight
//   0 ("use very rarely") becomes 1. Two records for the same target and port add up.
// - Target: its A records (IPv4) are used; if it has none, its AAAA records. Addresses the
//   resolver put in the additional section are used without asking again.
// - TTL: the smallest TTL among the SRV records and the address records used.
import { formatAddress } from '../config/address.js';
import { DnsQueryError } from '../errors.js';
import type { DnsRecord } from './dns-message.js';
import { type DnsQueryOptions, type DnsServer, queryDns } from './dns-query.js';
import { type DiscoveredBackend, clampWeight } from './discovered-backend.js';

export interface SrvRecord {
  priority: number;
  weight: number;
  port: number;
  /** Lower case, no trailing dot; '' for the "service not available" target '.'. */
  target: string;
  ttl: number;
}

/** The SRV answer turned into backends, and how long it may be cached. */
export interface SrvResolution {
  backends: DiscoveredBackend[];
  /** Seconds. */
  ttl: number;
  /** The priority of the group used. */
  priority: number;
}

/** SRV records grouped by priority, lowest priority value first; '.' targets dropped. */
export function priorityGroups(records: readonly SrvRecord[]): SrvRecord[][] {
  const groups = new Map<number, SrvRecord[]>();
  for (const record of records) {
    if (record.target === '' || record.port === 0) continue;
    const group = groups.get(record.priority) ?? [];
    group.push(record);
    groups.set(record.priority, group);
  }
  return [...groups.entries()].sort(([a], [b]) => a - b).map(([, group]) => group);
}

/** SRV weight (0-65535) to backend weight (1-256). */
export function srvWeightToBackendWeight(weight: number): number {
  return clampWeight(weight);
}

/** Addresses for one target, and the TTL of the records they came from. */
interface TargetAddresses {
  addresses: string[];
  ttl: number;
}

/**
 * Resolves `name` (e.g. `_http._tcp.api.internal`) with `server`: the SRV records, then
 * the addresses of the targets of the lowest priority group that has any. Rejects with
 * DnsQueryError when the SRV query fails, or (reason 'ENODATA') when nothing usable is left.
 */
export async function resolveSrv(server: DnsServer, name: string, options: DnsQueryOptions = {}): Promise<SrvResolution> {
  const response = await queryDns(server, name, 'SRV', options);
  const records: SrvRecord[] = [];
  for (const record of response.answers) {
    if (record.type === 'SRV') records.push({ ...record });
  }
  if (records.length === 0) throw new DnsQueryError('ENODATA', `no SRV records for ${name}`);
  const groups = priorityGroups(records);
  if (groups.length === 0) throw new DnsQueryError('ENODATA', `${name}: the service is not available (SRV target '.')`);

  const cache = new Map<string, Promise<TargetAddresses>>();
  const addressesOf = (target: string): Promise<TargetAddresses> => {
    let found = cache.get(target);
    if (!found) {
      found = targetAddresses(server, target, response.additional, options);
      cache.set(target, found);
    }
    return found;
  };

  const failures: string[] = [];
  for (const group of groups) {
    const resolved = await Promise.all(
      group.map((record) =>
        addressesOf(record.target).then(
          (found) => ({ record, found }),
          (error: unknown) => {
            failures.push(`${record.target}: ${error instanceof Error ? error.message : String(error)}`);
            return { record, found: undefined };
          },
        ),
      ),
    );
    const byAddress = new Map<string, number>();
    let ttl = Math.min(...group.map((r) => r.ttl));
    for (const { record, found } of resolved) {
      if (!found || found.addresses.length === 0) continue;
      ttl = Math.min(ttl, found.ttl);
      for (const host of found.addresses) {
        const address = formatAddress(host, record.port);
        byAddress.set(address, (byAddress.get(address) ?? 0) + record.weight);
      }
    }
    if (byAddress.size > 0) {
      const backends = [...byAddress].map(([address, weight]) => ({ address, weight: srvWeightToBackendWeight(weight) }));
      return { backends, ttl, priority: group[0]!.priority };
    }
  }
  throw new DnsQueryError(
    'ENODATA',
    `${name}: no SRV target resolved to an address (${failures.join('; ') || 'no A/AAAA records'})`,
  );
}

/** A, else AAAA, records of `target`: from the additional section when there, else asked for. */
async function targetAddresses(
  server: DnsServer,
  target: string,
  additional: readonly DnsRecord[],
  options: DnsQueryOptions,
): Promise<TargetAddresses> {
  for (const type of ['A', 'AAAA'] as const) {
    const given = additional.filter((r) => r.type === type && r.name === target);
    if (given.length > 0) return collect(given);
  }
  for (const type of ['A', 'AAAA'] as const) {
    try {
      const response = await queryDns(server, target, type, options);
      // Answers may come through a CNAME chain; every A/AAAA in the answer is the target's.
      const found = response.answers.filter((r) => r.type === type);
      if (found.length > 0) return collect(found);
    } catch (error) {
      // NXDOMAIN for A means NXDOMAIN for AAAA too.
      if (error instanceof DnsQueryError && error.reason === 'NXDOMAIN') throw error;
      if (type === 'AAAA') throw error;
    }
  }
  return { addresses: [], ttl: Number.POSITIVE_INFINITY };
}

function collect(records: readonly DnsRecord[]): TargetAddresses {
  const addresses: string[] = [];
  let ttl = Number.POSITIVE_INFINITY;
  for (const record of records) {
    if (record.type !== 'A' && record.type !== 'AAAA') continue;
    if (!addresses.includes(record.address)) addresses.push(record.address);
    ttl = Math.min(ttl, record.ttl);
  }
  return { addresses, ttl };
}
