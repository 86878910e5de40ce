// The options of a balancer: their public types, and the one schema that validates them.
// Every error names the exact path and what was expected there, e.g.
// `backends[2].address: port must be 1-65535, got 70000`.
import { z } from 'zod';

import { type ConfigIssue, LbConfigError } from '../errors.js';
import { type BackendTlsOptions, backendTlsSchema } from './backend-tls-schema.js';
import { parseExpectStatus } from './expect-status.js';
import { type HostKind, addressKey, parseAddress, parsePublicUrl } from './address.js';
import { bounds, defaults } from './defaults.js';
import { nativeOption } from './native-options.js';
import { type ProtectionOptions, makeProtectionSchema } from './protection-schema.js';
import { type Strategy, strategies, strategyModeConflict } from './strategies.js';

/** 'ready' takes traffic; 'drain' takes no new requests but finishes in-flight ones; 'maint' takes none. */
export type BackendState = 'ready' | 'drain' | 'maint';

export const backendStates = ['ready', 'drain', 'maint'] as const satisfies readonly BackendState[];

/** 'http': L7 reverse proxy; 'redirect': answer each request with a redirect to a backend; 'tcp': L4 relay. */
export type ProxyMode = 'http' | 'redirect' | 'tcp';
export const proxyModes = ['http', 'redirect', 'tcp'] as const satisfies readonly ProxyMode[];

/** PROXY protocol header sent to backends in tcp mode. */
export type ProxyProtocolVersion = 'none' | 'v1' | 'v2';
export const proxyProtocolVersions = ['none', 'v1', 'v2'] as const satisfies readonly ProxyProtocolVersion[];

/** 'x-forwarded': X-Forwarded-For/-Proto/-Host; 'forwarded': RFC 7239 Forwarded; 'none': add nothing. */
export type ForwardedMode = 'x-forwarded' | 'forwarded' | 'none';
export const forwardedModes = ['x-forwarded', 'forwarded', 'none'] as const satisfies readonly ForwardedMode[];

/**
 * Client header names with '_': 'drop' forwards none of them (nginx's default), 'keep'
 * forwards them, 'reject' answers 400. Names that read as an identity header once '_' is
 * taken for '-' are dropped whatever this says (see ForwardedOptions).
 */
export type UnderscoreHeaders = 'drop' | 'keep' | 'reject';
export const underscoreHeaderModes = ['drop', 'keep', 'reject'] as const satisfies readonly UnderscoreHeaders[];

export type HealthCheckType = 'http' | 'tcp';
export const healthCheckTypes = ['http', 'tcp'] as const satisfies readonly HealthCheckType[];

/** Active health checks, run from the JavaScript thread. Defaults in parentheses. */
export interface HealthCheckOptions {
  /** 'http': GET `path` and check the status; 'tcp': a connect is enough ('http'). */
  type?: HealthCheckType;
  /** http: the path (and query) to GET ('/'). */
  path?: string;
  /** Time from the end of one check to the start of the next (2000). */
  intervalMs?: number;
  /** A check not done within this fails (1000). */
  timeoutMs?: number;
  /** Passed checks in a row that bring a down backend back (2). */
  rise?: number;
  /** Failed checks in a row that take a backend out (3). */
  fall?: number;
  /** http: passing statuses, HAProxy style: `200-399`, `200`, `200,204,300-302` ('200-399'). */
  expectStatus?: string | number;
  /** http: the Host header (the backend's address as configured). */
  host?: string;
}

/** One backend, when more than its address is needed. */
export interface BackendOptions {
  /** `host:port` or `[ipv6]:port`; host names are resolved when the balancer starts. */
  address: string;
  /** Relative share of the traffic, 1-256. Default 1. */
  weight?: number;
  /** Default 'ready'. */
  state?: BackendState;
  /**
   * Redirect mode only: the base URL clients are sent to, an absolute http(s) URL without
   * a path, e.g. `https://web1.example.com`. Default `http://` + the address as given.
   */
  publicUrl?: string;
  /** This backend's health check: fields override the balancer's `healthCheck`; `false` disables it. */
  healthCheck?: HealthCheckOptions | false;
  /**
   * Requests in flight on this backend at once, for the whole balancer (HAProxy's server
   * `maxconn`); more wait in its queue (see `queue`). 0 (the default): no limit.
   */
  maxConnections?: number;
  /** Speak TLS to it: `true` (verify against the system's CAs) or `{ verify?, ca?, sni? }`. Not in tcp mode. */
  tls?: true | BackendTlsOptions;
}

/** Requests waiting for a backend at its maxConnections. Defaults in parentheses. */
export interface QueueOptions {
  /** Waiting requests per worker; beyond, 503 at once (1024). */
  maxPending?: number;
  /** Longest wait for a slot; then 503 with Retry-After (5000). */
  timeoutMs?: number;
}

/**
 * HTTP/2 defences per client connection (docs/http2.md). Defaults in parentheses. Budgets
 * are token buckets: `*Burst` frames at most, refilled at `*PerSecond`; past one, the
 * connection gets GOAWAY ENHANCE_YOUR_CALM.
 */
export interface Http2LimitOptions {
  /** Streams open at once; more are refused with REFUSED_STREAM (100). */
  maxConcurrentStreams?: number;
  /** Decoded request header list, RFC 9113 accounting (16384), and fields (100); over: 431. */
  maxHeaderListBytes?: number;
  maxHeaderFields?: number;
  /** Encoded header block bytes (65536) and CONTINUATION frames per block (8); over: GOAWAY. */
  maxHeaderBlockBytes?: number;
  maxContinuationFrames?: number;
  /** A response the client's shut window holds back this long is reset; 0: never (30000). */
  stallTimeoutMs?: number;
  /** Rapid reset: client resets and resets for malformed requests (200, 50/s). */
  streamResetBurst?: number;
  streamResetsPerSecond?: number;
  /** SETTINGS frames (32, 4/s). */
  settingsBurst?: number;
  settingsPerSecond?: number;
  /** PING frames (32, 4/s). */
  pingBurst?: number;
  pingsPerSecond?: number;
  /** PRIORITY frames (512, 128/s). */
  priorityBurst?: number;
  prioritiesPerSecond?: number;
  /** DATA frames without payload and without END_STREAM (64, 16/s). */
  emptyDataBurst?: number;
  emptyDataPerSecond?: number;
  /** WINDOW_UPDATE frames (1024, 256/s; each DATA frame sent earns 2 more). */
  windowUpdateBurst?: number;
  windowUpdatesPerSecond?: number;
}

