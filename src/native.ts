// The only place that loads the compiled addon, and the exact shape of what crosses the
// boundary. Everything here is plain data: the TypeScript layer validates and resolves
// configuration before it reaches native code, and native code never calls back into
// JavaScript on the request path (events arrive in batches, see NativeEvent).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One backend as the data path sees it: a numeric address, already resolved. */
export interface NativeBackend {
  /** Stable id chosen by the control plane; counters and events refer to it. */
  id: number;
  /** Numeric IPv4 or IPv6 address (no brackets). */
  host: string;
  port: number;
  weight: number;
  /** 'ready' takes traffic; 'drain' takes none new but finishes in-flight; 'maint' takes none. */
  state: 'ready' | 'drain' | 'maint';
  /** Redirect mode: the base URL clients are sent to; default `http://host:port`. */
  publicUrl?: string;
  /** False while active health checks say the backend is down: it takes no new request. Default true. */
  healthy?: boolean;
  /** Requests in flight on it at once for the whole process; more wait in its queue. 0 (default): no limit. */
  maxConnections?: number;
  /** TLS towards it: verify the chain (against `ca`, PEM, or the system's store) and the name `serverName` (also sent as SNI when a DNS name). */
  tls?: { verify: boolean; ca?: string; serverName?: string };
}

/** Requests waiting for a backend at its maxConnections. */
/** HTTP/2 defences per client connection (docs/http2.md); see Http2LimitOptions. */
export interface NativeHttp2Limits {
  maxConcurrentStreams: number;
  maxHeaderListBytes: number;
  maxHeaderFields: number;
  maxHeaderBlockBytes: number;
  maxContinuationFrames: number;
  stallTimeoutMs: number;
  streamResetBurst: number;
  streamResetsPerSecond: number;
  settingsBurst: number;
  settingsPerSecond: number;
  pingBurst: number;
  pingsPerSecond: number;
  priorityBurst: number;
  prioritiesPerSecond: number;
  emptyDataBurst: number;
  emptyDataPerSecond: number;
  windowUpdateBurst: number;
  windowUpdatesPerSecond: number;
}

export interface NativeQueue {
  /** Waiting requests per worker; beyond, 503 at once. */
  maxPending: number;
  /** Longest wait; then 503 with Retry-After. */
  timeoutMs: number;
}

export type NativeStrategy =
  | 'round-robin'
  | 'weighted-round-robin'
  | 'least-connections'
  | 'random'
  | 'p2c'
  | 'peak-ewma'
  | 'ip-hash'
  | 'header-hash'
  | 'uri-hash'
  | 'cookie';

/** Passive health in each worker (Envoy's outlier detection). */
export interface NativeOutlierDetection {
  /** Consecutive failures (connect refused/timed out, reset, 5xx) that eject a backend; 0 disables. Default 5. */
  consecutiveFailures: number;
  /** First ejection lasts this long; the n-th lasts n times as long. Default 30000. */
  baseEjectionMs: number;
  /** Never eject more than this share of the backends at once. Default 50. */
  maxEjectionPercent: number;
  /** A backend back from ejection (or newly added) ramps its share of traffic up over this long; 0 disables. Default 0. */
  slowStartMs: number;
}

/** Retries of failed attempts (connect failures; idempotent requests that failed before any response byte). */
export interface NativeRetries {
  /** Attempts per request, the first included. Default 3. */
  maxTries: number;
  /** Retries may add at most this percentage of requests (a retry budget, per worker). Default 20. */
  budgetPercent: number;
  /** ... but at least this many retries per second per worker are always allowed. Default 10. */
  minPerSecond: number;
}

export interface NativeTimeouts {
  /** Backend TCP connect, then 502 (or the next backend). */
  connectMs: number;
  /** From the request being sent to the first response byte, then 504. */
  responseMs: number;
  /** A client has this long to send a complete request head, then 408. */
  clientHeadMs: number;
  /** An idle keep-alive client connection is closed after this long. */
  keepAliveMs: number;
  /** An idle pooled backend connection is closed after this long (keep it below the backend's). */
  backendIdleMs: number;
  /** Time without a byte of request body from the client, then 408. Default 60000. */
  clientBodyMs?: number;
  /** The whole request body must arrive within this, then 408; 0: no limit. Default 300000. */
  clientBodyTotalMs?: number;
  /** An upgraded (WebSocket) connection idle both ways this long is closed. Default 3600000. */
  tunnelIdleMs?: number;
}

