// Every default value of the balancer's options, in one place. The schema (schema.ts) fills
// these in; the CLI help (cli/help.ts) prints them.

export const defaults = {
  /** Where the balancer listens when `listen` is not given. */
  listen: '127.0.0.1:8080',
  strategy: 'round-robin',
  /** Backend weight when not given. */
  weight: 1,
  /** Backend state when not given. */
  state: 'ready',
  /** listen() backlog; 0 lets the kernel use net.core.somaxconn. */
  backlog: 0,
  // `workers` has no static default: it is the addon's cpuCount(), read at start().
  /** 'http' proxies requests; 'redirect' answers each with a redirect; 'tcp' relays bytes. */
  mode: 'http',
  /** Redirect mode: 307 keeps the method and body, and is not cached. */
  redirectStatus: 307,
  /** TCP mode: no PROXY protocol header unless the backends expect one. */
  proxyProtocol: 'none',
  /** header-hash: the header whose value picks the backend. */
  hashHeader: 'x-session-id',
  /** cookie strategy: the sticky cookie's name. */
  cookieName: 'lb_backend',

  /**
   * Client-identity headers. The balancer is assumed to be the internet edge: what a client
   * sends as X-Forwarded-* or Forwarded is removed and replaced (trustIncoming: false).
   */
  forwarded: {
    mode: 'x-forwarded',
    trustIncoming: false,
  },

  /**
   * Client headers. Names containing '_' are dropped, as nginx does by default
   * (underscores_in_headers off): CGI-style stacks read them as their dashed twins, so
   * `X_Forwarded_For` could pass for the X-Forwarded-For the balancer writes.
   */
  headers: {
    underscores: 'drop',
  },

  timeouts: {
    /** Backend TCP connect; then 502 (or the next backend). */
    connectMs: 5_000,
    /** Request sent to first response byte; then 504. Generous: slow endpoints exist. */
    responseMs: 60_000,
    /** A client must send a complete request head within this; then 408 (slowloris guard). */
    clientHeadMs: 10_000,
    /** An idle keep-alive client connection is closed after this. */
    keepAliveMs: 60_000,
    /**
     * An idle pooled backend connection is closed after this. It must be shorter than the
     * backends' own keep-alive timeout: otherwise a backend may close an idle connection at
     * the moment the balancer reuses it, and that request fails with a 502. Node's http
     * server closes idle connections after 5 s (server.keepAliveTimeout), the most common
     * backend here, so stay below it.
     */
    backendIdleMs: 4_000,
    /** Time without a byte of request body from the client; then 408. */
    clientBodyMs: 60_000,
    /**
     * The whole request body must arrive within this (from the end of the head); then 408;
     * 0: no limit. Without it a client sending a byte just inside clientBodyMs holds a
     * backend connection for ever (slow POST). Five minutes, as Node's http server
     * (server.requestTimeout), the usual backend, which would give up then anyway.
     */
    clientBodyTotalMs: 300_000,
    /** An upgraded (WebSocket) connection idle both ways this long is closed. Idle WebSockets are normal: one hour. */
    tunnelIdleMs: 3_600_000,
  },

  limits: {
    /** Longest request line (method, target, version). */
    maxStartLine: 8_192,
    /** Largest request head, start line and headers together (HAProxy's default is ~16k). */
    maxHeadBytes: 16_384,
    maxHeaderCount: 100,
    /** Largest request body; 0 means unlimited. */
    maxBodyBytes: 0,
    /** Client connections for the whole balancer; 0 means unlimited. */
    maxClientConnections: 0,
  },

  pool: {
    /** Idle backend connections kept per backend, per worker, for backendIdleMs... */
    maxIdlePerBackend: 64,
    /**
     * ...and those a burst leaves beyond that number only this long (the next burst
     * likely needs them); 0 closes them at once.
     */
    surplusIdleMs: 1_000,
    /** TCP keepalive on backend sockets: first probe after this idle time... */
    tcpKeepAliveIdleSec: 30,
    /** ...then one probe every this many seconds... */
    tcpKeepAliveIntervalSec: 10,
    /** ...and the connection is dropped after this many unanswered probes. */
    tcpKeepAliveCount: 3,
  },

  bodies: {
    /**
     * Content-Length bodies with at least this many bytes left move by splice(2) between
     * plain sockets (no copy through user space); 0 turns it off.
     */
    spliceMinBytes: 65_536,
    /** Pipes in use at once per worker (two descriptors each); beyond that bodies are copied. */
    maxPipes: 256,
  },

  /** Passive health, per worker: backends that keep failing are ejected for a while. */
  outlierDetection: {
    /** Consecutive failures (refused, timed out, reset, 5xx) that eject a backend; 0 never ejects. */
    consecutiveFailures: 5,
    /** The first ejection lasts this long, the n-th n times as long. */
    baseEjectionMs: 30_000,
    /** Never eject more than this share of the backends at once. */
    maxEjectionPercent: 50,
    /** A backend back from ejection, or added, ramps up its share over this long; 0 disables. */
    slowStartMs: 0,
  },

  /** Retries on another backend: connect failures, and idempotent requests that failed before any response byte. */
  retries: {
    /** Attempts per request, the first included. */
    maxTries: 3,
    /** Retries may add at most this percentage to the requests (a budget, per worker)... */
    budgetPercent: 20,
    /** ...but this many retries per second per worker are always allowed. */
    minPerSecond: 10,
  },

  /**
   * Active health checks, when `healthCheck` is given (there is no check otherwise). A
   * backend starts healthy; `fall` failed checks in a row take it out, `rise` passed checks
   * in a row put it back.
   */
  healthCheck: {
    type: 'http',
    path: '/',
    intervalMs: 2_000,
    timeoutMs: 1_000,
    rise: 2,
    fall: 3,
    /** HAProxy's `http-check expect status` in range form: any 2xx or 3xx passes. */
    expectStatus: '200-399',
  },

  /** Share of requests that emit an 'access' event: none unless asked. */
  accessLogSampleRate: 0,

  /** Requests waiting for a backend at its maxConnections (docs/protection.md). */
  queue: {
    /** Waiting requests per worker; beyond, 503 at once. */
    maxPending: 1_024,
    /** Longest wait for a slot; then 503 with Retry-After. */
    timeoutMs: 5_000,
  },

  /** Edge protection (docs/protection.md): nothing is limited unless asked. */
  protection: {
    /** Open connections per client address for the whole balancer; 0: no limit. */
    maxConnectionsPerClient: 0,
    /** Keys each worker's rate-limit table holds (32 bytes each: 2 MiB per worker). */
    rateLimitKeys: 65_536,
    /** Cluster-wide rate limits on Redis (docs/protection.md, "Across balancers"). */
    cluster: {
      /** How often the counts go to Redis and the over-limit keys come back. */
      intervalMs: 100,
      /** Redis key prefix (several clusters can share one Redis). */
      prefix: 'lb-native:rl:',
      /** Balancers expected to share the limits; the local share defaults to 1 / peers. */
      peers: 1,
      /** Distinct keys each worker counts between two exchanges, and keys blocked at once (16 + 8 bytes each). */
      keys: 16_384,
      /** A Redis exchange that takes longer fails (then the local shares apply). */
      timeoutMs: 1_000,
    },
  },

  /** How long `stop()` lets in-flight requests finish before closing them. */
  stopDeadlineMs: 10_000,
} as const;

