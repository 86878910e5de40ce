// What a discovery source reports: one backend per address, with the weight and state it
// asks for (when it asks for one), and how addresses are compared.
import { isIPv6 } from 'node:net';

import type { BackendState } from '../index.js';

/** One backend found by DNS or etcd. */
export interface DiscoveredBackend {
  /** `host:port`, or `[ipv6]:port`. */
  address: string;
  /** 1-256. Absent: a new backend gets the default weight, an existing one keeps its own. */
  weight?: number;
  /** Absent: a new backend starts 'ready', an existing one keeps its state (set by an operator, say). */
  state?: BackendState;
}

/** The smallest and largest backend weights the balancer accepts. */
export const weightRange = { min: 1, max: 256 } as const;

/** `weight` rounded and clamped to 1-256. */
export function clampWeight(weight: number): number {
  if (!Number.isFinite(weight)) return weightRange.min;
  return Math.min(weightRange.max, Math.max(weightRange.min, Math.round(weight)));
}

/** `host:port`, with brackets around an IPv6 host. */
export function joinHostPort(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * A key that is equal for two spellings of the same address: lower-case host names
 * without a trailing dot, IPv6 in its canonical form (`[::1]:80` and `[0:0::1]:80` match).
 * Text that is not `host:port` is its own key.
 */
export function addressKey(address: string): string {
  const trimmed = address.trim();
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(trimmed);
  if (bracketed) {
    const host = bracketed[1]!;
    const port = Number(bracketed[2]);
    if (isIPv6(host)) return `[${canonicalIPv6(host)}]:${port}`;
    return trimmed;
  }
  const plain = /^([^:[\]]+):(\d+)$/.exec(trimmed);
  if (!plain) return trimmed;
  const host = plain[1]!.toLowerCase().replace(/\.$/, '');
  return `${host}:${Number(plain[2])}`;
}

function canonicalIPv6(host: string): string {
  try {
    return new URL(`http://[${host}]/`).hostname.slice(1, -1);
  } catch {
    return host.toLowerCase();
  }
}