/** Timeouts, in milliseconds. Defaults in parentheses. */
export interface TimeoutOptions {
  /** Backend TCP connect; then 502 or the next backend (5000). */
  connectMs?: number;
  /** From sending the request to the first response byte; then 504 (60000). */
  responseMs?: number;
  /** A client must send a complete request head within this; then 408 (10000). */
  clientHeadMs?: number;
  /** An idle keep-alive client connection is closed after this (60000). */
  keepAliveMs?: number;
  /** An idle pooled backend connection is closed after this; keep it below the backends' own (4000). */
  backendIdleMs?: number;
  /** Time without a byte of request body from the client; then 408 (60000). */
  clientBodyMs?: number;
  /**
   * The whole request body must arrive within this, counted from the end of the head;
   * then 408. Stops a client trickling its body to hold a backend connection; 0 for no
   * limit (raise it for large uploads over slow links) (300000).
   */
  clientBodyTotalMs?: number;
  /** An upgraded (WebSocket) connection idle both ways this long is closed (3600000). */
  tunnelIdleMs?: number;
}

/** Request limits. Defaults in parentheses. */
export interface LimitOptions {
  /** Longest request line in bytes (8192). */
  maxStartLine?: number;
  /** Largest request head in bytes (16384). */
  maxHeadBytes?: number;
  /** Most request headers (100). */
  maxHeaderCount?: number;
  /** Largest request body in bytes, 0 for unlimited (0). Larger bodies get 413. */
  maxBodyBytes?: number;
  /** Most client connections for the whole balancer, 0 for unlimited (0). */
  maxClientConnections?: number;
}

/** Backend connection pooling. Defaults in parentheses. */
export interface PoolOptions {
  /** Idle connections kept per backend per worker (64). */
  maxIdlePerBackend?: number;
  /** How long connections beyond maxIdlePerBackend stay idle before they close; 0 at once (1000). */
  surplusIdleMs?: number;
  /** TCP keepalive: idle seconds before the first probe (30). */
  tcpKeepAliveIdleSec?: number;
  /** TCP keepalive: seconds between probes (10). */
  tcpKeepAliveIntervalSec?: number;
  /** TCP keepalive: unanswered probes before the connection is dropped (3). */
  tcpKeepAliveCount?: number;
}

/** How message bodies move. Defaults in parentheses. */
export interface BodyOptions {
  /**
   * A Content-Length body with at least this many bytes still to move between two plain
   * TCP sockets goes through a pipe with splice(2), never entering user space; 0 turns
   * splicing off (65536).
   */
  spliceMinBytes?: number;
  /** Pipes a worker may have in use at once; beyond that bodies are copied (256). */
  maxPipes?: number;
}

/** Headers that tell backends who the client is. Defaults in parentheses. */
export interface ForwardedOptions {
  /** Which headers ('x-forwarded'). */
  mode?: ForwardedMode;
  /**
   * Append to the headers the client sent (when a proxy you run is in front) instead of
   * removing them and writing new ones (false: this balancer is the internet edge).
   */
  trustIncoming?: boolean;
}

/** What is done with the headers a client sends. Defaults in parentheses. */
export interface HeaderOptions {
  /**
   * Header names containing '_' ('drop'). CGI, WSGI and many frameworks read '_' and '-'
   * alike (`X_Forwarded_For` is their X-Forwarded-For), so such names can pass for headers
   * the balancer vouches for: 'drop' forwards none, 'keep' forwards them (but never one that
   * reads as an identity header), 'reject' answers 400.
   */
  underscores?: UnderscoreHeaders;
}

/** Passive health: each worker ejects backends that keep failing. Defaults in parentheses. */
export interface OutlierDetectionOptions {
  /** Consecutive failures (refused, timed out, reset, 5xx) that eject a backend; 0 never ejects (5). */
  consecutiveFailures?: number;
  /** The first ejection lasts this long, the n-th n times as long (30000). */
  baseEjectionMs?: number;
  /** Never eject more than this percentage of the backends at once (50). */
  maxEjectionPercent?: number;
  /** A backend back from ejection, or added, ramps up its share over this long; 0 disables (0). */
  slowStartMs?: number;
}

/** Retries on another backend. Defaults in parentheses. */
export interface RetryOptions {
  /** Attempts per request, the first included, 1-4 (3). */
  maxTries?: number;
  /** Retries may add at most this percentage to the requests, per worker (20). */
  budgetPercent?: number;
  /** ...but this many retries per second per worker are always allowed (10). */
  minPerSecond?: number;
}