/** Headers that tell a backend who the client is. */
export interface NativeForwarded {
  /** 'x-forwarded': X-Forwarded-For/-Proto/-Host; 'forwarded': RFC 7239; 'none': add nothing. */
  mode: 'x-forwarded' | 'forwarded' | 'none';
  /** Append to the client's own headers (behind a proxy you run) instead of replacing them. */
  trustIncoming: boolean;
}

/** What is done with the headers a client sends. */
export interface NativeHeaders {
  /**
   * Client header names containing '_': 'drop' (default) forwards none, 'keep' forwards
   * them, 'reject' answers 400. Identity look-alikes are dropped whatever this says.
   */
  underscores: 'drop' | 'keep' | 'reject';
}

export interface NativeLimits {
  maxStartLine: number;
  maxHeadBytes: number;
  maxHeaderCount: number;
  /** Request bodies over this get 413; 0 means unlimited. */
  maxBodyBytes: number;
  /** Client connections per balancer (split evenly across workers); 0 means unlimited. */
  maxClientConnections: number;
}

export interface NativePool {
  /** Idle pooled connections kept per backend per worker. */
  maxIdlePerBackend: number;
  /** How long idle connections beyond maxIdlePerBackend are kept; 0 closes them at once. */
  surplusIdleMs: number;
  /** TCP keepalive on backend sockets (SO_KEEPALIVE with TCP_KEEPIDLE/INTVL/CNT). */
  tcpKeepAliveIdleSec: number;
  tcpKeepAliveIntervalSec: number;
  tcpKeepAliveCount: number;
}

export interface NativeBodies {
  /** Content-Length bodies with at least this many bytes left move by splice(2); 0: never. */
  spliceMinBytes: number;
  /** Pipes in use at once per worker; beyond that bodies are copied. */
  maxPipes: number;
}

/** One rate limit as the data path takes it (see src/config/protection-schema.ts). */
export interface NativeRateLimit {
  name: string;
  key: 'client' | 'header' | 'path';
  header?: string;
  pathPrefix?: string;
  /** Requests per second (fractions allowed, down to 0.001). */
  rate: number;
  /** Bucket size: requests allowed at once after a lull. */
  burst: number;
  /** Counted for the cluster and checked against the keys over the limit cluster-wide. */
  cluster?: boolean;
}

/** Edge protection (native/protection). */
export interface NativeProtection {
  /** CIDR blocks; when not empty, only clients in one of them are accepted. */
  allow: string[];
  /** CIDR blocks whose clients are closed at accept (wins over allow). */
  deny: string[];
  /** Open connections per client address for the whole process; 0 means no limit. */
  maxConnectionsPerClient: number;
  /** Each worker's bucket table size (keys), fixed memory. */
  rateLimitKeys: number;
  rateLimits: NativeRateLimit[];
  /** The pool's circuit breaker; absent: off. */
  circuitBreaker?: { maxRequests: number; maxPendingRequests: number };
  /** Cluster-wide rate limits: the data path reads `prefix` (key names), `localShare` and `keys`. */
  cluster?: { prefix: string; localShare: number; keys: number };
}

/** What the workers admitted under cluster rules since the last call (NativeBalancer.collectClusterCounts). */
export interface NativeClusterCounts {
  /** [rule position, key (16 hex digits, the same on every balancer), requests admitted], summed over workers. */
  counts: Array<[rule: number, key: string, count: number]>;
  /** 429s because a key was blocked cluster-wide, since start. */
  limited: number;
  /** Admissions not counted: a worker's count table had no room around the key. */
  countsDropped: number;
  memoryBytes: number;
}

/** One listener: a numeric address, and what its connections speak. */
export interface NativeListener {
  /** Numeric listen address and port (0: any free port). */
  listenHost: string;
  listenPort: number;
  /** TLS on this listener (http and redirect modes); absent: plain. No certificate: it closes connections until one comes. */
  tls?: NativeListenerTls;
  /** A plain listener answering every request with a redirect to https://<host>[:port]<path>. */
  httpsRedirect?: { status: number; port: number };
}

