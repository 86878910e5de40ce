// What `balancer.stats()` and `balancer.backends()` return: each backend's configuration
// and health, and the native counters, summed over workers.
import type { BackendState } from './config/schema.js';
import type { BackendRef } from './events.js';
import type { NativeBackendStats, NativeStats } from './native.js';

/** The data path's counters for one backend (see NativeBackendStats for each). */
export type BackendCounters = Omit<NativeBackendStats, 'id'>;

/**
 * Active health as the control plane knows it: 'up' or 'down' by its health checks, or
 * 'unchecked' when no health check runs for the backend (it is then treated as up).
 */
export type BackendHealth = 'up' | 'down' | 'unchecked';

/** One backend as configured now (see `balancer.backends()`). */
export interface BackendStatus extends BackendRef {
  weight: number;
  state: BackendState;
  health: BackendHealth;
  /** Why the last health check failed, while health is 'down'. */
  healthReason?: string;
  /** Redirect mode: where clients are sent. */
  publicUrl?: string;
  /** Requests in flight on it at once, whole balancer (absent: no limit). */
  maxConnections?: number;
}

/** One backend: who it is, how it is configured, its health and its counters. */
export interface BackendStats extends BackendStatus, BackendCounters {}

/** The balancer-wide counters (see NativeStats for each). */
export type TotalCounters = Omit<NativeStats, 'backends'>;

export interface BalancerStats extends TotalCounters {
  /** The current backends, in id order (the order of the `backends` option, then those added). */
  backends: BackendStats[];
  /** 'error' events from workers since start (counted whether or not anyone listened). */
  workerErrors: number;
}

/** Counters of a backend the data path has not reported yet (added a moment ago). */
function zeroBackendCounters(native: NativeStats): BackendCounters {
  const buckets = () => new Array<number>((native.latencyBoundsMs?.length ?? 0) + 1).fill(0);
  return {
    requests: 0,
    responses1xx: 0,
    responses2xx: 0,
    responses3xx: 0,
    responses4xx: 0,
    responses5xx: 0,
    connectErrors: 0,
    backendErrors: 0,
    retries: 0,
    bytesToBackend: 0,
    bytesFromBackend: 0,
    activeConnections: 0,
    idleConnections: 0,
    connectionsOpened: 0,
    tlsHandshakesFull: 0,
    tlsHandshakesResumed: 0,
    tlsHandshakeFailures: 0,
    timeToFirstByte: buckets(),
    totalTime: buckets(),
    timeToFirstByteSumUs: 0,
    totalTimeSumUs: 0,
    ejections: 0,
    ejectedWorkers: 0,
    inFlight: 0,
    queued: 0,
    dequeued: 0,
    queueWaitUsTotal: 0,
    queueTimeouts: 0,
    queueFull: 0,
  };
}

/** Joins native counters with the current backends, by id. */
export function toBalancerStats(native: NativeStats, backends: readonly BackendStatus[], workerErrors: number): BalancerStats {
  const byId = new Map(native.backends.map((b) => [b.id, b]));
  const { backends: _ignored, ...totals } = native;
  const zeros = zeroBackendCounters(native);
  return {
    ...totals,
    backends: backends.map((status) => {
      const { id: _id, ...counters } = byId.get(status.id) ?? { id: status.id, ...zeros };
      // Counters an older addon does not report read as 0.
      return { ...status, ...zeros, ...counters };
    }),
    workerErrors,
  };
}