/** What `createBalancer` takes. Only `backends` is required. */
export interface BalancerOptions {
  /**
   * `host:port` or `[ipv6]:port` to listen on; port 0 picks a free port. Default
   * '127.0.0.1:8080'. The one-listener form (with `tls` and `httpsRedirect`); for several
   * listeners give `listeners` instead.
   */
  listen?: string;
  /**
   * Several listeners, e.g. a plain one that redirects to HTTPS and a TLS one:
   * `[{ listen: '0.0.0.0:80', httpsRedirect: true }, { listen: '0.0.0.0:443', tls: {...} }]`.
   * Every worker accepts on all of them. Not together with `listen`, `tls` or `httpsRedirect`.
   */
  listeners?: ListenerOptions[];
  /** At least one backend: an address string, or an object with weight, state, ... */
  backends: ReadonlyArray<string | BackendOptions>;
  /** Default 'round-robin' (see `strategies`). */
  strategy?: Strategy;
  /** Default 'http'. */
  mode?: ProxyMode;
  /** Redirect mode only: 301, 302, 303, 307 or 308. Default 307. */
  redirectStatus?: number;
  /** TCP mode only ('none' is accepted in any mode): the PROXY protocol header sent to backends. Default 'none'. */
  proxyProtocol?: ProxyProtocolVersion;
  /** header-hash: the request header whose value picks the backend. Default 'x-session-id'. */
  hashHeader?: string;
  /** cookie strategy: the sticky cookie's name (letters, digits, '_', '-', '.'). Default 'lb_backend'. */
  cookieName?: string;
  /** Worker threads, each with its own listener. Default: the number of CPUs. */
  workers?: number;
  /** listen() backlog; 0 (the default) uses the kernel's somaxconn. */
  backlog?: number;
  timeouts?: TimeoutOptions;
  limits?: LimitOptions;
  pool?: PoolOptions;
  bodies?: BodyOptions;
  /** Default `{ mode: 'x-forwarded', trustIncoming: false }`. */
  forwarded?: ForwardedOptions;
  /** Default `{ underscores: 'drop' }`. */
  headers?: HeaderOptions;
  outlierDetection?: OutlierDetectionOptions;
  retries?: RetryOptions;
  /** Active health checks for every backend (none when absent). */
  healthCheck?: HealthCheckOptions;
  /**
   * Share of requests (0-1) that emit an 'access' event: 0 (the default) none, 1 every
   * request, 0.01 one in a hundred. Sampled in the data path, per worker.
   */
  accessLogSampleRate?: number;
  /** Allow/deny lists, connections per client, rate limits (docs/protection.md). */
  protection?: ProtectionOptions;
  /** Backend queues for `maxConnections` (docs/protection.md). */
  queue?: QueueOptions;
  /** HTTPS on the listener (http and redirect modes); absent: plain HTTP. */
  tls?: ListenerTlsOptions;
  /** A plain listener that answers every request with a redirect to the same host over HTTPS (http mode); `true` for the defaults. */
  httpsRedirect?: true | HttpsRedirectOptions;
  /** HTTP/2 to clients on every TLS listener (ALPN offers h2, then http/1.1). Default true. */
  http2?: boolean;
  /** HTTP/2 with prior knowledge (h2c) on every plain listener, beside HTTP/1.1. Default false. */
  http2c?: boolean;
  /** HTTP/2 defence limits per client connection (docs/http2.md); absent: the defaults. */
  http2Limits?: Http2LimitOptions;
}

/** One listener of `listeners`. */
export interface ListenerOptions {
  /** `host:port` or `[ipv6]:port`; port 0 picks a free port. */
  listen: string;
  /** HTTPS on this listener (http and redirect modes); absent: plain. */
  tls?: ListenerTlsOptions;
  /** A plain listener (http mode) that redirects every request to HTTPS; `true` for the defaults. */
  httpsRedirect?: true | HttpsRedirectOptions;
}

/** Where `httpsRedirect` sends clients: `https://<the request's host>[:port]<path>`. */
export interface HttpsRedirectOptions {
  /** 301, 302, 303, 307 or 308. Default 308 (the method and body are kept). */
  status?: number;
  /** The HTTPS port; left out of the Location when 443. Default 443. */
  port?: number;
}

/** One certificate of a TLS listener: file names, read when the balancer starts and on every reload. */
export interface CertificateFileOptions {
  /** PEM: the leaf certificate first, then its intermediates in order. */
  cert: string;
  /** PEM: the leaf's private key, unencrypted. */
  key: string;
}

/** A TLS listener's certificates, chosen by SNI: exact names, then wildcards; the first serves clients that send no known name. */
export interface ListenerTlsOptions {
  /** Certificate files; may be left out when `acmeCertificate` is set. */
  certificates?: CertificateFileOptions[];
  /**
   * Also serve the certificate installed with `Balancer.installCertificate` (what an
   * AcmeManager issues), after the files. With no files, the listener closes the
   * connections it accepts until one is installed. Default false.
   */
  acmeCertificate?: boolean;
  /** Strict-Transport-Security on relayed responses (unless the backend sent its own); absent: none. */
  hsts?: { maxAgeSeconds: number; includeSubDomains?: boolean };
  /** mTLS: client certificates, verified against `ca` (a PEM file); the verified subject is passed to backends in `subjectHeader` (a client's own copy is dropped). */
  clientCertificates?: { ca: string; verify?: 'optional' | 'required'; subjectHeader?: string };
  /** Session ticket keys, shared by every worker and listener (listeners that give this give the same): a new key every `rotateSeconds` (default 43200, 12 h), the `keepPrevious` before it (default 2) still resume. */
  sessionTickets?: { rotateSeconds?: number; keepPrevious?: number };
  /** Opt-in kernel TLS: after the handshake the record layer goes to the kernel where it and OpenSSL can (stats.tls says which path each connection took). Default false. */
  ktls?: boolean;
}

// ---------------------------------------------------------------------------------------

/** How a received value is shown in messages: 70000, 'abc', undefined, an array, ... */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  if (value === undefined || value === null) return String(value);
  if (Array.isArray(value)) return 'an array';
  return `a value of type ${typeof value}`;
}

interface Range {
  readonly min: number;
  readonly max: number;
}

export function integer({ min, max }: Range) {
  const expected = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
  const error = (issue: { input?: unknown }) => `expected ${expected}, got ${describeValue(issue.input)}`;
  return z.number({ error }).refine((n) => Number.isInteger(n) && n >= min && n <= max, { error });
}

/** An object that rejects unknown keys, naming them and the keys it knows. */
export function strictObject<Shape extends z.ZodRawShape>(shape: Shape, what: string) {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((k) => `'${k}'`).join(', ');
        const noun = issue.keys.length === 1 ? 'option' : 'options';
        return `unknown ${noun} ${keys}; expected one of ${known}`;
      }
      return `expected ${what}, got ${describeValue(issue.input)}`;
    },
  });
}