/** Bounds the schema enforces, kept beside the defaults they frame. */
export const bounds = {
  /** Backend weights: relative shares; use `state: 'drain'` rather than weight 0. */
  weight: { min: 1, max: 256 },
  workers: { min: 1, max: 1_024 },
  backlog: { min: 0, max: 65_535 },
  /** Timeouts in ms: at least 1 ms, at most ~24.8 days (a signed 32-bit millisecond count). */
  timeoutMs: { min: 1, max: 2_147_483_647 },
  /** The data path's own ceilings: 64 KiB start line, 1 MiB head, 256 header fields. */
  maxStartLine: { min: 16, max: 65_536 },
  maxHeadBytes: { min: 64, max: 1_048_576 },
  maxHeaderCount: { min: 1, max: 256 },
  /** 0 means unlimited. */
  maxBodyBytes: { min: 0, max: Number.MAX_SAFE_INTEGER },
  /** 0 means unlimited. */
  maxClientConnections: { min: 0, max: 10_000_000 },
  maxIdlePerBackend: { min: 0, max: 100_000 },
  surplusIdleMs: { min: 0, max: 3_600_000 },
  tcpKeepAliveIdleSec: { min: 1, max: 32_767 },
  tcpKeepAliveIntervalSec: { min: 1, max: 32_767 },
  tcpKeepAliveCount: { min: 1, max: 127 },
  /** 0 turns splicing off. */
  spliceMinBytes: { min: 0, max: 4_294_967_295 },
  maxPipes: { min: 0, max: 100_000 },
  stopDeadlineMs: { min: 0, max: 2_147_483_647 },
  redirectStatuses: [301, 302, 303, 307, 308],
  /** cookieName: a cookie-name token the data path accepts, 1-64 of letters, digits, '_', '-', '.'. */
  cookieNameLength: { min: 1, max: 64 },
  hashHeaderLength: { min: 1, max: 256 },
  consecutiveFailures: { min: 0, max: 1_000_000 },
  /** Durations in ms that may be 0 (slow start off). */
  optionalMs: { min: 0, max: 2_147_483_647 },
  maxEjectionPercent: { min: 0, max: 100 },
  /** Attempts per request: the data path tries at most 4 backends. */
  maxTries: { min: 1, max: 4 },
  budgetPercent: { min: 0, max: 1_000 },
  minPerSecond: { min: 0, max: 1_000_000 },
  /** Health check interval and timeout: at least 10 ms, at most a day. */
  healthIntervalMs: { min: 10, max: 86_400_000 },
  healthTimeoutMs: { min: 1, max: 86_400_000 },
  riseFall: { min: 1, max: 1_000 },
  /** accessLogSampleRate: a share of requests, any number from 0 to 1. */
  sampleRate: { min: 0, max: 1 },
  /** A client's count lives in 16 bits of the process-wide table. */
  maxConnectionsPerClient: { min: 0, max: 65_535 },
  /** Rate-limit table per worker: 32 KiB to 32 MiB. */
  rateLimitKeys: { min: 1_024, max: 1_048_576 },
  /** Requests per second of a rate limit: one in 1000 s to a million a second. */
  rateLimitRate: { min: 0.001, max: 1_000_000 },
  rateLimitBurst: { min: 1, max: 1_000_000 },
  clusterIntervalMs: { min: 20, max: 5_000 },
  circuitBreakerRequests: { min: 0, max: 1_000_000 },
  clusterPeers: { min: 1, max: 1_000 },
  clusterKeys: { min: 64, max: 1_048_576 },
  clusterTimeoutMs: { min: 10, max: 60_000 },
  /** Requests in flight per backend (0: no limit), and waiting requests per worker. */
  maxConnections: { min: 0, max: 1_000_000 },
  queueMaxPending: { min: 0, max: 1_000_000 },
  /** Rate-limit rules (each has its counter slot in every worker). */
  rateLimitRules: { min: 0, max: 32 },
} as const;
