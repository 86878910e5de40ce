// Balancer stats in the Prometheus text exposition format, version 0.0.4: one `# HELP`
// and `# TYPE` per metric family, its samples right after, label values escaped.
// Latency histograms are cumulative (`le` in seconds, ending with `+Inf`), with `_sum`
// and `_count`. Per-backend series carry `backend` (the id) and `address` labels.
import { backendStates } from '../config/schema.js';
import type { ClusterLimitsStats } from '../protection/cluster-limits.js';
import type { BackendStats, BalancerStats } from '../stats.js';

export const prometheusContentType = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Readonly<Record<string, string>>;
type MetricType = 'counter' | 'gauge' | 'histogram';

/** Extra facts that are not part of `stats()`. */
export interface PrometheusInfo {
  /** The load-balancing strategy in use, exported as `lb_strategy_info{strategy=...} 1`. */
  strategy?: string;
  /** Cluster-wide rate limits (protection.cluster), when running with a cluster rule. */
  clusterLimits?: ClusterLimitsStats;
}

/** `\`, `"` and newline escaped, as label values need. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** `\` and newline escaped, as HELP text needs. */
function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A sample value: integers as such, floats in the shortest exact form, `+Inf`, `-Inf`, `NaN`. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** Seconds from milliseconds, without binary noise (0.1 ms is `0.0001`, not `0.00010000000000000002`). */
function msToSeconds(ms: number): number {
  return Number((ms / 1000).toPrecision(12));
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

/** Writes families one at a time so that every family's samples stay together. */
class Exposition {
  readonly #lines: string[] = [];

  family(
    name: string,
    type: MetricType,
    help: string,
    write: (sample: (suffix: string, labels: Labels, value: number) => void) => void,
  ): void {
    this.#lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    write((suffix, labels, value) => this.#lines.push(`${name}${suffix}${formatLabels(labels)} ${formatValue(value)}`));
  }

  /** A family of one sample without labels. */
  total(name: string, type: 'counter' | 'gauge', help: string, value: number): void {
    this.family(name, type, help, (sample) => sample('', {}, value));
  }

  /** One value per backend. */
  perBackend(
    name: string,
    type: 'counter' | 'gauge',
    help: string,
    backends: readonly BackendStats[],
    value: (b: BackendStats) => number,
  ): void {
    this.family(name, type, help, (sample) => {
      for (const b of backends) sample('', backendLabels(b), value(b));
    });
  }

  /** A gauge per backend and value of `label`: 1 for the backend's current value, 0 for the others. */
  perBackendOneOf(
    name: string,
    help: string,
    label: string,
    values: readonly string[],
    backends: readonly BackendStats[],
    current: (b: BackendStats) => string,
  ): void {
    this.family(name, 'gauge', help, (sample) => {
      for (const b of backends)
        for (const value of values) sample('', { ...backendLabels(b), [label]: value }, current(b) === value ? 1 : 0);
    });
  }

  text(): string {
    return `${this.#lines.join('\n')}\n`;
  }
}

function backendLabels(b: BackendStats): Labels {
  return { backend: String(b.id), address: b.address };
}

const statusClasses = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

function responsesOf(
  counters: Pick<BalancerStats, 'responses1xx' | 'responses2xx' | 'responses3xx' | 'responses4xx' | 'responses5xx'>,
  code: (typeof statusClasses)[number],
): number {
  return counters[`responses${code}`];
}

/** Renders `stats` (from `balancer.stats()`) as a Prometheus text exposition. */
export function renderPrometheus(stats: BalancerStats, info: PrometheusInfo = {}): string {
  const out = new Exposition();
  renderBalancer(stats, info, out);
  if (stats.protection) renderProtection(stats.protection, out);
  if (stats.tls) renderTls(stats.tls, out);
  if (stats.http2) renderHttp2(stats.requests, stats.http2, out);
  if (info.clusterLimits) renderClusterLimits(info.clusterLimits, out);
  if (stats.circuitBreaker) renderCircuitBreaker(stats.circuitBreaker, out);
  renderBackends(stats, out);
  return out.text();
}

/** The balancer as a whole. */
function renderBalancer(stats: BalancerStats, info: PrometheusInfo, out: Exposition): void {
  out.total('lb_workers', 'gauge', 'Data-path worker threads.', stats.workers);
  if (info.strategy !== undefined) {
    const strategy = info.strategy;
    out.family('lb_strategy_info', 'gauge', 'The load-balancing strategy in use (always 1).', (sample) =>
      sample('', { strategy }, 1),
    );
  }
  out.total('lb_accepted_connections_total', 'counter', 'Client connections accepted.', stats.acceptedConnections);
  out.total('lb_active_client_connections', 'gauge', 'Client connections open now.', stats.activeClientConnections);
  out.total('lb_requests_total', 'counter', 'Requests received from clients.', stats.requests);
  out.family('lb_responses_total', 'counter', 'Responses sent to clients, by status class.', (sample) => {
    for (const code of statusClasses) sample('', { code }, responsesOf(stats, code));
  });
  out.total(
    'lb_bad_requests_total',
    'counter',
    'Malformed or over-limit requests answered 4xx by the balancer itself.',
    stats.badRequests,
  );
  out.total('lb_no_backend_total', 'counter', 'Requests answered 503 because no backend could take them.', stats.noBackend);
  out.total(
    'lb_panic_routed_total',
    'counter',
    'Requests sent to an ejected or down backend because no backend was eligible (panic routing).',
    stats.panicRouted,
  );
  out.total('lb_bad_gateway_total', 'counter', 'Requests answered 502 by the balancer.', stats.badGateway);
  out.total('lb_gateway_timeout_total', 'counter', 'Requests answered 504 by the balancer.', stats.gatewayTimeout);
  out.total('lb_client_received_bytes_total', 'counter', 'Bytes received from clients.', stats.bytesFromClients);
  out.total('lb_client_sent_bytes_total', 'counter', 'Bytes sent to clients.', stats.bytesToClients);
  out.total('lb_bodies_copied_total', 'counter', 'Message bodies copied through user-space buffers.', stats.bodiesCopied);
  out.total(
    'lb_bodies_spliced_total',
    'counter',
    'Large Content-Length bodies moved, at least partly, by splice(2) between two plain sockets.',
    stats.bodiesSpliced,
  );
  out.total('lb_body_spliced_bytes_total', 'counter', 'Body bytes moved by splice(2).', stats.bodyBytesSpliced);
  out.total('lb_events_dropped_total', 'counter', "Events dropped because a worker's event ring was full.", stats.eventsDropped);
  out.total(
    'lb_access_log_dropped_total',
    'counter',
    "Access-log records dropped because a worker's ring was full.",
    stats.accessLogDropped,
  );
  out.total('lb_worker_errors_total', 'counter', 'Errors reported by data-path workers.', stats.workerErrors);
}

/** Per backend: configuration, state, queue, traffic, connections, latency. */
function renderBackends(stats: BalancerStats, out: Exposition): void {
  const backends = stats.backends;
  out.perBackend('lb_backend_weight', 'gauge', 'Configured weight.', backends, (b) => b.weight);
  out.perBackendOneOf(
    'lb_backend_state',
    'Administrative state: 1 for the current one (ready, drain, maint), 0 for the others.',
    'state',
    backendStates,
    backends,
    (b) => b.state,
  );
  out.perBackendOneOf(
    'lb_backend_health',
    'Active health: 1 for the current one (up, down, unchecked), 0 for the others.',
    'health',
    ['up', 'down', 'unchecked'],
    backends,
    (b) => b.health,
  );
  out.perBackend('lb_backend_queued', 'gauge', 'Requests waiting for a slot (maxConnections) now.', backends, (b) => b.queued);
  out.perBackend(
    'lb_backend_queue_wait_seconds_total',
    'counter',
    'Total wait of the requests that waited for a slot and got one.',
    backends,
    (b) => b.queueWaitUsTotal / 1e6,
  );
  out.perBackend(
    'lb_backend_dequeued_total',
    'counter',
    'Requests that waited for a slot and got one.',
    backends,
    (b) => b.dequeued,
  );
  out.perBackend(
    'lb_backend_queue_timeouts_total',
    'counter',
    'Requests answered 503: no slot within queue.timeoutMs, or no room in the queue.',
    backends,
    (b) => b.queueTimeouts + b.queueFull,
  );
  out.perBackend(
    'lb_backend_ejected_workers',
    'gauge',
    'Workers that have the backend ejected by passive health now.',
    backends,
    (b) => b.ejectedWorkers,
  );
  out.perBackend(
    'lb_backend_ejections_total',
    'counter',
    'Ejections by passive health, summed over workers.',
    backends,
    (b) => b.ejections,
  );
  out.perBackend('lb_backend_requests_total', 'counter', 'Requests sent to the backend.', backends, (b) => b.requests);
  out.family('lb_backend_responses_total', 'counter', 'Responses from the backend, by status class.', (sample) => {
    for (const b of backends) for (const code of statusClasses) sample('', { ...backendLabels(b), code }, responsesOf(b, code));
  });
  out.perBackend(
    'lb_backend_active_connections',
    'gauge',
    'Backend connections carrying a request now.',
    backends,
    (b) => b.activeConnections,
  );
  out.perBackend(
    'lb_backend_idle_connections',
    'gauge',
    'Pooled idle backend connections now.',
    backends,
    (b) => b.idleConnections,
  );
  out.perBackend(
    'lb_backend_connections_opened_total',
    'counter',
    'Backend connections opened.',
    backends,
    (b) => b.connectionsOpened,
  );
  out.perBackend(
    'lb_backend_tls_handshakes_total',
    'counter',
    'TLS handshakes with the backend done in full (no session resumed).',
    backends,
    (b) => b.tlsHandshakesFull,
  );
  out.perBackend(
    'lb_backend_tls_resumed_handshakes_total',
    'counter',
    'TLS handshakes with the backend that resumed the last session.',
    backends,
    (b) => b.tlsHandshakesResumed,
  );
  out.perBackend(
    'lb_backend_tls_handshake_failures_total',
    'counter',
    'TLS handshakes with the backend that failed (certificate not verified, refused, closed).',
    backends,
    (b) => b.tlsHandshakeFailures,
  );
  out.perBackend('lb_backend_sent_bytes_total', 'counter', 'Bytes sent to the backend.', backends, (b) => b.bytesToBackend);
  out.perBackend(
    'lb_backend_received_bytes_total',
    'counter',
    'Bytes received from the backend.',
    backends,
    (b) => b.bytesFromBackend,
  );
  out.perBackend(
    'lb_backend_connect_errors_total',
    'counter',
    'Failed connects to the backend (refused, timed out).',
    backends,
    (b) => b.connectErrors,
  );
  out.perBackend(
    'lb_backend_errors_total',
    'counter',
    'Failures on established backend connections (reset, EOF before a full response).',
    backends,
    (b) => b.backendErrors,
  );
  out.perBackend(
    'lb_backend_retries_total',
    'counter',
    'Requests retried after failing on the backend.',
    backends,
    (b) => b.retries,
  );

  histogram(
    out,
    'lb_backend_time_to_first_byte_seconds',
    'From the request head parsed to the response head from the backend.',
    stats,
    (b) => [b.timeToFirstByte, b.timeToFirstByteSumUs],
  );
  histogram(
    out,
    'lb_backend_request_duration_seconds',
    "From the request head parsed to the response's last byte.",
    stats,
    (b) => [b.totalTime, b.totalTimeSumUs],
  );
}

/** The pool's circuit breaker (docs/protection.md). */
function renderCircuitBreaker(c: NonNullable<BalancerStats['circuitBreaker']>, out: Exposition): void {
  out.total('lb_circuit_breaker_active', 'gauge', "Requests holding a slot of the pool's circuit breaker.", c.active);
  out.total('lb_circuit_breaker_pending', 'gauge', "Requests waiting for a slot of the pool's circuit breaker.", c.pending);
  out.total(
    'lb_circuit_breaker_overflow_total',
    'counter',
    "503s from the pool's circuit breaker: maxRequests in flight and maxPendingRequests waiting.",
    c.overflow,
  );
}

function histogram(
  out: Exposition,
  name: string,
  help: string,
  stats: BalancerStats,
  pick: (b: BackendStats) => [counts: readonly number[], sumUs: number],
): void {
  const bounds = stats.latencyBoundsMs.map(msToSeconds);
  out.family(name, 'histogram', help, (sample) => {
    for (const b of stats.backends) {
      const [counts, sumUs] = pick(b);
      const labels = backendLabels(b);
      let cumulative = 0;
      bounds.forEach((le, i) => {
        cumulative += counts[i] ?? 0;
        sample('_bucket', { ...labels, le: formatValue(le) }, cumulative);
      });
      // The last bucket holds everything slower than the last bound.
      for (let i = bounds.length; i < counts.length; i += 1) cumulative += counts[i] ?? 0;
      sample('_bucket', { ...labels, le: '+Inf' }, cumulative);
      sample('_sum', labels, sumUs / 1e6);
      sample('_count', labels, cumulative);
    }
  });
}

/** TLS listeners (docs/tls.md): handshakes by kind, failures by reason, record-layer path by reason. */
function renderTls(t: NonNullable<BalancerStats['tls']>, out: Exposition): void {
  out.family('lb_tls_handshakes_total', 'counter', 'Client TLS handshakes completed, full or resumed.', (sample) => {
    sample('', { kind: 'full' }, t.handshakesFull);
    sample('', { kind: 'resumed' }, t.handshakesResumed);
  });
  out.family('lb_tls_handshake_failures_total', 'counter', 'Client TLS handshakes that failed, by reason.', (sample) => {
    const f = t.handshakeFailures;
    const reasons = {
      timeout: f.timeout,
      version: f.version,
      no_shared_cipher: f.noSharedCipher,
      client_certificate: f.clientCertificate,
      not_tls: f.notTls,
      closed: f.closed,
      other: f.other,
    };
    for (const [reason, value] of Object.entries(reasons)) sample('', { reason }, value);
  });
  out.family(
    'lb_tls_record_layer_total',
    'counter',
    'Established TLS connections by where their record layer ran (kernel kTLS or user space) and, for user space, why.',
    (sample) => {
      sample('', { path: 'ktls', reason: 'offloaded' }, t.recordLayerKtls);
      sample('', { path: 'userspace', reason: 'ktls_off' }, t.recordLayerUserspace.ktlsOff);
      sample('', { path: 'userspace', reason: 'no_kernel_tls' }, t.recordLayerUserspace.noKernelTls);
      sample('', { path: 'userspace', reason: 'openssl_declined' }, t.recordLayerUserspace.opensslDeclined);
    },
  );
  out.family(
    'lb_tls_ktls_available',
    'gauge',
    'Whether kTLS is usable here: the kernel offers the tls ULP and OpenSSL has kTLS.',
    (sample) => sample('', {}, t.ktls.kernel && t.ktls.openssl ? 1 : 0),
  );
}

/** Edge protection (docs/protection.md); per-rule 429s are in GET /protection, by name. */
function renderProtection(p: NonNullable<BalancerStats['protection']>, out: Exposition): void {
  out.total('lb_protection_denied_total', 'counter', 'Connections closed at accept by the allow/deny lists.', p.denied);
  out.total(
    'lb_protection_connections_limited_total',
    'counter',
    'Connections closed at accept: the client had maxConnectionsPerClient open.',
    p.connectionsLimited,
  );
  out.total('lb_protection_rate_limited_total', 'counter', 'Requests answered 429 by a rate limit.', p.rateLimited);
  out.total('lb_protection_rate_table_keys', 'gauge', "Keys in the workers' rate-limit tables.", p.rateTableKeys);
  out.total(
    'lb_protection_rate_table_evictions_total',
    'counter',
    'Live rate-limit keys forgotten to make room for new ones.',
    p.rateTableEvictions,
  );
}

/** HTTP/2 to clients: requests by protocol, streams, resets by reason, defences. */
function renderHttp2(requests: number, h2: NonNullable<BalancerStats['http2']>, out: Exposition): void {
  out.family('lb_requests_by_protocol_total', 'counter', 'Requests received from clients, by protocol.', (sample) => {
    sample('', { protocol: 'h1' }, Math.max(0, requests - h2.requests));
    sample('', { protocol: 'h2' }, h2.requests);
  });
  out.total('lb_h2_connections_total', 'counter', 'Client connections that spoke HTTP/2.', h2.connections);
  out.total('lb_h2_streams_active', 'gauge', 'HTTP/2 streams open now.', h2.streamsActive);
  out.family('lb_h2_stream_resets_total', 'counter', 'HTTP/2 streams reset, by reason.', (sample) => {
    sample('', { reason: 'client' }, h2.resetsByClient);
    sample('', { reason: 'refused' }, h2.refusedStreams);
    sample('', { reason: 'malformed' }, h2.malformedRequests);
    sample('', { reason: 'stalled' }, h2.stalledStreamsReset);
  });
  out.total(
    'lb_h2_backend_exchanges_cancelled_total',
    'counter',
    'Backend exchanges cut short because their HTTP/2 stream went away.',
    h2.exchangesCancelled,
  );
  out.total('lb_h2_header_list_too_large_total', 'counter', 'HTTP/2 requests answered 431.', h2.headerListTooLarge);
  out.family(
    'lb_h2_connections_ended_total',
    'counter',
    'HTTP/2 connections ended by a defence (GOAWAY), by defence.',
    (sample) => {
      for (const [defence, value] of Object.entries(h2.connectionsEndedBy)) sample('', { defence }, value);
    },
  );
}

/** Cluster-wide rate limits on Redis (docs/protection.md, "Across balancers"). */
function renderClusterLimits(c: ClusterLimitsStats, out: Exposition): void {
  out.total(
    'lb_protection_cluster_degraded',
    'gauge',
    'Redis cannot be reached: 1 while this balancer applies its local share of the cluster rate limits.',
    c.degraded ? 1 : 0,
  );
  out.total('lb_protection_cluster_exchanges_total', 'counter', 'Exchanges with Redis that worked.', c.exchanges);
  out.total('lb_protection_cluster_exchange_failures_total', 'counter', 'Exchanges with Redis that failed.', c.failures);
  out.total('lb_protection_cluster_blocked_keys', 'gauge', 'Keys over their cluster-wide limit now.', c.blockedKeys);
  out.total(
    'lb_protection_cluster_limited_total',
    'counter',
    'Requests answered 429 because their key was over its cluster-wide limit.',
    c.limited,
  );
}