function address(options: { allowPortZero: boolean }) {
  return z
    .string({ error: (issue) => `expected an address like 127.0.0.1:9001, got ${describeValue(issue.input)}` })
    .transform((text, ctx): { text: string; host: string; port: number; kind: HostKind } => {
      const parsed = parseAddress(text, options);
      if (!parsed.ok) {
        ctx.issues.push({ code: 'custom', message: parsed.message, input: text });
        return z.NEVER;
      }
      return { text, ...parsed.address };
    });
}

/**
 * An option of the native table (native-options.ts): an integer in its row's range, its
 * row's default filled in. The range and default are written there once.
 */
function nativeField(path: string) {
  const row = nativeOption(path);
  if (row.default === undefined) throw new Error(`the native option ${path} has no default`);
  return integer(row).default(row.default);
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, {
    error: (issue) => `expected one of ${values.join(', ')}, got ${describeValue(issue.input)}`,
  });
}

/** A file name (a path), not empty. */
const fileNameSchema = z
  .string({ error: (issue) => `expected a file name, got ${describeValue(issue.input)}` })
  .min(1, { error: 'expected a file name, got an empty string' });

export const booleanSchema = z.boolean({ error: (issue) => `expected true or false, got ${describeValue(issue.input)}` });

const publicUrlSchema = z
  .string({ error: (issue) => `expected a URL like https://web1.example.com, got ${describeValue(issue.input)}` })
  .transform((text, ctx): string => {
    const parsed = parsePublicUrl(text);
    if (!parsed.ok) {
      ctx.issues.push({ code: 'custom', message: parsed.message, input: text });
      return z.NEVER;
    }
    return parsed.url;
  });

/** Printable ASCII without spaces: what may go into a request line or a header value we write. */
const visibleAscii = /^[\x21-\x7e]+$/;

const healthPathSchema = z
  .string({ error: (issue) => `expected a path starting with '/', got ${describeValue(issue.input)}` })
  .refine((path) => path.startsWith('/') && visibleAscii.test(path) && path.length <= 2048, {
    error: (issue) => `expected a path starting with '/' (no spaces, at most 2048 characters), got ${describeValue(issue.input)}`,
  });

const healthHostSchema = z
  .string({ error: (issue) => `expected a host name (or host:port), got ${describeValue(issue.input)}` })
  .refine((host) => /^[A-Za-z0-9._~:[\]-]{1,255}$/.test(host), {
    error: (issue) => `expected a host name (or host:port), got ${describeValue(issue.input)}`,
  });

const expectStatusSchema = z
  .union([z.string(), z.number()], {
    error: (issue) => `expected status codes like '200-399' or '200,204', got ${describeValue(issue.input)}`,
  })
  .transform((value, ctx): string => {
    const text = String(value);
    const parsed = parseExpectStatus(text);
    if (!parsed.ok) {
      ctx.issues.push({ code: 'custom', message: parsed.message, input: value });
      return z.NEVER;
    }
    return parsed.ranges.map(([low, high]) => (low === high ? `${low}` : `${low}-${high}`)).join(',');
  });

const h = defaults.healthCheck;
const healthCheckShape = {
  type: oneOf(healthCheckTypes).optional(),
  path: healthPathSchema.optional(),
  intervalMs: integer(bounds.healthIntervalMs).optional(),
  timeoutMs: integer(bounds.healthTimeoutMs).optional(),
  rise: integer(bounds.riseFall).optional(),
  fall: integer(bounds.riseFall).optional(),
  expectStatus: expectStatusSchema.optional(),
  host: healthHostSchema.optional(),
};
const httpOnlyHealthKeys = ['path', 'expectStatus', 'host'] as const;

/** The fields of a health check as given (none filled in), with `type: 'tcp'` refusing HTTP-only fields. */
const healthCheckFieldsSchema = strictObject(healthCheckShape, 'an object of health check settings').superRefine((check, ctx) => {
  if (check.type !== 'tcp') return;
  for (const key of httpOnlyHealthKeys) {
    if (check[key] !== undefined) {
      ctx.addIssue({ code: 'custom', path: [key], message: `only applies to http checks; type is 'tcp'` });
    }
  }
});

/** A health check with every default filled in. */
export interface HealthCheckConfig {
  type: HealthCheckType;
  path: string;
  intervalMs: number;
  timeoutMs: number;
  rise: number;
  fall: number;
  /** Normalised, e.g. '200-399' or '200,204'. */
  expectStatus: string;
  /** Absent: the backend's address as configured. */
  host?: string;
}

/** The fields of a health check as given, none filled in (a backend's override). */
export type HealthCheckFields = z.output<typeof healthCheckFieldsSchema>;

/** `fields` over the defaults (over `base`, if given). */
export function completeHealthCheck(fields: HealthCheckFields, base?: HealthCheckConfig): HealthCheckConfig {
  const from = base ?? { ...h };
  const out: HealthCheckConfig = {
    type: fields.type ?? from.type,
    path: fields.path ?? from.path,
    intervalMs: fields.intervalMs ?? from.intervalMs,
    timeoutMs: fields.timeoutMs ?? from.timeoutMs,
    rise: fields.rise ?? from.rise,
    fall: fields.fall ?? from.fall,
    expectStatus: fields.expectStatus ?? from.expectStatus,
  };
  const host = fields.host ?? from.host;
  if (host !== undefined) out.host = host;
  return out;
}

/**
 * The check a backend gets: none when its `healthCheck` is false, or when neither it nor
 * the balancer has one; else its own fields over the balancer's check (over the defaults).
 */
export function effectiveHealthCheck(
  balancer: HealthCheckConfig | undefined,
  backend: HealthCheckFields | false | undefined,
): HealthCheckConfig | undefined {
  if (backend === false) return undefined;
  if (backend === undefined) return balancer;
  return completeHealthCheck(backend, balancer);
}

const balancerHealthCheckSchema = healthCheckFieldsSchema.transform((fields) => completeHealthCheck(fields));

