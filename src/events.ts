// The events a balancer emits: one list of names, and the payload of each.
//
// Where they come from, and how per-worker native events are aggregated:
// - 'backend-up' / 'backend-down': active health checks (src/health/), run once per
//   balancer on the JavaScript thread, so each is emitted once per transition.
// - 'backend-ejected' / 'backend-recovered': passive health (outlier detection) runs in
//   every worker on its own, so these are emitted per worker, as each worker reports them
//   (`worker` says which); a backend failing for everyone is ejected once per worker.
//   'panic-routing' too: a worker with no eligible backend tries an ejected or down one.
// - 'backend-error': a worker's connect to a backend failed; at most one a second per
//   backend and worker, the message counting those held back.
// - 'backend-drained' / 'backend-removed': emitted once per backend, when every worker has
//   reported that it has nothing in flight on it any more.
// - 'cluster-limits-degraded' / '-restored': cluster-wide rate limits could not reach
//   Redis (each balancer applies its local share), then could again; once per transition.
// - 'access': one per sampled request (`accessLogSampleRate`), from whichever worker
//   served it.
import type { LbError } from './errors.js';

/** Every event name a balancer emits. */
export const balancerEventNames = [
  'listening',
  'backend-up',
  'backend-down',
  'backend-ejected',
  'backend-recovered',
  'panic-routing',
  'backend-error',
  'backend-drained',
  'backend-removed',
  'access',
  'cluster-limits-degraded',
  'cluster-limits-restored',
  'error',
] as const;

export type BalancerEventName = (typeof balancerEventNames)[number];

/** Which backend an event is about. */
export interface BackendRef {
  /** The backend's id: its index in the `backends` option, or given by `addBackend`; never reused. */
  id: number;
  /** The address as given, e.g. `api.internal:9001`. */
  address: string;
  /** The numeric address it resolved to, without brackets ('' before it was first resolved). */
  host: string;
  port: number;
}

/** Payload of 'listening': where the balancer accepts connections. */
export interface ListeningEvent {
  /** Numeric listen address, without brackets (like `server.address().address`). */
  address: string;
  /** The bound port; the real one when the options said port 0. */
  port: number;
}

/** Payload of 'backend-down': `fall` health checks in a row failed; the backend takes no new request. */
export interface BackendDownEvent {
  backend: BackendRef;
  /** Why the last check failed, e.g. `status 500 (expected 200-399)` or `connect ECONNREFUSED`. */
  reason: string;
}

/** Payload of 'backend-up': `rise` health checks in a row passed; the backend takes requests again. */
export interface BackendUpEvent {
  backend: BackendRef;
}

/** Payload of 'backend-ejected': one worker's passive health took the backend out for a while. */
export interface BackendEjectedEvent {
  backend: BackendRef;
  /** Index of the worker that ejected it (each worker ejects on its own). */
  worker: number;
  /** What the data path saw, e.g. `5 consecutive failures (connect refused)`. */
  reason: string;
  /** How long this ejection lasts. */
  ejectionMs: number;
}

/** Payload of 'backend-recovered': one worker takes the backend back after an ejection. */
export interface BackendRecoveredEvent {
  backend: BackendRef;
  worker: number;
  /** Why, e.g. `127.0.0.1:9001: answered while ejected` or `...: active health check passed`. */
  reason: string;
}

/** Payload of 'backend-error': a connect to the backend failed (the request goes to another backend, or gets 502). */
export interface BackendErrorEvent {
  backend: BackendRef;
  worker: number;
  /** The errno name: ECONNREFUSED, ETIMEDOUT (the connect timeout passed), EHOSTUNREACH, ... */
  code: string;
  /** E.g. `connect to 127.0.0.1:9001 failed: Connection refused (and 12 more since the last report)`. */
  message: string;
}

/**
 * Payload of 'panic-routing': on this worker no backend was eligible (every one in
 * service was ejected or down by health checks), so a request was sent to an ejected one,
 * or failing that to a down one, rather than answered 502/503 (Envoy's panic routing;
 * draining and maintenance backends are never tried). At most one a second per worker;
 * `panicRouted` in the stats counts every such request.
 */
export interface PanicRoutingEvent {
  /** The backend that was tried. */
  backend: BackendRef;
  worker: number;
  message: string;
}

/** Payload of 'backend-drained': a backend set to drain or maint has nothing in flight in any worker. */
export interface BackendDrainedEvent {
  backend: BackendRef;
  state: 'drain' | 'maint';
}

/** Payload of 'backend-removed': a backend given to `removeBackend` has nothing in flight any more and is gone. */
export interface BackendRemovedEvent {
  backend: BackendRef;
}

/** Payload of 'access': one sampled request, once its exchange ended. */
export interface AccessEvent {
  /** Wall-clock milliseconds since the epoch when the exchange ended. */
  time: number;
  /** The worker that served it. */
  worker: number;
  /** The client's address (numeric, no port). */
  client: string;
  method: string;
  /** The request target, truncated to 255 bytes. */
  target: string;
  /** The status sent to the client. */
  status: number;
  /** The backend that answered; absent when the balancer answered by itself (400, 503, ...). */
  backend?: BackendRef;
  /** Request head parsed to response head, in milliseconds (microsecond precision). */
  ttfbMs: number;
  /** Request head parsed to the response's last byte, in milliseconds. */
  totalMs: number;
  /** Bytes written to the client. */
  bytes: number;
}

/** Payload of 'cluster-limits-degraded': an exchange with Redis failed; local shares apply until one works. */
export interface ClusterLimitsDegradedEvent {
  /** Why, e.g. `Connection is closed.` or `Command timed out`. */
  reason: string;
}

/** Listener arguments per event name. */
export interface BalancerEventMap {
  listening: [event: ListeningEvent];
  'backend-up': [event: BackendUpEvent];
  'backend-down': [event: BackendDownEvent];
  'backend-ejected': [event: BackendEjectedEvent];
  'backend-recovered': [event: BackendRecoveredEvent];
  'panic-routing': [event: PanicRoutingEvent];
  'backend-error': [event: BackendErrorEvent];
  'backend-drained': [event: BackendDrainedEvent];
  'backend-removed': [event: BackendRemovedEvent];
  /** A sampled request (only with `accessLogSampleRate` above 0). */
  access: [event: AccessEvent];
  'cluster-limits-degraded': [event: ClusterLimitsDegradedEvent];
  /** An exchange with Redis worked again: the cluster-wide limits apply again. */
  'cluster-limits-restored': [event: Record<string, never>];
  /**
   * An error while running (a worker's LbWorkerError, or a configuration update the data
   * path refused after a health change). Emitted only when at least one 'error' listener
   * is registered; worker errors are counted in `stats().workerErrors` anyway.
   */
  error: [error: LbError];
}

export type BalancerListener<E extends BalancerEventName> = (...args: BalancerEventMap[E]) => void;