export interface NativeConfig {
  /** 1 to 64 listeners; every worker accepts on each. Their number cannot change while running. */
  listeners: NativeListener[];
  /** listen() backlog; 0 means the kernel's somaxconn. */
  backlog: number;
  workers: number;
  /** 'http': L7 reverse proxy; 'redirect': answer with a redirect; 'tcp': L4 relay. */
  mode: 'http' | 'redirect' | 'tcp';
  /** Redirect mode: 301, 302, 303, 307 (default) or 308. */
  redirectStatus?: number;
  /** TCP mode: PROXY protocol header sent to backends. Default 'none'. */
  proxyProtocol?: 'none' | 'v1' | 'v2';
  strategy: NativeStrategy;
  backends: NativeBackend[];
  timeouts: NativeTimeouts;
  limits: NativeLimits;
  pool: NativePool;
  bodies?: NativeBodies;
  /** header-hash: the header whose value is hashed. Default 'x-session-id'. */
  hashHeader?: string;
  /** cookie strategy: the sticky cookie's name. Default 'lb_backend'. */
  cookieName?: string;
  outlierDetection?: NativeOutlierDetection;
  /** Share of requests that produce an 'access' event: 0 (default) off, 1 every request. */
  accessLogSampleRate?: number;
  retries?: NativeRetries;
  /** Client-identity headers. */
  forwarded: NativeForwarded;
  /** Client headers. Default `{ underscores: 'drop' }`. */
  headers?: NativeHeaders;
  /** Edge protection; absent: none. */
  protection?: NativeProtection;
  /** HTTP/2 over TLS (ALPN h2); absent: on. */
  http2?: boolean;
  /** h2c with prior knowledge on a plain listener; absent: off. */
  http2c?: boolean;
  /** Backend queues (maxConnections); absent: the defaults (1024, 5000 ms). */
  queue?: NativeQueue;
  /** HTTP/2 defence limits (every field, as the schema fills them); absent: the defaults. */
  http2Limits?: NativeHttp2Limits;
}

/** One certificate of a TLS listener, as PEM (the control plane reads the files). */
export interface NativeCertificate {
  /** The leaf first, then its intermediates in order. */
  cert: string;
  /** The leaf's private key, unencrypted. */
  key: string;
}

/** What the control plane reads from a TLS listener's files. */
export interface NativeTlsFiles {
  certificates: NativeCertificate[];
  /** PEM: the CAs client certificates must chain to (mTLS). */
  clientCa?: string;
}

/** A TLS listener: certificates chosen by SNI (exact, then wildcard), the first one the default. */
export interface NativeListenerTls {
  certificates: NativeCertificate[];
  /** mTLS: ask for client certificates that chain to `ca` (PEM); the verified subject goes to backends in `subjectHeader`. */
  clientCertificates?: { ca: string; verify: 'optional' | 'required'; subjectHeader?: string };
  /** The Strict-Transport-Security value for relayed responses, e.g. `max-age=31536000`. */
  hsts?: string;
  /** Opt-in: hand the record layer to the kernel (kTLS) where it and OpenSSL can. */
  ktls?: boolean;
}

/**
 * One scalar option as the addon reads it (native/addon/config_table.cpp): its path in
 * NativeConfig (`backends[].weight` for a field of every backend) and the range it accepts.
 */
export interface NativeOptionRow {
  path: string;
  min: number;
  max: number;
  /** False: any finite number in range (accessLogSampleRate). */
  integer: boolean;
  /** The value native code uses when none is given (a default-constructed field). */
  default: number;
}