const backendObjectSchema = strictObject(
  {
    address: address({ allowPortZero: false }),
    weight: nativeField('backends[].weight'),
    state: oneOf(backendStates).default(defaults.state),
    publicUrl: publicUrlSchema.optional(),
    healthCheck: z
      .union([z.literal(false), healthCheckFieldsSchema], {
        error: (issue) => `expected false or an object of health check settings, got ${describeValue(issue.input)}`,
      })
      .optional(),
    maxConnections: integer(nativeOption('backends[].maxConnections')).optional(),
    tls: backendTlsSchema.optional(),
  },
  'an address string or { address, weight?, state?, publicUrl?, healthCheck?, maxConnections?, tls? }',
);

/** One backend: an address string or an object. Also validates `addBackend`'s argument. */
export const backendSchema = z.preprocess(
  (value) => (typeof value === 'string' ? { address: value } : value),
  backendObjectSchema,
);

export const strategySchema = oneOf(strategies).transform((name): Strategy => name);

/** A header name: an RFC 9110 token. */
const headerNameSchema = z
  .string({ error: (issue) => `expected a header name, got ${describeValue(issue.input)}` })
  .refine(
    (name) =>
      name.length >= bounds.hashHeaderLength.min &&
      name.length <= bounds.hashHeaderLength.max &&
      /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name),
    { error: (issue) => `expected a header name (letters, digits, '-', ...), got ${describeValue(issue.input)}` },
  );

const cookieNameSchema = z
  .string({ error: (issue) => `expected a cookie name, got ${describeValue(issue.input)}` })
  .refine(
    (name) =>
      name.length >= bounds.cookieNameLength.min && name.length <= bounds.cookieNameLength.max && /^[A-Za-z0-9_.-]+$/.test(name),
    {
      error: (issue) =>
        `expected 1-${bounds.cookieNameLength.max} letters, digits, '_', '-' or '.', got ${describeValue(issue.input)}`,
    },
  );

const redirectStatusSchema = z
  .number({ error: (issue) => `expected one of ${bounds.redirectStatuses.join(', ')}, got ${describeValue(issue.input)}` })
  .refine((n) => (bounds.redirectStatuses as readonly number[]).includes(n), {
    error: (issue) => `expected one of ${bounds.redirectStatuses.join(', ')}, got ${describeValue(issue.input)}`,
  });

const f = defaults.forwarded;
const hd = defaults.headers;

/**
 * A list of backends, each address once. `min` 0 is for configuration files whose
 * backends come from discovery.
 */
export function backendsSchema(min: 0 | 1) {
  const list = z.array(backendSchema, {
    error: (issue) => `expected an array of backends, got ${describeValue(issue.input)}`,
  });
  return (min === 1 ? list.min(1, { error: 'expected at least one backend' }) : list).superRefine((backends, ctx) => {
    const seen = new Map<string, number>();
    backends.forEach((backend, index) => {
      const key = addressKey(backend.address);
      const first = seen.get(key);
      if (first === undefined) seen.set(key, index);
      else ctx.addIssue({ code: 'custom', path: [index, 'address'], message: `same address as backends[${first}]` });
    });
  });
}

/** accessLogSampleRate: a share from 0 to 1. */
const sampleRate = nativeOption('accessLogSampleRate');
const sampleRateError = (issue: { input?: unknown }) =>
  `expected a number from ${sampleRate.min} to ${sampleRate.max}, got ${describeValue(issue.input)}`;
export const sampleRateSchema = z
  .number({ error: sampleRateError })
  .refine((n) => Number.isFinite(n) && n >= sampleRate.min && n <= sampleRate.max, {
    error: sampleRateError,
  });

/**
 * Every option and its schema. Configuration files (file-schema.ts) take the same
 * options, plus sections of their own.
 */
/** A TLS listener's settings (`tls`); a configuration file's `tls` adds `acme`. */
export const listenerTlsShape = {
  certificates: z
    .array(strictObject({ cert: fileNameSchema, key: fileNameSchema }, 'an object { cert, key } of file names'), {
      error: (issue) => `expected an array of { cert, key }, got ${describeValue(issue.input)}`,
    })
    .min(1, { error: 'expected at least one certificate' })
    .optional(),
  acmeCertificate: booleanSchema.optional(),
  hsts: strictObject(
    {
      maxAgeSeconds: integer({ min: 0, max: 2_147_483_647 }),
      includeSubDomains: booleanSchema.default(false),
    },
    'an object { maxAgeSeconds, includeSubDomains? }',
  ).optional(),
  clientCertificates: strictObject(
    {
      ca: fileNameSchema,
      verify: oneOf(['optional', 'required'] as const).default('required'),
      subjectHeader: headerNameSchema.optional(),
    },
    'an object { ca, verify?, subjectHeader? }',
  ).optional(),
  sessionTickets: strictObject(
    {
      rotateSeconds: integer({ min: 1, max: 2_000_000 }).default(43_200),
      keepPrevious: integer({ min: 0, max: 15 }).default(2),
    },
    'an object { rotateSeconds?, keepPrevious? }',
  ).optional(),
  ktls: booleanSchema.optional(),
};

/** `httpsRedirect`: `true` or `{ status?, port? }`, always output as `{ status, port }`. */
const httpsRedirectSchema = z.union(
  [
    z.literal(true).transform(() => ({ status: 308, port: 443 })),
    strictObject(
      {
        status: redirectStatusSchema.default(308),
        port: integer({ min: 1, max: 65535 }).default(443),
      },
      'true, or an object { status?, port? }',
    ),
  ],
  { error: (issue) => `expected true, or an object { status?, port? }, got ${describeValue(issue.input)}` },
);

/** A listener's `tls` (the library's; a configuration file's adds `acme`). */
const listenerTlsSchema = strictObject(
  listenerTlsShape,
  'an object { certificates?, acmeCertificate?, hsts?, clientCertificates?, sessionTickets?, ktls? }',
).superRefine((tls, ctx) => {
  if (!tls.certificates && !tls.acmeCertificate) {
    ctx.addIssue({
      code: 'custom',
      path: ['certificates'],
      message: 'expected at least one certificate (or acmeCertificate: true)',
    });
  }
});

