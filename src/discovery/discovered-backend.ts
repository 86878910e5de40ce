// What a discovery source reports: one backend per address, with the weight and state it
// asks for (when it asks for one). Addresses are compared by config/address.ts's addressKey.
import type { BackendState } from '../config/schema.js';

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