export interface NativeBackendStats {
  id: number;
  requests: number;
  responses1xx: number;
  responses2xx: number;
  responses3xx: number;
  responses4xx: number;
  responses5xx: number;
  connectErrors: number;
  /** Failures on an established backend connection (reset, EOF before a full response). */
  backendErrors: number;
  retries: number;
  bytesToBackend: number;
  bytesFromBackend: number;
  /** Backend connections carrying a request now. */
  activeConnections: number;
  /** Pooled idle backend connections now. */
  idleConnections: number;
  /** Backend connections opened since start. */
  connectionsOpened: number;
  /** TLS backends: handshakes done in full, by resuming the last session, and failed (e.g. certificate not verified). */
  tlsHandshakesFull: number;
  tlsHandshakesResumed: number;
  tlsHandshakeFailures: number;
  /**
   * Latency histograms, summed over workers: counts per bucket (not cumulative), bucket i
   * holding samples up to NativeStats.latencyBoundsMs[i] (the last bucket: everything
   * slower). Time to first byte: request head parsed to response head; total: to the
   * response's last byte.
   */
  timeToFirstByte: number[];
  totalTime: number[];
  timeToFirstByteSumUs: number;
  totalTimeSumUs: number;
  /** Ejections by passive health, summed over workers. */
  ejections: number;
  /** Workers that have the backend ejected right now. */
  ejectedWorkers: number;
  /** Requests admitted under maxConnections now (0 when it has no limit). */
  inFlight: number;
  /** Requests waiting in its queue now, all workers. */
  queued: number;
  /** Requests that waited and then got a slot, and their total wait. */
  dequeued: number;
  queueWaitUsTotal: number;
  /** 503s: waited queue.timeoutMs without a slot; or the queue had no room. */
  queueTimeouts: number;
  queueFull: number;
}

/** Edge protection counters, summed over workers. */
export interface NativeProtectionStats {
  /** Connections closed at accept by the allow/deny lists. */
  denied: number;
  /** Connections closed at accept: their client had maxConnectionsPerClient open. */
  connectionsLimited: number;
  /** Connections admitted uncounted: no room in the per-client table around their hash. */
  connectionTableFull: number;
  /** Requests answered 429 by a rate limit. */
  rateLimited: number;
  /** Keys in the workers' bucket tables now (bounded by rateLimitKeys per worker). */
  rateTableKeys: number;
  /** Live keys forgotten to make room for new ones. */
  rateTableEvictions: number;
  /** Memory of the workers' bucket tables (fixed when created). */
  rateTableBytes: number;
  /** Client addresses with at least one open connection (counted when maxConnectionsPerClient is set). */
  clientsWithConnections: number;
  connectionTableBytes: number;
  /** 429s by the position of the rule in rateLimits. */
  limitedByRule: number[];
}

/** HTTP/2 to clients, summed over workers. */
export interface NativeHttp2Stats {
  /** Client connections that spoke HTTP/2 (ALPN h2 or h2c). */
  connections: number;
  /** Requests that came as HTTP/2 streams (also counted in `requests`). */
  requests: number;
  streamsActive: number;
  /** Streams reset by the client (RST_STREAM). */
  resetsByClient: number;
  /** Streams refused over the concurrent-stream limit. */
  refusedStreams: number;
  /** Streams reset for a malformed request (RFC 9113 §8). */
  malformedRequests: number;
  /** Streams reset after their client's window stayed shut too long. */
  stalledStreamsReset: number;
  /** Requests answered 431 (header list too large). */
  headerListTooLarge: number;
  /** Backend exchanges cut short because their stream went away. */
  exchangesCancelled: number;
  /** Connections ended by each defence (GOAWAY), by defence name. */
  connectionsEndedBy: Record<string, number>;
}