/** `listeners`: 1 to 64 of `{ listen, tls?, httpsRedirect? }`, `tls` as `tlsSchema` takes it. */
export function listenersSchema<T extends z.ZodType>(tlsSchema: T) {
  return z
    .array(
      strictObject(
        {
          listen: address({ allowPortZero: true }),
          tls: tlsSchema.optional(),
          httpsRedirect: httpsRedirectSchema.optional(),
        },
        'an object { listen, tls?, httpsRedirect? }',
      ),
      { error: (issue) => `expected an array of { listen, tls?, httpsRedirect? }, got ${describeValue(issue.input)}` },
    )
    .min(1, { error: 'expected at least one listener' })
    .max(64, { error: 'expected at most 64 listeners' });
}

/** The default listen address, parsed. */
const defaultListen = address({ allowPortZero: true }).parse(defaults.listen);

export const optionsShape = {
  listen: address({ allowPortZero: true }).optional(),
  listeners: listenersSchema(listenerTlsSchema).optional(),
  backends: backendsSchema(1),
  strategy: strategySchema.default(defaults.strategy),
  mode: oneOf(proxyModes).default(defaults.mode),
  redirectStatus: redirectStatusSchema.optional(),
  proxyProtocol: oneOf(proxyProtocolVersions).optional(),
  hashHeader: headerNameSchema.default(defaults.hashHeader),
  cookieName: cookieNameSchema.default(defaults.cookieName),
  workers: integer(nativeOption('workers')).optional(),
  backlog: nativeField('backlog'),
  timeouts: strictObject(
    {
      connectMs: nativeField('timeouts.connectMs'),
      responseMs: nativeField('timeouts.responseMs'),
      clientHeadMs: nativeField('timeouts.clientHeadMs'),
      keepAliveMs: nativeField('timeouts.keepAliveMs'),
      backendIdleMs: nativeField('timeouts.backendIdleMs'),
      clientBodyMs: nativeField('timeouts.clientBodyMs'),
      clientBodyTotalMs: nativeField('timeouts.clientBodyTotalMs'),
      tunnelIdleMs: nativeField('timeouts.tunnelIdleMs'),
    },
    'an object of timeouts in ms',
  ).prefault({}),
  limits: strictObject(
    {
      maxStartLine: nativeField('limits.maxStartLine'),
      maxHeadBytes: nativeField('limits.maxHeadBytes'),
      maxHeaderCount: nativeField('limits.maxHeaderCount'),
      maxBodyBytes: nativeField('limits.maxBodyBytes'),
      maxClientConnections: nativeField('limits.maxClientConnections'),
    },
    'an object of limits',
  )
    .prefault({})
    .superRefine((limits, ctx) => {
      if (limits.maxStartLine > limits.maxHeadBytes) {
        ctx.addIssue({
          code: 'custom',
          path: ['maxStartLine'],
          message: `must not exceed limits.maxHeadBytes (${limits.maxHeadBytes}), got ${limits.maxStartLine}`,
        });
      }
    }),
  pool: strictObject(
    {
      maxIdlePerBackend: nativeField('pool.maxIdlePerBackend'),
      surplusIdleMs: nativeField('pool.surplusIdleMs'),
      tcpKeepAliveIdleSec: nativeField('pool.tcpKeepAliveIdleSec'),
      tcpKeepAliveIntervalSec: nativeField('pool.tcpKeepAliveIntervalSec'),
      tcpKeepAliveCount: nativeField('pool.tcpKeepAliveCount'),
    },
    'an object of pool settings',
  ).prefault({}),
  bodies: strictObject(
    {
      spliceMinBytes: nativeField('bodies.spliceMinBytes'),
      maxPipes: nativeField('bodies.maxPipes'),
    },
    'an object { spliceMinBytes?, maxPipes? }',
  ).prefault({}),
  forwarded: strictObject(
    {
      mode: oneOf(forwardedModes).default(f.mode),
      trustIncoming: booleanSchema.default(f.trustIncoming),
    },
    'an object { mode?, trustIncoming? }',
  ).prefault({}),
  headers: strictObject(
    {
      underscores: oneOf(underscoreHeaderModes).default(hd.underscores),
    },
    'an object { underscores? }',
  ).prefault({}),
  outlierDetection: strictObject(
    {
      consecutiveFailures: nativeField('outlierDetection.consecutiveFailures'),
      baseEjectionMs: nativeField('outlierDetection.baseEjectionMs'),
      maxEjectionPercent: nativeField('outlierDetection.maxEjectionPercent'),
      slowStartMs: nativeField('outlierDetection.slowStartMs'),
    },
    'an object of outlier detection settings',
  ).prefault({}),
  retries: strictObject(
    {
      maxTries: nativeField('retries.maxTries'),
      budgetPercent: nativeField('retries.budgetPercent'),
      minPerSecond: nativeField('retries.minPerSecond'),
    },
    'an object of retry settings',
  ).prefault({}),
  healthCheck: balancerHealthCheckSchema.optional(),
  accessLogSampleRate: sampleRateSchema.default(defaults.accessLogSampleRate),
  protection: makeProtectionSchema({ integer, strictObject, describeValue }),
  queue: strictObject(
    {
      maxPending: nativeField('queue.maxPending'),
      timeoutMs: nativeField('queue.timeoutMs'),
    },
    'an object { maxPending?, timeoutMs? }',
  ).prefault({}),
  tls: listenerTlsSchema.optional(),
  http2: booleanSchema.default(true),
  http2c: booleanSchema.default(false),
  http2Limits: strictObject(
    {
      maxConcurrentStreams: nativeField('http2Limits.maxConcurrentStreams'),
      maxHeaderListBytes: nativeField('http2Limits.maxHeaderListBytes'),
      maxHeaderFields: nativeField('http2Limits.maxHeaderFields'),
      maxHeaderBlockBytes: nativeField('http2Limits.maxHeaderBlockBytes'),
      maxContinuationFrames: nativeField('http2Limits.maxContinuationFrames'),
      stallTimeoutMs: nativeField('http2Limits.stallTimeoutMs'),
      streamResetBurst: nativeField('http2Limits.streamResetBurst'),
      streamResetsPerSecond: nativeField('http2Limits.streamResetsPerSecond'),
      settingsBurst: nativeField('http2Limits.settingsBurst'),
      settingsPerSecond: nativeField('http2Limits.settingsPerSecond'),
      pingBurst: nativeField('http2Limits.pingBurst'),
      pingsPerSecond: nativeField('http2Limits.pingsPerSecond'),
      priorityBurst: nativeField('http2Limits.priorityBurst'),
      prioritiesPerSecond: nativeField('http2Limits.prioritiesPerSecond'),
      emptyDataBurst: nativeField('http2Limits.emptyDataBurst'),
      emptyDataPerSecond: nativeField('http2Limits.emptyDataPerSecond'),
      windowUpdateBurst: nativeField('http2Limits.windowUpdateBurst'),
      windowUpdatesPerSecond: nativeField('http2Limits.windowUpdatesPerSecond'),
    },
    'an object of HTTP/2 defence limits (docs/http2.md)',
  ).prefault({}),
  httpsRedirect: httpsRedirectSchema.optional(),
};

