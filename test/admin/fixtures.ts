// Hand-made stats snapshots for the pure renderers (Prometheus text, top): every field of
// BalancerStats, zero unless the test says otherwise.
import type { BackendStats, BalancerStats } from '../../src/stats.js';

export const boundsMs = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

export function backendStats(id: number, fields: Partial<BackendStats> = {}): BackendStats {
  const buckets = () => new Array<number>(boundsMs.length + 1).fill(0);
  return {
    id,
    address: `127.0.0.1:${9000 + id}`,
    host: '127.0.0.1',
    port: 9000 + id,
    weight: 1,
    state: 'ready',
    health: 'unchecked',
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
    ...fields,
  };
}

export function balancerStats(fields: Partial<BalancerStats> = {}): BalancerStats {
  return {
    workers: 2,
    acceptedConnections: 0,
    activeClientConnections: 0,
    requests: 0,
    responses1xx: 0,
    responses2xx: 0,
    responses3xx: 0,
    responses4xx: 0,
    responses5xx: 0,
    badRequests: 0,
    noBackend: 0,
    panicRouted: 0,
    badGateway: 0,
    gatewayTimeout: 0,
    bytesFromClients: 0,
    bytesToClients: 0,
    bodiesCopied: 0,
    bodiesSpliced: 0,
    bodyBytesSpliced: 0,
    eventsDropped: 0,
    accessLogDropped: 0,
    latencyBoundsMs: boundsMs,
    backends: [],
    workerErrors: 0,
    ...fields,
  };
}

/** A histogram with `count` samples in the bucket whose upper bound is `boundMs` (Infinity: the last). */
export function histogram(entries: [boundMs: number, count: number][]): number[] {
  const counts = new Array<number>(boundsMs.length + 1).fill(0);
  for (const [bound, count] of entries) {
    const i = bound === Infinity ? boundsMs.length : boundsMs.indexOf(bound);
    if (i < 0) throw new Error(`no bucket ${bound}`);
    counts[i] = (counts[i] ?? 0) + count;
  }
  return counts;
}