export interface NativeStats {
  workers: number;
  acceptedConnections: number;
  activeClientConnections: number;
  requests: number;
  responses1xx: number;
  responses2xx: number;
  responses3xx: number;
  responses4xx: number;
  responses5xx: number;
  /** Malformed or over-limit requests answered 4xx by the balancer itself. */
  badRequests: number;
  /** 503s because no backend could take the request. */
  noBackend: number;
  /** Requests sent to an ejected (or health-check-down) backend because no backend was eligible (panic routing). */
  panicRouted: number;
  /** 502s and 504s generated by the balancer. */
  badGateway: number;
  gatewayTimeout: number;
  bytesFromClients: number;
  bytesToClients: number;
  /** Message bodies (requests and responses) copied through user-space buffers. */
  bodiesCopied: number;
  /** Large Content-Length bodies moved, at least partly, by splice(2) between two plain sockets. */
  bodiesSpliced: number;
  /** Body bytes that went by splice(2), never entering user space. */
  bodyBytesSpliced: number;
  /** Events dropped because a worker's event ring was full. */
  eventsDropped: number;
  /** Access-log records dropped because a worker's ring was full. */
  accessLogDropped: number;
  /** Upper bounds (milliseconds) of the latency histogram buckets. */
  latencyBoundsMs: number[];
  backends: NativeBackendStats[];
  /** Absent in the zero stats of a balancer that never ran. */
  protection?: NativeProtectionStats;
  /** TLS listeners: handshakes and record-layer paths. Absent in the zero stats of a balancer that never ran. */
  tls?: NativeTlsStats;
  /** Absent in the zero stats of a balancer that never ran. */
  http2?: NativeHttp2Stats;
  /** The pool's circuit breaker (protection.circuitBreaker), whole process; absent before a run. */
  circuitBreaker?: {
    /** Requests holding one of its maxRequests slots now. */
    active: number;
    /** Requests waiting for one now (in backend queues). */
    pending: number;
    /** 503s: maxRequests in flight and maxPendingRequests waiting. */
    overflow: number;
  };
}

/** Why a client's TLS handshake failed. */
export interface NativeTlsHandshakeFailures {
  /** Silent or stalled past the handshake timeout (timeouts.clientHeadMs). */
  timeout: number;
  /** No protocol version in common (a TLS 1.0/1.1 client). */
  version: number;
  /** No cipher suite, group or signature algorithm in common. */
  noSharedCipher: number;
  /** mTLS: the client certificate was missing or did not verify. */
  clientCertificate: number;
  /** Garbage or plain HTTP instead of a ClientHello. */
  notTls: number;
  /** The client closed or reset mid-handshake. */
  closed: number;
  /** Any other protocol error, alert or socket error. */
  other: number;
}

export interface NativeTlsStats {
  handshakesFull: number;
  handshakesResumed: number;
  handshakeFailures: NativeTlsHandshakeFailures;
  /** Established connections whose record layer the kernel took (kTLS). */
  recordLayerKtls: number;
  /** Established connections whose record layer stayed in OpenSSL, by why. */
  recordLayerUserspace: { ktlsOff: number; noKernelTls: number; opensslDeclined: number };
  /** `tls.ktls` as configured, and what the kernel and the linked OpenSSL offer (detail: why not, in words). */
  ktls: { requested: boolean; kernel: boolean; openssl: boolean; detail: string };
}

/**
 * An event from a worker. Delivered in batches to the callback given to the
 * NativeBalancer constructor, on the JavaScript thread.
 */
export type NativeEvent =
  /** This worker ejected the backend (passive health) for `ejectionMs`. */
  | { type: 'backend-ejected'; backendId: number; worker: number; reason: string; ejectionMs: number }
  /** This worker takes the backend back after an ejection; `reason` says why (it answered, a health check passed). */
  | { type: 'backend-recovered'; backendId: number; worker: number; reason: string }
  /** A connect to the backend failed (`code`: the errno name, e.g. ECONNREFUSED, ETIMEDOUT); at most one a second per backend and worker. */
  | { type: 'backend-error'; backendId: number; worker: number; code: string; message: string }
  /** No backend was eligible on this worker, so an ejected (or health-check-down) one was tried; at most one event a second per worker. */
  | { type: 'panic-routing'; backendId: number; worker: number; message: string }
  /** A backend that is removed, draining or in maintenance has no request in flight on this worker any more. */
  | { type: 'backend-drained'; backendId: number; worker: number }
  | { type: 'error'; worker: number; code: string; message: string }
  /** A sampled access-log record (see NativeConfig.accessLogSampleRate). */
  | {
      type: 'access';
      worker: number;
      /** Wall-clock milliseconds when the exchange ended. */
      time: number;
      client: string;
      method: string;
      /** The request target, truncated to 255 bytes. */
      target: string;
      status: number;
      /** Absent when the balancer answered by itself (400, 503, ...). */
      backendId?: number;
      timeToFirstByteUs: number;
      totalUs: number;
      /** Bytes written to the client. */
      bytes: number;
    };