const optionsObjectSchema = strictObject(optionsShape, 'an options object');

/** A parsed listen address. */
export type ListenAddress = { text: string; host: string; port: number; kind: HostKind };
/** `httpsRedirect`, with its defaults. */
export type HttpsRedirectConfig = { status: number; port: number };

/** One listener as `refineOptions` sees it (its tls: the library's, or a file's with `acme`). */
interface ListenerShape {
  listen: ListenAddress;
  tls?: unknown;
  httpsRedirect?: HttpsRedirectConfig | undefined;
}

/** What `refineOptions` looks at: the mode and what depends on it. */
interface ModeDependent {
  mode: ProxyMode;
  listen?: ListenAddress | undefined;
  listeners?: readonly ListenerShape[] | undefined;
  tls?: unknown;
  httpsRedirect?: HttpsRedirectConfig | undefined;
  strategy: Strategy;
  redirectStatus?: number | undefined;
  proxyProtocol?: ProxyProtocolVersion | undefined;
  backends?: readonly BackendConfig[] | undefined;
}

/** `listeners`, or the one listener `listen`/`tls`/`httpsRedirect` describe, with the path of each. */
function listenersOf(config: ModeDependent): Array<{ listener: ListenerShape; path: PropertyKey[] }> {
  if (config.listeners) return config.listeners.map((listener, index) => ({ listener, path: ['listeners', index] }));
  const one: ListenerShape = {
    listen: config.listen ?? defaultListen,
    ...(config.tls === undefined ? {} : { tls: config.tls }),
    ...(config.httpsRedirect === undefined ? {} : { httpsRedirect: config.httpsRedirect }),
  };
  return [{ listener: one, path: [] }];
}

/**
 * Options that only mean something in one mode are refused in the others, rather than
 * silently ignored ('none' needs no tcp mode).
 */
export function refineOptions(config: ModeDependent, ctx: z.RefinementCtx): void {
  if (config.redirectStatus !== undefined && config.mode !== 'redirect') {
    ctx.addIssue({
      code: 'custom',
      path: ['redirectStatus'],
      message: `only applies in redirect mode; mode is '${config.mode}'`,
    });
  }
  if (config.proxyProtocol !== undefined && config.proxyProtocol !== 'none' && config.mode !== 'tcp') {
    ctx.addIssue({ code: 'custom', path: ['proxyProtocol'], message: `only applies in tcp mode; mode is '${config.mode}'` });
  }
  if (config.listeners) {
    const oneListener = (['listen', 'tls', 'httpsRedirect'] as const).filter((key) => config[key] !== undefined);
    if (oneListener.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['listeners'],
        message: `give either listeners or the one-listener form (listen, tls, httpsRedirect), not both; found ${oneListener.join(', ')} beside listeners`,
      });
    }
  }
  const seen = new Map<string, number>();
  listenersOf(config).forEach(({ listener, path }, index) => {
    if (listener.tls !== undefined && config.mode === 'tcp') {
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'tls'],
        message: "does not apply in tcp mode (TLS passes through to the backends there); use mode 'http'",
      });
    }
    if (listener.httpsRedirect !== undefined && config.mode !== 'http') {
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'httpsRedirect'],
        message: `only applies in http mode; mode is '${config.mode}'`,
      });
    } else if (listener.httpsRedirect !== undefined && listener.tls !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'httpsRedirect'],
        message: 'only applies to a plain listener; this one has tls (it is HTTPS already)',
      });
    }
    // Two listeners on one address would share its connections (SO_REUSEPORT): refused.
    if (listener.listen.port !== 0) {
      const key = addressKey(listener.listen);
      const first = seen.get(key);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [...path, 'listen'],
          message: `same address as listeners[${first}] (${listener.listen.text})`,
        });
      } else {
        seen.set(key, index);
      }
    }
  });
  // The mTLS subject header is dropped from every listener's requests (a plain listener's
  // client must not be able to send it), so all listeners name the same one.
  let subjectHeader: { name: string; index: number } | undefined;
  listenersOf(config).forEach(({ listener, path }, index) => {
    const tls = listener.tls as { clientCertificates?: { subjectHeader?: string } } | undefined;
    const name = tls?.clientCertificates?.subjectHeader?.toLowerCase();
    if (name === undefined) return;
    if (!subjectHeader) subjectHeader = { name, index };
    else if (subjectHeader.name !== name) {
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'tls', 'clientCertificates', 'subjectHeader'],
        message: `expected the same header as listeners[${subjectHeader.index}] ('${subjectHeader.name}'): it is dropped from every listener's requests`,
      });
    }
  });
  // Session ticket keys are the balancer's, shared by every TLS listener (a ticket resumes
  // on any of them), so one rotation schedule: listeners that give one give the same.
  let tickets: { key: string; index: number } | undefined;
  listenersOf(config).forEach(({ listener, path }, index) => {
    const given = (listener.tls as { sessionTickets?: unknown } | undefined)?.sessionTickets;
    if (given === undefined) return;
    const key = JSON.stringify(given);
    if (!tickets) tickets = { key, index };
    else if (tickets.key !== key) {
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'tls', 'sessionTickets'],
        message: `expected the same as listeners[${tickets.index}].tls.sessionTickets: the ticket keys are shared by every listener`,
      });
    }
  });
  const conflict = strategyModeConflict(config.strategy, config.mode);
  if (conflict) ctx.addIssue({ code: 'custom', path: ['strategy'], message: conflict });
  (config.backends ?? []).forEach((backend, index) => {
    const issue = backendModeIssue(backend, config.mode);
    if (issue) ctx.addIssue({ code: 'custom', path: ['backends', index, ...issue.path], message: issue.message });
  });
}

/** How the options gave the listeners: `listen`/`tls`/`httpsRedirect`, or `listeners`. */
export type ListenerForm = 'single' | 'list';

/**
 * The option path of listener `index`'s fields as the options wrote them: '' for the
 * one-listener form (`listen`, `tls.certificates[0]`), `listeners[1].` otherwise.
 */
export function listenerPrefix(config: { listenerForm: ListenerForm }, index: number): string {
  return config.listenerForm === 'single' ? '' : `listeners[${index}].`;
}

/** A validated listener's tls. */
export type ListenerTlsConfig = z.output<typeof listenerTlsSchema>;

/** One validated listener: its address, and its tls and httpsRedirect if any. */
export interface ListenerConfig {
  listen: ListenAddress;
  tls?: ListenerTlsConfig;
  httpsRedirect?: HttpsRedirectConfig;
}

/** What `finishOptions` takes: refined options whose listeners' tls is the library's (a file's `acme` taken out). */
type Finishable = ModeDependent & {
  tls?: ListenerTlsConfig | undefined;
  listeners?: readonly ListenerConfig[] | undefined;
};

/**
 * Fills in the defaults that depend on the mode, and turns the one-listener form
 * (`listen`, `tls`, `httpsRedirect`) into `listeners`, the one form the balancer runs on.
 */
export function finishOptions<T extends Finishable>(
  config: T,
): Omit<T, 'redirectStatus' | 'proxyProtocol' | 'listen' | 'tls' | 'httpsRedirect' | 'listeners'> & {
  redirectStatus: number;
  proxyProtocol: ProxyProtocolVersion;
  listeners: ListenerConfig[];
  listenerForm: ListenerForm;
} {
  const { listen: _listen, tls: _tls, httpsRedirect: _redirect, listeners: _listeners, ...rest } = config;
  return {
    ...(rest as Omit<T, 'redirectStatus' | 'proxyProtocol' | 'listen' | 'tls' | 'httpsRedirect' | 'listeners'>),
    listeners: listenersOf(config).map(({ listener }) => listener as ListenerConfig),
    listenerForm: config.listeners ? 'list' : 'single',
    redirectStatus: config.redirectStatus ?? defaults.redirectStatus,
    proxyProtocol: config.proxyProtocol ?? defaults.proxyProtocol,
  };
}

/** The schema of `BalancerOptions`; its output is a complete `BalancerConfig`. */
export const balancerOptionsSchema = optionsObjectSchema.superRefine(refineOptions).transform(finishOptions);

/** Why `backend` cannot be used in `mode` (its path inside the backend and a message), if it cannot. */
export function backendModeIssue(backend: BackendConfig, mode: ProxyMode): { path: string[]; message: string } | undefined {
  if (backend.publicUrl !== undefined && mode !== 'redirect') {
    return { path: ['publicUrl'], message: `only applies in redirect mode; mode is '${mode}'` };
  }
  if (backend.tls !== undefined && mode === 'tcp') {
    return { path: ['tls'], message: "does not apply in tcp mode (bytes pass through untouched there); use mode 'http'" };
  }
  return undefined;
}

/** Validated options with every default filled in. */
export type BalancerConfig = z.output<typeof balancerOptionsSchema>;
/** One validated backend. */
export type BackendConfig = z.output<typeof backendObjectSchema>;

// BalancerOptions (written by hand for its JSDoc) must be something the schema accepts.
type Accepts<T extends true> = T;
// (The schema's input type has mutable arrays; a readonly array validates the same.)
type _OptionsMatchSchema = Accepts<
  Omit<BalancerOptions, 'backends'> & { backends: unknown[] } extends z.input<typeof balancerOptionsSchema> ? true : false
>;
type _BackendMatchesSchema = Accepts<BackendOptions extends z.input<typeof backendObjectSchema> ? true : false>;

/** `backends[2].address` from ['backends', 2, 'address']. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out;
}

/**
 * Validates options and fills in defaults. Throws LbConfigError listing every problem, at
 * most one per path.
 */
export function validateOptions(options: unknown): BalancerConfig {
  return parseOrThrow(balancerOptionsSchema, options);
}

/**
 * Parses `value` with `schema`, or throws LbConfigError with at most one issue per path,
 * each path prefixed with `prefix` (e.g. ['weight'] for a value given on its own).
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, prefix: readonly PropertyKey[] = []): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const issue of result.error.issues) {
    const path = formatPath([...prefix, ...issue.path]);
    if (seen.has(path)) continue;
    seen.add(path);
    issues.push({ path, message: issue.message });
  }
  throw new LbConfigError(issues);
}

/** Validates one backend's maxConnections (for `setMaxConnections`). */
export const maxConnectionsSchema = integer(nativeOption('backends[].maxConnections'));
/** Validates one backend weight (for `setWeight`). */
export const weightSchema = integer(nativeOption('backends[].weight'));
/** Validates one backend state (for `setBackendState`). */
export const backendStateSchema = oneOf(backendStates);