export interface NativeBalancer {
  /**
   * Binds one SO_REUSEPORT listener per worker and starts the workers. Throws an Error
   * whose `code` is 'LB_ERR_LISTEN' (bind/listen failed; message has the errno text, and
   * `errno` (e.g. 'EADDRINUSE') and `syscall` ('socket'|'bind'|'listen') properties) or
   * 'LB_ERR_CONFIG' (a field the native side rejects; message names it).
   */
  start(config: NativeConfig): void;
  /**
   * Moves listener `listener` to a new address without a gap (reload): the new sockets
   * are bound first, each worker starts accepting on its new one, takes what is queued on
   * the old one, then closes it. A failure to bind throws LB_ERR_LISTEN and changes
   * nothing. The same address is a no-op.
   */
  rebind(listener: number, listen: { listenHost: string; listenPort: number; backlog: number }): void;
  /**
   * Publishes a new configuration to every worker (backends, weights, strategy, timeouts,
   * each listener's TLS and redirect). Another number of listeners: LB_ERR_CONFIG.
   */
  update(config: NativeConfig): void;
  /** Sums every worker's counters; cheap, never stops a worker. Still readable after stop. */
  stats(): NativeStats;
  /**
   * Stops accepting at once, lets in-flight exchanges finish for up to `deadlineMs`, closes
   * idle keep-alive connections, joins the workers, then calls `done`. Idempotent: every
   * call's `done` is called once the workers have ended (at once if not running).
   */
  stop(deadlineMs: number, done: () => void): void;
  /** The port listener `listener` (default 0) is bound to (useful with listenPort 0). */
  boundPort(listener?: number): number;
  /**
   * Ends a passive ejection of `backendId` on every worker that has it ejected (an active
   * health check passed); returns how many workers were told. 0 when not running.
   */
  clearEjection(backendId: number): number;
  /**
   * ACME HTTP-01 answers: token -> key authorization. With a table (even empty) the
   * workers own `/.well-known/acme-challenge/` (200 for a known token, 404 otherwise);
   * null gives that path back to the backends. Kept across update() and start().
   */
  setAcmeChallenges(challenges: Record<string, string> | null): void;
  /**
   * ACME TLS-ALPN-01 challenge certificates (RFC 8737): DNS name -> self-signed PEM
   * certificate with the acmeIdentifier extension, and its key. Every TLS listener shows
   * one to a client offering ALPN acme-tls/1 for that name, then closes. null or {}:
   * none pending. Kept across update() and start(). Throws LB_ERR_CONFIG for a bad entry.
   */
  setAcmeAlpnChallenges(challenges: Record<string, { cert: string; key: string }> | null): void;
  /**
   * Session ticket keys for TLS listeners: concatenated 80-byte keys (16-byte name,
   * 32-byte HMAC key, 32-byte AES key), the first sealing new tickets, all accepted.
   * Before start() they are kept for it. Throws LB_ERR_CONFIG for a malformed buffer.
   */
  setTicketKeys(keys: Buffer): void;
  /** Cluster-wide rate limits (src/protection/cluster-limits.ts): takes the workers' counts. */
  collectClusterCounts(): NativeClusterCounts;
  /**
   * Blocks each key for `waitMs` from now (in every worker, until then), after dropping
   * the blocks that ended. `degraded`: Redis cannot be reached; lifts every block and the
   * workers apply each cluster rule's local share until a call with false.
   */
  setClusterBlocks(blocks: Array<[key: string, waitMs: number]>, degraded: boolean): { blocked: number; dropped: number };
}

export interface NativeAddon {
  Balancer: new (onEvents: (events: NativeEvent[]) => void) => NativeBalancer;
  /** Number of online CPUs, the default worker count. */
  cpuCount(): number;
  /** The addon's table of scalar options, for checking the TypeScript side against it. */
  configTable(): NativeOptionRow[];
  /** Every strategy name the data path implements. */
  strategies(): string[];
}

let cached: NativeAddon | undefined;

/** Loads the addon once: a prebuild, or the build/ that `npm install` made. */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
  const override = process.env.LB_NATIVE_ADDON; // e.g. the ASan build for sanitizer runs
  const loaded = override ? (require(override) as NativeAddon) : (require('node-gyp-build')(packageRoot) as NativeAddon);
  cached = loaded;
  return loaded;
}
