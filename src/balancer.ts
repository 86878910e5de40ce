// The Balancer: owns one NativeBalancer per run, turns its event batches into typed events,
// its counters into BalancerStats, and its errors into lb-native's error classes.
import { EventEmitter } from 'node:events';
import { createServer } from 'node:net';

import { type BackendEntry, BackendSet, type Removal, refOf, statusOf } from './backend-set.js';
import { addressKey, formatAddress, parseAddress, resolveHost } from './config/address.js';
import { backendTlsPeer } from './config/backend-tls-schema.js';
import { bounds, defaults } from './config/defaults.js';
import {
  type BackendConfig,
  type BackendOptions,
  type BackendState,
  type BalancerConfig,
  type BalancerOptions,
  type HealthCheckConfig,
  backendModeIssue,
  backendSchema,
  backendStateSchema,
  effectiveHealthCheck,
  listenerPrefix,
  parseOrThrow,
  strategySchema,
  maxConnectionsSchema,
  validateOptions,
  weightSchema,
} from './config/schema.js';
import type { Strategy } from './config/strategies.js';
import { strategyModeConflict } from './config/strategies.js';
import { toNativeConfig } from './config/to-native.js';
import { deliverToListeners } from './deliver-to-listeners.js';
import { LbConfigError, LbError, LbListenError, LbNativeError, LbStateError, LbWorkerError, errorCodes } from './errors.js';
import type { AccessEvent, BalancerEventMap, BalancerEventName, BalancerListener, ListeningEvent } from './events.js';
import { type HealthChange, HealthChecker } from './health/health-checker.js';
import {
  type NativeAddon,
  type NativeBalancer,
  type NativeCertificate,
  type NativeTlsFiles,
  type NativeConfig,
  type NativeEvent,
  type NativeStats,
  loadNative,
} from './native.js';
import { ClusterLimits, type ClusterLimitsStats } from './protection/cluster-limits.js';
import { type BackendStatus, type BalancerStats, toBalancerStats } from './stats.js';
import { readCertificateFiles } from './tls/certificate-files.js';
import { CertificateWatch } from './tls/certificate-watch.js';
import {
  TicketKeyRotation,
  type TicketKeySchedule,
  defaultTicketKeepPrevious,
  defaultTicketRotateSeconds,
} from './tls/ticket-key-rotation.js';

/**
 * Where a balancer is in its life: `idle` (created, never started), `starting`, `running`,
 * `stopping`, `stopped` (may be started again).
 */
export type BalancerState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface StopOptions {
  /** How long in-flight requests may finish before their connections are closed. Default 10000. */
  deadlineMs?: number;
}

/** What `reconfigure` may be told besides the new options. */
export interface ReconfigureOptions {
  /**
   * Backends managed by something else, e.g. a discovery source: `reconfigure` neither
   * adds, removes nor changes a backend whose address (as configured) this returns true
   * for, whether or not the new options list it.
   */
  managedElsewhere?: (address: string) => boolean;
}

/** What `reconfigure` changed. */
export interface ReconfigureResult {
  /** Addresses of the backends added. */
  added: string[];
  /** Addresses of the backends being removed: they take no new request and go once drained. */
  removed: string[];
  /** Backends whose settings changed, e.g. `127.0.0.1:9001 (weight 1 -> 3)`. */
  changed: string[];
  /** Set when the strategy changed. */
  strategy?: { from: Strategy; to: Strategy };
  /** Set when the first listener moved to another address (`to` has the bound port). */
  listen?: { from: string; to: string };
  /** Every listener that moved (the first one too), by its index in `listeners`. */
  listeners?: Array<{ index: number; from: string; to: string }>;
  /** Other option paths whose values changed, e.g. `timeouts.connectMs`. */
  settings: string[];
}

/** One start-to-stop run: the native balancer and where it listens. */
interface Run {
  native: NativeBalancer;
  workers: number;
  health: HealthChecker;
  /** `#version` when the configuration the workers started with was built. */
  version: number;
  /** Where each listener (config.listeners, in order) is bound: numeric address, real port. */
  listeners: Array<{ address: string; port: number }>;
  /** TLS listeners: the session ticket keys shared by the workers, rotated on a schedule. */
  ticketKeys?: TicketKeyRotation;
  /** Cluster-wide rate limits' exchanges with Redis (protection.cluster), while running. */
  clusterLimits?: ClusterLimits;
}

/** Where one listener accepts connections. */
export interface ListenerAddress {
  /** Numeric address, without brackets. */
  address: string;
  /** The bound port; the real one when the options said port 0. */
  port: number;
  /** True for a TLS listener. */
  tls: boolean;
  /** `http://host:port/` or `https://...`, with brackets for IPv6. */
  url: string;
}

/**
 * An HTTP (or redirect, or TCP) load balancer. Create it with `createBalancer(options)`,
 * then `await start()`. Backends, weights, states and the strategy can be changed while it
 * runs; each change reaches every worker within milliseconds.
 *
 * ```ts
 * const lb = await createBalancer({ listen: '127.0.0.1:0', backends: ['127.0.0.1:9001'] }).start();
 * await lb.addBackend({ address: '127.0.0.1:9002', weight: 3 });
 * console.log(lb.port, lb.stats().backends[0].requests);
 * await lb.stop();
 * ```
 */
export class Balancer {
  #config: BalancerConfig;
  readonly #emitter = new EventEmitter<BalancerEventMap>();
  readonly #backends: BackendSet;
  #strategy: Strategy;
  #state: BalancerState = 'idle';
  #run: Run | undefined;
  #starting: Promise<this> | undefined;
  #stopping: Promise<void> | undefined;
  #finalStats: BalancerStats | undefined;
  #workerErrors = 0;
  /** Bumped by every change to backends or strategy, so a start can tell it missed one. */
  #version = 0;
  /** The last `reconfigure`, settled: the next one waits for it. */
  #reconfiguring: Promise<unknown> = Promise.resolve();
  /** ACME HTTP-01 answers (src/acme/), kept across stop and start. */
  #acmeChallenges: Record<string, string> | null = null;
  /** ACME TLS-ALPN-01 challenge certificates, by name (src/acme/), kept across stop and start. */
  #acmeAlpnChallenges: Record<string, { cert: string; key: string }> | null = null;
  /** Per listener (config.listeners): its certificates as last read from their files (TLS listeners; kept when a new read fails). */
  #certificates: Array<NativeTlsFiles | undefined> = [];
  /** The certificate installed for listeners with `tls.acmeCertificate` (installCertificate). */
  #acmeCertificate: NativeCertificate | undefined;
  /** TLS listeners, while running: reloads the certificates when their files change. */
  #certificateWatch: CertificateWatch | undefined;

  /**
   * @internal Takes a configuration validated already (the service's, service/settings.ts);
   * users call `createBalancer`, which validates their options.
   */
  constructor(config: BalancerConfig) {
    this.#config = config;
    this.#backends = new BackendSet(config.backends);
    this.#strategy = config.strategy;
  }

  /**
   * The validated options the balancer was created with (or last `reconfigure`d with),
   * defaults filled in. Other live changes do not show here: see `backends()` and
   * `strategy`.
   */
  get config(): BalancerConfig {
    return this.#config;
  }

  get state(): BalancerState {
    return this.#state;
  }

  /** The strategy in use now (the option, or the last `setStrategy`). */
  get strategy(): Strategy {
    return this.#strategy;
  }

  /** The numeric address the (first) listener listens on (no brackets). Throws LbStateError unless running. */
  get address(): string {
    return this.#first(this.#current('address')).address;
  }

  /** The port the (first) listener listens on: the real one when the options said port 0. */
  get port(): number {
    return this.#first(this.#current('port')).port;
  }

  /** `http://host:port/` of the (first) listener, with brackets for IPv6. */
  get url(): string {
    const first = this.#first(this.#current('url'));
    return `http://${formatAddress(first.address, first.port)}/`;
  }

  /** Every listener, in configuration order: where it is bound and whether it is TLS. Throws LbStateError unless running. */
  get listeners(): ListenerAddress[] {
    const run = this.#current('listeners');
    return run.listeners.map((bound, index) => {
      const tls = this.#config.listeners[index]?.tls !== undefined;
      return { ...bound, tls, url: `${tls ? 'https' : 'http'}://${formatAddress(bound.address, bound.port)}/` };
    });
  }

  #first(run: Run): { address: string; port: number } {
    const first = run.listeners[0];
    if (!first) throw new LbStateError('no listener');
    return first;
  }

  /**
   * Resolves host names, starts the native workers and resolves once they listen (after
   * emitting 'listening'), then starts the health checks. Rejects with LbResolveError,
   * LbListenError, LbConfigError (a value the data path rejects) or LbNativeError. May be
   * called again after `stop()`: the backends and strategy are then those of the last
   * run, live changes included, and every backend starts healthy again.
   */
  start(): Promise<this> {
    if (this.#state !== 'idle' && this.#state !== 'stopped') {
      return Promise.reject(new LbStateError(`start() called while ${this.#state}; stop() it first`));
    }
    this.#state = 'starting';
    this.#starting = this.#start().then(
      (run) => {
        this.#run = run;
        this.#finalStats = undefined;
        this.#state = 'running';
        // A change made while starting (an addBackend that was resolving, say) is published now.
        if (this.#version !== run.version) this.#publishOrReport();
        const first = this.#first(run);
        deliverToListeners(() => this.#emitter.emit('listening', { address: first.address, port: first.port }));
        this.#startHealthChecks(run);
        this.#watchCertificates();
        this.#syncClusterLimits(run);
        return this;
      },
      (error: unknown) => {
        this.#state = this.#finalStats ? 'stopped' : 'idle';
        throw error;
      },
    );
    return this.#starting;
  }

  async #start(): Promise<Run> {
    const config = this.#config;
    const listenHosts = await Promise.all(config.listeners.map((l, i) => resolveHost(l.listen.host, listenPath(config, i))));
    const entries = this.#backends.list();
    const hosts = await Promise.all(
      entries.map((entry) => resolveHost(entry.config.address.host, `backends[${entry.id}].address`)),
    );
    entries.forEach((entry, i) => {
      entry.host = hosts[i] ?? entry.host;
      entry.health = 'unchecked'; // 'up' once its checks start, if it has any
      entry.healthReason = undefined;
      // A backend configured (or left) draining is reported drained once every worker has it.
      entry.drain = undefined;
      if (entry.config.state !== 'ready') this.#backends.setState(entry, entry.config.state);
    });
    let addon: NativeAddon;
    try {
      addon = loadNative();
    } catch (cause) {
      throw new LbNativeError(`cannot load the native addon (${firstLine(cause)}); rebuild it with 'npm rebuild lb-native'`, {
        cause,
      });
    }
    const workers = config.workers ?? defaultWorkers(addon);
    this.#certificates = await readAllCertificates(config);
    const version = this.#version;
    const bound = config.listeners.map((l, i) => ({ address: listenHosts[i] ?? l.listen.host, port: l.listen.port }));
    const nativeConfig = this.#nativeConfig(bound, workers);
    this.#workerErrors = 0;
    for (const [i, listener] of config.listeners.entries()) {
      const port = listener.listen.port;
      if (port !== 0) await this.#checkPortFree(bound[i]!.address, port, listener.listen.text);
    }
    const native = new addon.Balancer((events) => this.#onEvents(events));
    const ticketKeys = hasTls(config)
      ? new TicketKeyRotation(ticketSchedule(config), (keys) => native.setTicketKeys(keys))
      : undefined;
    try {
      if (this.#acmeChallenges) native.setAcmeChallenges(this.#acmeChallenges);
      if (this.#acmeAlpnChallenges) native.setAcmeAlpnChallenges(this.#acmeAlpnChallenges);
      ticketKeys?.start(); // before start(): the first connections already use the shared keys
      native.start(nativeConfig);
    } catch (cause) {
      ticketKeys?.stop();
      try {
        native.stop(0, () => {});
      } catch {
        // Nothing was started; nothing to stop.
      }
      throw this.#fromNative(cause);
    }
    const run: Run = {
      native,
      workers,
      health: new HealthChecker(
        (change) => this.#onHealthChange(change),
        (id) => this.#onHealthPass(id),
      ),
      version,
      listeners: bound.map((listener, i) => ({ address: listener.address, port: native.boundPort(i) })),
      ...(ticketKeys ? { ticketKeys } : {}),
    };
    return run;
  }

  /** The full native configuration: the options, strategy and backends as they are now. */
  #nativeConfig(listeners: ReadonlyArray<{ address: string; port: number }>, workers: number): NativeConfig {
    return toNativeConfig(this.#config, {
      listeners: listeners.map((l, i) => ({ host: l.address, port: l.port, certificates: this.#certificates[i] })),
      workers,
      strategy: this.#strategy,
      backends: this.#backends.list().map((e) => ({ id: e.id, config: e.config, host: e.host, healthy: e.health !== 'down' })),
      acmeCertificate: this.#acmeCertificate,
    });
  }

  /**
   * The workers bind with SO_REUSEPORT, which lets a second balancer run by the same user
   * bind the same port and silently take half the connections. A plain bind first (Node
   * sets no SO_REUSEPORT) fails with EADDRINUSE if anything listens there.
   */
  async #checkPortFree(host: string, port: number, text: string): Promise<void> {
    const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      const probe = createServer();
      probe.once('error', (failure: NodeJS.ErrnoException) => resolve(failure));
      probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(undefined)));
    });
    // Other failures are left for the native bind to report.
    const code = error?.code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') throw LbListenError.from(text, error);
  }

  /**
   * Stops the health checks, stops accepting at once, lets in-flight requests finish for
   * up to `deadlineMs`, then closes everything; pending `removeBackend` calls then resolve.
   * Idempotent: resolves at once when not running, and every call during a stop gets the
   * same promise. If a start is in progress, waits for it first.
   */
  stop(options: StopOptions = {}): Promise<void> {
    if (this.#stopping) return this.#stopping;
    const deadlineMs = options.deadlineMs ?? defaults.stopDeadlineMs;
    if (!Number.isInteger(deadlineMs) || deadlineMs < bounds.stopDeadlineMs.min || deadlineMs > bounds.stopDeadlineMs.max) {
      return Promise.reject(
        new LbConfigError([
          {
            path: 'deadlineMs',
            message: `expected an integer from 0 to ${bounds.stopDeadlineMs.max}, got ${String(deadlineMs)}`,
          },
        ]),
      );
    }
    if (this.#state === 'starting') {
      const afterStart = (this.#starting ?? Promise.resolve()).then(
        () => this.#stopRun(deadlineMs),
        () => undefined,
      );
      this.#stopping = afterStart.finally(() => {
        this.#stopping = undefined;
      });
      return this.#stopping;
    }
    if (this.#state !== 'running') return Promise.resolve();
    this.#stopping = this.#stopRun(deadlineMs).finally(() => {
      this.#stopping = undefined;
    });
    return this.#stopping;
  }

  async #stopRun(deadlineMs: number): Promise<void> {
    const run = this.#run;
    if (!run || this.#state !== 'running') return;
    this.#state = 'stopping';
    run.health.stop();
    this.#certificateWatch?.close();
    this.#certificateWatch = undefined;
    run.ticketKeys?.stop();
    run.ticketKeys = undefined;
    await run.clusterLimits?.close();
    run.clusterLimits = undefined;
    // The counters as stop begins; replaced by the final ones if the addon still has them
    // once every worker has ended (it may already have released them).
    const beforeStop = this.#nativeStats(run);
    await new Promise<void>((resolve) => run.native.stop(deadlineMs, resolve));
    const final = this.#nativeStats(run) ?? beforeStop ?? emptyNativeStats();
    this.#finalStats = toBalancerStats(final, this.backends(), this.#workerErrors);
    this.#run = undefined;
    this.#state = 'stopped';
    // Every worker has ended: nothing is in flight on a backend being removed.
    for (const removal of this.#backends.removals()) this.#finishRemoval(removal);
  }

  #nativeStats(run: Run): NativeStats | undefined {
    try {
      return run.native.stats();
    } catch {
      return undefined;
    }
  }

  /**
   * Counters summed over workers, and per backend (current backends, in id order). After
   * `stop()`, the final counters of that run. Throws LbStateError before the first start.
   */
  stats(): BalancerStats {
    const run = this.#run;
    if (run) return toBalancerStats(run.native.stats(), this.backends(), this.#workerErrors);
    if (this.#finalStats) return this.#finalStats;
    throw new LbStateError(`stats() called while ${this.#state}; call it after start()`);
  }

  // ---- Live control ------------------------------------------------------------------

  /** The current backends, in id order: id, address, weight, state and health. */
  backends(): BackendStatus[] {
    return this.#backends.list().map((e) => statusOf(e, this.#config.mode));
  }

  /**
   * Adds a backend (an address string or BackendOptions) with a new id, resolving its host
   * name first. Rejects with LbConfigError (invalid, or the address of an existing
   * backend) or LbResolveError. Works in any state; while running, the backend takes
   * traffic (and gets its health checks) at once.
   */
  async addBackend(spec: string | BackendOptions): Promise<BackendStatus> {
    const config = parseOrThrow(backendSchema, spec);
    const modeIssue = backendModeIssue(config, this.#config.mode);
    if (modeIssue) throw new LbConfigError([{ path: modeIssue.path.join('.'), message: modeIssue.message }]);
    this.#checkNotDuplicate(config);
    const host = await resolveHost(config.address.host, 'address');
    // Checked again: another addBackend may have added the same address meanwhile.
    this.#checkNotDuplicate(config);
    const entry = this.#backends.add(config, host);
    if (config.state !== 'ready') this.#backends.setState(entry, config.state);
    const run = this.#state === 'running' ? this.#run : undefined;
    if (run) {
      try {
        this.#publish();
      } catch (error) {
        this.#backends.undoAdd(entry);
        throw error;
      }
      this.#watchHealth(run, entry);
    }
    this.#version += 1;
    return statusOf(entry, this.#config.mode);
  }

  /**
   * Removes a backend (by id or address): it takes no new request at once, requests in
   * flight on it finish, its pooled connections close. Resolves (with its last status),
   * and emits 'backend-removed', once every worker has reported it drained; or when the
   * balancer stops; at once when not running. Its id is never reused. The last backend
   * cannot be removed (LbConfigError); add its replacement first.
   */
  removeBackend(idOrAddress: number | string): Promise<BackendStatus> {
    let removal: Removal;
    try {
      const entry = this.#backends.find(idOrAddress);
      if (this.#backends.size === 1) {
        throw new LbConfigError([
          { path: 'backend', message: `cannot remove ${entry.config.address.text}, the only backend; add another first` },
        ]);
      }
      this.#run?.health.unwatch(entry.id);
      removal = this.#backends.beginRemove(entry);
      try {
        this.#publish();
      } catch (error) {
        this.#backends.undoRemove(removal);
        if (this.#run) this.#watchHealth(this.#run, entry);
        throw error;
      }
    } catch (error) {
      return Promise.reject(error);
    }
    this.#version += 1;
    const run = this.#run;
    if (!run || this.#state !== 'running' || removal.entry.drain?.complete(run.workers)) {
      this.#finishRemoval(removal);
    }
    return removal.done;
  }

  /** Sets a backend's weight (1-256). Throws LbConfigError for an unknown backend or a bad weight. */
  setWeight(idOrAddress: number | string, weight: number): BackendStatus {
    return this.#changeBackendConfig(idOrAddress, { weight: parseOrThrow(weightSchema, weight, ['weight']) });
  }

  /**
   * Sets a backend's maxConnections (0 lifts the limit): requests in flight on it at once
   * for the whole balancer, the rest waiting in its queue. Applies to the next request;
   * waiting ones are served as slots allow. Throws LbConfigError for an unknown backend
   * or a bad value.
   */
  setMaxConnections(idOrAddress: number | string, maxConnections: number): BackendStatus {
    return this.#changeBackendConfig(idOrAddress, {
      maxConnections: parseOrThrow(maxConnectionsSchema, maxConnections, ['maxConnections']),
    });
  }

  /** Changes checked fields of one backend's configuration: published to the workers, or undone if that fails. */
  #changeBackendConfig(idOrAddress: number | string, change: Partial<BackendConfig>): BackendStatus {
    const entry = this.#backends.find(idOrAddress);
    const before = entry.config;
    entry.config = { ...before, ...change };
    this.#publishOrRestore(() => (entry.config = before));
    return statusOf(entry, this.#config.mode);
  }

  /**
   * Sets a backend's state: 'ready' takes traffic; 'drain' takes no new requests and lets
   * in-flight ones finish; 'maint' takes none. When it leaves 'ready', 'backend-drained' is
   * emitted once every worker has nothing in flight on it.
   */
  setBackendState(idOrAddress: number | string, state: BackendState): BackendStatus {
    const value = parseOrThrow(backendStateSchema, state, ['state']);
    const entry = this.#backends.find(idOrAddress);
    if (entry.config.state === value) return statusOf(entry, this.#config.mode);
    const before = { config: entry.config, drain: entry.drain };
    this.#backends.setState(entry, value);
    this.#publishOrRestore(() => Object.assign(entry, before));
    const run = this.#run;
    if (value !== 'ready' && (!run || this.#state !== 'running')) {
      // Not running: nothing is in flight anywhere.
      const drain = entry.drain;
      if (drain && !drain.announced) {
        drain.announced = true;
        deliverToListeners(() => this.#emitter.emit('backend-drained', { backend: refOf(entry), state: value }));
      }
    }
    return statusOf(entry, this.#config.mode);
  }

  /** Switches the load-balancing strategy for new requests. Throws LbConfigError for an unknown name. */
  setStrategy(name: Strategy): void {
    const value = parseOrThrow(strategySchema, name, ['strategy']);
    const conflict = strategyModeConflict(value, this.#config.mode);
    if (conflict) throw new LbConfigError([{ path: 'strategy', message: conflict }]);
    const before = this.#strategy;
    this.#strategy = value;
    this.#publishOrRestore(() => (this.#strategy = before));
  }

  /**
   * Moves the listener to `listen` (`host:port`, port 0 for any free one) without a gap:
   * the new listener accepts before the old one closes, and connections already accepted
   * stay. In HTTP and redirect modes the old address goes on taking connections for 2 s
   * (clients that connected but have not sent their request yet are held by deferred
   * accept, and are answered), then closes. Resolves with the new address once moved (and
   * emits 'listening'). Rejects with LbConfigError (not an address), LbResolveError,
   * LbListenError (nothing changes) or LbStateError (not running).
   */
  async rebind(listen: string, index = 0): Promise<ListeningEvent> {
    const path = listenPath(this.#config, index);
    const parsed = parseAddress(typeof listen === 'string' ? listen : '', { allowPortZero: true });
    if (!parsed.ok) throw new LbConfigError([{ path, message: parsed.message }]);
    if (this.#state !== 'running') throw new LbStateError(`rebind() called while ${this.#state}; start() first`);
    if (!Number.isInteger(index) || index < 0 || index >= this.#config.listeners.length) {
      throw new LbConfigError([
        { path: 'listener', message: `expected a listener index from 0 to ${this.#config.listeners.length - 1}, got ${index}` },
      ]);
    }
    const host = await resolveHost(parsed.address.host, path);
    if (parsed.address.port !== 0) await this.#checkPortFree(host, parsed.address.port, listen);
    const run = this.#current('rebind');
    if (this.#state !== 'running') throw new LbStateError(`stopped while rebinding to ${listen}`);
    this.#moveListener(run, index, host, parsed.address.port, listen);
    const listeners = this.#config.listeners.map((l, i) =>
      i === index ? { ...l, listen: { text: listen, ...parsed.address } } : l,
    );
    this.#config = { ...this.#config, listeners };
    const event = { ...this.#first(run) };
    deliverToListeners(() => this.#emitter.emit('listening', event));
    return { ...run.listeners[index]! };
  }

  /** Binds listener `index`'s new sockets, then lets go of the old ones. Throws LbListenError or LbConfigError. */
  #moveListener(run: Run, index: number, host: string, port: number, text: string): void {
    try {
      run.native.rebind(index, { listenHost: host, listenPort: port, backlog: this.#config.backlog });
    } catch (cause) {
      throw this.#fromNative(cause, text);
    }
    run.listeners[index] = { address: host, port: run.native.boundPort(index) };
  }

  /**
   * Applies a whole new set of options to the running (or stopped) balancer, as a reload
   * of its configuration file does: backends are matched by address (new ones added,
   * missing ones drained then removed, weight, state, publicUrl and health check changes
   * applied), the strategy and every other setting is published to the workers in one
   * update, and a new listen address is bound before the old one is let go.
   *
   * What a running balancer cannot change, `workers`, `mode` and `backlog`, is refused
   * with LbConfigError naming each; invalid options too. LbResolveError, LbListenError:
   * a new host name did not resolve, the new listen address cannot be bound. On any
   * refusal nothing has changed. Calls run one after another, in order.
   */
  reconfigure(options: BalancerOptions, extra: ReconfigureOptions = {}): Promise<ReconfigureResult> {
    return this.#queueReconfigure(() => validateOptions(options), extra);
  }

  /**
   * @internal As `reconfigure`, for a configuration validated already (the service's
   * reload, service/settings.ts).
   */
  applyConfig(config: BalancerConfig, extra: ReconfigureOptions = {}): Promise<ReconfigureResult> {
    return this.#queueReconfigure(() => config, extra);
  }

  /** One at a time: each plans from what the previous one left. */
  #queueReconfigure(nextConfig: () => BalancerConfig, extra: ReconfigureOptions): Promise<ReconfigureResult> {
    const run = this.#reconfiguring.then(() => this.#reconfigure(nextConfig, extra));
    this.#reconfiguring = run.catch(() => undefined);
    return run;
  }

  async #reconfigure(nextConfig: () => BalancerConfig, extra: ReconfigureOptions): Promise<ReconfigureResult> {
    const stateAtStart = this.#state;
    if (stateAtStart === 'starting' || stateAtStart === 'stopping') {
      throw new LbStateError(`reconfigure() called while ${stateAtStart}; wait for it to finish`);
    }
    const next = nextConfig();
    const prev = this.#config;
    const run = stateAtStart === 'running' ? this.#run : undefined;
    const elsewhere = extra.managedElsewhere ?? (() => false);

    if (run) {
      const issues: Array<{ path: string; message: string }> = [];
      const restart = 'restart lb-native to change it';
      const workers = next.workers ?? (prev.workers === undefined ? run.workers : defaultWorkers());
      if (workers !== run.workers) {
        issues.push({
          path: 'workers',
          message: `cannot change while running (${run.workers} running, got ${workers}); ${restart}`,
        });
      }
      if (next.mode !== prev.mode) {
        issues.push({
          path: 'mode',
          message: `cannot change while running (running in ${prev.mode} mode, got '${next.mode}'); ${restart}`,
        });
      }
      if (next.backlog !== prev.backlog) {
        issues.push({
          path: 'backlog',
          message: `cannot change while running (running with ${prev.backlog}, got ${next.backlog}); ${restart}`,
        });
      }
      if (next.listeners.length !== prev.listeners.length) {
        issues.push({
          path: 'listeners',
          message: `cannot add or remove listeners while running (${prev.listeners.length} running, got ${next.listeners.length}); ${restart}`,
        });
      }
      if (issues.length > 0) throw new LbConfigError(issues);
    }

    // Everything that may fail or wait happens before anything changes.
    const moves: Array<{ index: number; host: string; port: number; text: string }> = [];
    for (const [index, listener] of run ? next.listeners.entries() : []) {
      const bound = run?.listeners[index];
      if (!bound || listener.listen.text === prev.listeners[index]?.listen.text) continue;
      const host = await resolveHost(listener.listen.host, listenPath(next, index));
      if (host === bound.address && listener.listen.port === bound.port) continue;
      if (listener.listen.port !== 0) await this.#checkPortFree(host, listener.listen.port, listener.listen.text);
      moves.push({ index, host, port: listener.listen.port, text: listener.listen.text });
    }
    const present = new Set(this.#backends.list().map((e) => addressKey(e.config.address)));
    const hosts = new Map<string, string>();
    await Promise.all(
      next.backends.map(async (backend, index) => {
        const key = addressKey(backend.address);
        if (present.has(key) || elsewhere(backend.address.text)) return;
        hosts.set(key, await resolveHost(backend.address.host, `backends[${index}].address`));
      }),
    );
    // Certificate files are read again on every reconfigure (a reload): a bad file refuses it.
    const certificates = await readAllCertificates(next);
    if (this.#state !== stateAtStart || (run && this.#run !== run)) {
      throw new LbStateError(`the balancer changed state while reconfiguring (now ${this.#state}); try again`);
    }

    // The plan, from the backends as they are now (discovery may have changed them meanwhile).
    const entries = this.#backends.list();
    const byKey = new Map(entries.map((e) => [addressKey(e.config.address), e]));
    const desired = next.backends.filter((b) => !elsewhere(b.address.text));
    const desiredKeys = new Set(desired.map((b) => addressKey(b.address)));
    const toRemove = entries.filter((e) => !desiredKeys.has(addressKey(e.config.address)) && !elsewhere(e.config.address.text));
    const toAdd = desired.filter((b) => !byKey.has(addressKey(b.address)));
    const toChange = desired.flatMap((config) => {
      const entry = byKey.get(addressKey(config.address));
      const what = entry ? backendChanges(entry.config, config) : [];
      return entry && what.length > 0 ? [{ entry, config, what }] : [];
    });
    if (entries.length - toRemove.length + toAdd.length === 0) {
      throw new LbConfigError([{ path: 'backends', message: 'expected at least one backend' }]);
    }
    for (const config of toAdd) {
      if (!hosts.has(addressKey(config.address))) {
        // Added by someone else while this one was resolving, then removed again: resolve anew.
        throw new LbStateError(`backends changed while reconfiguring (${config.address.text}); try again`);
      }
    }

    const result: ReconfigureResult = {
      added: toAdd.map((b) => b.address.text),
      removed: toRemove.map((e) => e.config.address.text),
      changed: toChange.map(({ entry, what }) => `${entry.config.address.text} (${what.join(', ')})`),
      settings: changedSettings(prev, next),
    };
    if (next.strategy !== this.#strategy) result.strategy = { from: this.#strategy, to: next.strategy };
    certificates.forEach((files, index) => {
      const path = `${listenerPrefix(next, index)}tls.certificates`;
      if (files && !result.settings.includes(path) && !samePem(files, this.#certificates[index])) {
        result.settings.push(`${path} (new file contents)`);
      }
    });

    // Apply: the listeners first (the one step likely to fail), then everything else in one update.
    const oldListeners = run ? run.listeners.map((l) => ({ ...l })) : [];
    const moved: typeof moves = [];
    try {
      for (const move of moves) {
        this.#moveListener(run!, move.index, move.host, move.port, move.text);
        moved.push(move);
      }
    } catch (error) {
      this.#moveBack(run, moved, oldListeners, prev);
      throw error;
    }
    for (const move of moved) {
      const from = oldListeners[move.index]!;
      const to = run!.listeners[move.index]!;
      const change = { index: move.index, from: formatAddress(from.address, from.port), to: formatAddress(to.address, to.port) };
      (result.listeners ??= []).push(change);
      if (move.index === 0) result.listen = { from: change.from, to: change.to };
    }
    const snapshot = {
      strategy: this.#strategy,
      entries: entries.map((entry) => ({
        entry,
        config: entry.config,
        drain: entry.drain,
        health: entry.health,
        healthReason: entry.healthReason,
      })),
    };
    const checksBefore = new Map(entries.map((e) => [e.id, effectiveHealthCheck(prev.healthCheck, e.config.healthCheck)]));
    const tlsBefore = new Map(entries.map((e) => [e.id, JSON.stringify(e.config.tls)]));
    const certificatesBefore = this.#certificates;
    this.#config = next;
    this.#strategy = next.strategy;
    this.#certificates = certificates;
    const removals = toRemove.map((entry) => this.#backends.beginRemove(entry));
    const added = toAdd.map((config) => {
      const entry = this.#backends.add(config, hosts.get(addressKey(config.address)) ?? '');
      if (config.state !== 'ready') this.#backends.setState(entry, config.state);
      if (run) entry.health = effectiveHealthCheck(next.healthCheck, config.healthCheck) ? 'up' : 'unchecked';
      return entry;
    });
    for (const { entry, config } of toChange) {
      const state = entry.config.state;
      entry.config = { ...config, state };
      if (config.state !== state) this.#backends.setState(entry, config.state);
    }
    const rewatch: BackendEntry[] = [];
    for (const entry of this.#backends.list()) {
      if (!checksBefore.has(entry.id)) continue; // added just now
      const after = effectiveHealthCheck(next.healthCheck, entry.config.healthCheck);
      if (sameCheck(checksBefore.get(entry.id), after) && tlsBefore.get(entry.id) === JSON.stringify(entry.config.tls)) continue;
      rewatch.push(entry);
      if (run) {
        entry.health = after ? 'up' : 'unchecked';
        entry.healthReason = undefined;
      }
    }
    try {
      this.#publish();
    } catch (error) {
      for (const entry of added) this.#backends.undoAdd(entry);
      for (const removal of removals.reverse()) this.#backends.undoRemove(removal);
      for (const { entry, ...saved } of snapshot.entries) Object.assign(entry, saved);
      this.#config = prev;
      this.#strategy = snapshot.strategy;
      this.#certificates = certificatesBefore;
      this.#moveBack(run, moved, oldListeners, prev);
      throw error;
    }
    this.#version += 1;
    if (run) this.#watchCertificates();
    if (run) this.#scheduleTicketKeys(run);

    if (run) {
      for (const removal of removals) run.health.unwatch(removal.entry.id);
      for (const entry of rewatch) {
        if (effectiveHealthCheck(next.healthCheck, entry.config.healthCheck)) this.#watchHealth(run, entry);
        else run.health.unwatch(entry.id);
      }
      for (const entry of added) this.#watchHealth(run, entry);
    }
    for (const removal of removals) {
      if (!run || removal.entry.drain?.complete(run.workers)) this.#finishRemoval(removal);
    }
    if (run && result.listeners) {
      const event = { ...this.#first(run) };
      deliverToListeners(() => this.#emitter.emit('listening', event));
    }
    if (run) this.#syncClusterLimits(run);
    return result;
  }

  /** Undoes listener moves of a refused reconfigure: each moved listener goes back to its old address. */
  #moveBack(
    run: Run | undefined,
    moved: ReadonlyArray<{ index: number }>,
    oldListeners: ReadonlyArray<{ address: string; port: number }>,
    prev: BalancerConfig,
  ): void {
    if (!run) return;
    for (const { index } of moved) {
      const old = oldListeners[index];
      if (!old) continue;
      try {
        this.#moveListener(run, index, old.address, old.port, prev.listeners[index]?.listen.text ?? '');
      } catch {
        // The old address could not be bound again: the new one stays.
      }
    }
  }

  /**
   * Serves `certificate` (PEM leaf and chain, and its key) on every TLS listener whose
   * options set `tls.acmeCertificate`, after its files' certificates; null takes it away.
   * New connections get it at once, open ones keep the certificate they started with.
   * An AcmeManager's issued and renewed certificates come here (service/certificates.ts).
   * Kept across stop and start. Throws LbConfigError if the data path refuses it (a key
   * that does not match, say): the previous one stays in service. Returns how many
   * listeners serve it.
   */
  installCertificate(certificate: { certPem: string; keyPem: string } | null): number {
    const before = this.#acmeCertificate;
    this.#acmeCertificate = certificate ? { cert: certificate.certPem, key: certificate.keyPem } : undefined;
    this.#publishOrRestore(() => (this.#acmeCertificate = before));
    return this.#config.listeners.filter((l) => l.tls?.acmeCertificate).length;
  }

  /** Starts, updates or ends the exchanges with Redis to match `protection.cluster`. */
  #syncClusterLimits(run: Run): void {
    const { cluster, rateLimits } = this.#config.protection;
    const wanted = cluster && rateLimits.some((rule) => rule.cluster) ? cluster : undefined;
    if (run.clusterLimits && (!wanted || run.clusterLimits.redisUrl !== wanted.redis)) {
      void run.clusterLimits.close();
      run.clusterLimits = undefined;
    }
    if (!wanted) return;
    if (run.clusterLimits) {
      run.clusterLimits.update(wanted, rateLimits);
      return;
    }
    run.clusterLimits = new ClusterLimits(run.native, wanted, rateLimits, {
      degraded: (reason) => deliverToListeners(() => this.#emitter.emit('cluster-limits-degraded', { reason })),
      restored: () => deliverToListeners(() => this.#emitter.emit('cluster-limits-restored', {})),
    });
  }

  /** Cluster-wide rate limits' state (protection.cluster), while running with a cluster rule. */
  clusterLimitsStats(): ClusterLimitsStats | undefined {
    return this.#run?.clusterLimits?.stats();
  }

  /**
   * Reads the TLS listener's certificate and key files again and hands the new
   * certificates to the workers: new connections get them, open ones keep theirs. Called
   * when the files change (watched, with a debounce); reloads of the configuration do it
   * too. A file that cannot be used keeps the old certificates: the promise rejects with
   * the LbConfigError naming the file, and an 'error' event says the same.
   */
  reloadCertificates(): Promise<void> {
    const run = this.#reconfiguring.then(() => this.#reloadCertificates());
    this.#reconfiguring = run.catch(() => undefined);
    return run;
  }

  async #reloadCertificates(): Promise<void> {
    const config = this.#config;
    if (!config.listeners.some((l) => l.tls)) return;
    let certificates: Array<NativeTlsFiles | undefined>;
    try {
      certificates = await readAllCertificates(config);
    } catch (error) {
      this.#reportCertificateError(error);
      throw error;
    }
    if (this.#config !== config) return; // a reconfigure read newer files meanwhile
    const before = this.#certificates;
    this.#certificates = certificates;
    try {
      this.#publishOrRestore(() => (this.#certificates = before));
    } catch (error) {
      this.#reportCertificateError(error);
      throw error;
    }
  }

  #reportCertificateError(error: unknown): void {
    if (this.#emitter.listenerCount('error') === 0) return;
    const lbError = error instanceof LbError ? error : new LbNativeError(String(error));
    deliverToListeners(() => this.#emitter.emit('error', lbError));
  }

  /**
   * Rotates the session ticket keys now (a new key seals new tickets; the kept previous
   * keys still resume older ones). Rotation also runs on its own every
   * `tls.sessionTickets.rotateSeconds`. Does nothing unless running with TLS.
   */
  rotateTicketKeys(): void {
    try {
      this.#run?.ticketKeys?.rotate();
    } catch (cause) {
      throw this.#fromNative(cause);
    }
  }

  /** After a reconfigure: a TLS listener's ticket key schedule follows the options (keys made when TLS is switched on). */
  #scheduleTicketKeys(run: Run): void {
    if (!hasTls(this.#config)) return; // the keys stay installed; no new connection uses them
    const schedule = ticketSchedule(this.#config);
    if (run.ticketKeys) {
      run.ticketKeys.reschedule(schedule);
      return;
    }
    run.ticketKeys = new TicketKeyRotation(schedule, (keys) => run.native.setTicketKeys(keys));
    run.ticketKeys.start();
  }

  /** (Re)starts watching the certificate files of the current options, when running with TLS. */
  #watchCertificates(): void {
    this.#certificateWatch?.close();
    this.#certificateWatch = undefined;
    const tls = this.#config.listeners.flatMap((l) => (l.tls?.certificates || l.tls?.clientCertificates ? [l.tls] : []));
    if (tls.length === 0 || this.#state !== 'running') return;
    this.#certificateWatch = new CertificateWatch(tls, () => {
      this.reloadCertificates().catch(() => undefined); // reported as an 'error' event
    });
  }

  #checkNotDuplicate(config: BackendConfig): void {
    const duplicate = this.#backends.duplicateOf(config);
    if (duplicate) {
      throw new LbConfigError([
        { path: 'address', message: `same address as backend #${duplicate.id} (${duplicate.config.address.text})` },
      ]);
    }
  }

  /** Publishes the change just made, or undoes it and rethrows if the data path refuses it. */
  #publishOrRestore(restore: () => void): void {
    try {
      this.#publish();
    } catch (error) {
      restore();
      throw error;
    }
    this.#version += 1;
  }

  /** Sends the current configuration to every worker, when running. Throws lb-native errors. */
  #publish(): void {
    const run = this.#run;
    if (!run || this.#state !== 'running') return;
    try {
      run.native.update(this.#nativeConfig(run.listeners, run.workers));
    } catch (cause) {
      throw this.#fromNative(cause);
    }
  }

  /** Publishes a change no caller waits on; a refusal becomes an 'error' event. */
  #publishOrReport(): void {
    try {
      this.#publish();
    } catch (error) {
      if (this.#emitter.listenerCount('error') > 0) {
        const lbError = error instanceof LbError ? error : new LbNativeError(String(error));
        deliverToListeners(() => this.#emitter.emit('error', lbError));
      }
    }
  }

  #finishRemoval(removal: Removal): void {
    this.#backends.finishRemove(removal);
    const status = statusOf(removal.entry, this.#config.mode);
    removal.resolve(status);
    deliverToListeners(() => this.#emitter.emit('backend-removed', { backend: refOf(removal.entry) }));
  }

  // ---- Health checks -----------------------------------------------------------------

  #startHealthChecks(run: Run): void {
    for (const entry of this.#backends.list()) this.#watchHealth(run, entry);
  }

  #watchHealth(run: Run, entry: BackendEntry): void {
    const check = effectiveHealthCheck(this.#config.healthCheck, entry.config.healthCheck);
    if (!check) return;
    const { address } = entry.config;
    entry.health = 'up';
    entry.healthReason = undefined;
    run.health.watch({
      id: entry.id,
      host: entry.host,
      port: address.port,
      hostHeader: formatAddress(address.host, address.port),
      check,
      ...(entry.config.tls ? { tls: backendTlsPeer(entry.config.tls, address.host) } : {}),
    });
  }

  #onHealthChange(change: HealthChange): void {
    let entry: BackendEntry;
    try {
      entry = this.#backends.find(change.id);
    } catch {
      return; // removed meanwhile
    }
    entry.health = change.healthy ? 'up' : 'down';
    entry.healthReason = change.healthy ? undefined : change.reason;
    this.#publishOrReport();
    const backend = refOf(entry);
    if (change.healthy) deliverToListeners(() => this.#emitter.emit('backend-up', { backend }));
    else deliverToListeners(() => this.#emitter.emit('backend-down', { backend, reason: change.reason }));
  }

  /**
   * A passing active check ends a passive ejection (Envoy's default): the workers that
   * ejected the backend for failures take it back at once instead of waiting out the
   * ejection. Workers that have not ejected it are not woken.
   */
  #onHealthPass(id: number): void {
    this.#run?.native.clearEjection(id);
  }

  /**
   * ACME HTTP-01 answers, token -> key authorization (an AcmeManager sets them). With a
   * table, even an empty one, the workers answer `/.well-known/acme-challenge/<token>`
   * themselves (200, or 404 for a token not in it) and never forward that path; null
   * gives it back to the backends. Throws LB_ERR_CONFIG for a token or key
   * authorization that is not base64url.
   */
  setAcmeChallenges(challenges: Record<string, string> | null): void {
    const table = challenges === null ? null : { ...challenges };
    try {
      this.#run?.native.setAcmeChallenges(table);
    } catch (cause) {
      throw this.#fromNative(cause);
    }
    this.#acmeChallenges = table;
  }

  /**
   * ACME TLS-ALPN-01 challenges (RFC 8737), DNS name -> its challenge certificate (PEM,
   * self-signed, with the acmeIdentifier extension) and key; an AcmeManager sets them.
   * Every TLS listener, one still waiting for its first certificate included, answers a
   * ClientHello offering ALPN `acme-tls/1` for such a name with that certificate, selects
   * acme-tls/1 and closes after the handshake; for other names acme-tls/1 is refused.
   * null or {}: none pending. Throws LB_ERR_CONFIG for a name, certificate or key that
   * cannot serve (the previous ones stay).
   */
  setAcmeAlpnChallenges(challenges: Record<string, { certPem: string; keyPem: string }> | null): void {
    const table =
      challenges === null
        ? null
        : Object.fromEntries(Object.entries(challenges).map(([name, c]) => [name, { cert: c.certPem, key: c.keyPem }]));
    try {
      this.#run?.native.setAcmeAlpnChallenges(table);
    } catch (cause) {
      throw this.#fromNative(cause);
    }
    this.#acmeAlpnChallenges = table;
  }

  // ---- Events ------------------------------------------------------------------------

  /** Adds a listener. See BalancerEventMap for each event's payload. */
  on<E extends BalancerEventName>(event: E, listener: BalancerListener<E>): this {
    this.#emitter.on(event, listener as never);
    return this;
  }

  /** Adds a listener called at most once. */
  once<E extends BalancerEventName>(event: E, listener: BalancerListener<E>): this {
    this.#emitter.once(event, listener as never);
    return this;
  }

  /** Removes a listener added with `on` or `once`. */
  off<E extends BalancerEventName>(event: E, listener: BalancerListener<E>): this {
    this.#emitter.off(event, listener as never);
    return this;
  }

  listenerCount(event: BalancerEventName): number {
    return this.#emitter.listenerCount(event);
  }

  #current(what: string): Run {
    if (this.#run) return this.#run;
    throw new LbStateError(`${what} is only known while running (state: ${this.#state})`);
  }

  /** Native event batches arrive here, on the JavaScript thread. */
  #onEvents(events: NativeEvent[]): void {
    for (const event of events) deliverToListeners(() => this.#dispatch(event));
  }

  #dispatch(event: NativeEvent): void {
    switch (event.type) {
      case 'backend-ejected':
        this.#emitter.emit('backend-ejected', {
          backend: this.#backends.ref(event.backendId),
          worker: event.worker,
          reason: event.reason,
          ejectionMs: event.ejectionMs,
        });
        break;
      case 'backend-recovered':
        this.#emitter.emit('backend-recovered', {
          backend: this.#backends.ref(event.backendId),
          worker: event.worker,
          reason: event.reason,
        });
        break;
      case 'backend-error':
        this.#emitter.emit('backend-error', {
          backend: this.#backends.ref(event.backendId),
          worker: event.worker,
          code: event.code,
          message: event.message,
        });
        break;
      case 'panic-routing':
        this.#emitter.emit('panic-routing', {
          backend: this.#backends.ref(event.backendId),
          worker: event.worker,
          message: event.message,
        });
        break;
      case 'backend-drained': {
        const workers = this.#run?.workers;
        if (workers === undefined) break;
        const outcome = this.#backends.reportDrained(event.backendId, event.worker, workers);
        if (outcome?.kind === 'removed') this.#finishRemoval(outcome.removal);
        else if (outcome?.kind === 'drained') {
          this.#emitter.emit('backend-drained', { backend: refOf(outcome.entry), state: outcome.state });
        }
        break;
      }
      case 'access': {
        const access: AccessEvent = {
          time: event.time,
          worker: event.worker,
          client: event.client,
          method: event.method,
          target: event.target,
          status: event.status,
          ttfbMs: event.timeToFirstByteUs / 1000,
          totalMs: event.totalUs / 1000,
          bytes: event.bytes,
        };
        if (event.backendId !== undefined) access.backend = this.#backends.ref(event.backendId);
        this.#emitter.emit('access', access);
        break;
      }
      case 'error':
        this.#workerErrors += 1;
        // An 'error' event nobody listens to would throw; it is counted instead.
        if (this.#emitter.listenerCount('error') > 0) {
          this.#emitter.emit('error', new LbWorkerError(event.worker, event.code, event.message));
        }
        break;
      default:
        // An event type this version does not know (a newer addon): ignored.
        break;
    }
  }

  /**
   * Converts an error thrown by the addon to one of lb-native's classes; a listen failure
   * names `listen` (the address as configured), by default the current one.
   */
  #fromNative(cause: unknown, listen = this.#config.listeners[0]?.listen.text ?? ''): LbError {
    if (cause instanceof LbError) return cause;
    const code = (cause as { code?: unknown } | null)?.code;
    const message = cause instanceof Error ? cause.message : String(cause);
    if (code === errorCodes.listen) return LbListenError.from(listen, cause);
    if (code === errorCodes.state) return new LbStateError(message);
    if (code === errorCodes.config) {
      return new LbConfigError([{ path: '', message: `rejected by the data path: ${message}` }], { cause });
    }
    return new LbNativeError(message, { cause });
  }
}

/** Workers when the options do not say: the number of CPUs (within bounds). */
function defaultWorkers(addon: NativeAddon = loadNative()): number {
  return Math.min(Math.max(addon.cpuCount(), 1), bounds.workers.max);
}

/** What differs between two configurations of one backend, e.g. ['weight 1 -> 3']. */
function backendChanges(before: BackendConfig, after: BackendConfig): string[] {
  const changes: string[] = [];
  if (before.weight !== after.weight) changes.push(`weight ${before.weight} -> ${after.weight}`);
  if (before.state !== after.state) changes.push(`state ${before.state} -> ${after.state}`);
  if (before.maxConnections !== after.maxConnections) {
    changes.push(`maxConnections ${before.maxConnections ?? 0} -> ${after.maxConnections ?? 0}`);
  }
  if (before.publicUrl !== after.publicUrl)
    changes.push(`publicUrl ${before.publicUrl ?? 'default'} -> ${after.publicUrl ?? 'default'}`);
  if (JSON.stringify(before.healthCheck) !== JSON.stringify(after.healthCheck)) changes.push('healthCheck');
  // The CA file's contents are part of it: a reload that finds a new CA applies it.
  if (JSON.stringify(before.tls) !== JSON.stringify(after.tls)) changes.push('tls');
  return changes;
}

function sameCheck(a: HealthCheckConfig | undefined, b: HealthCheckConfig | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Option paths (other than listen addresses, backends and strategy) whose values differ. */
function changedSettings(before: BalancerConfig, after: BalancerConfig): string[] {
  const paths: string[] = [];
  const skip = new Set(['listeners', 'listenerForm', 'backends', 'strategy']);
  const walk = (a: unknown, b: unknown, path: string): void => {
    const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
    if (isObject(a) && isObject(b)) {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
        if (path === '' && skip.has(key)) continue;
        walk(a[key], b[key], path === '' ? key : `${path}.${key}`);
      }
      return;
    }
    if (JSON.stringify(a) !== JSON.stringify(b)) paths.push(path);
  };
  walk(before, after, '');
  after.listeners.forEach((listener, index) => {
    const prefix = listenerPrefix(after, index);
    const old = before.listeners[index];
    walk(old?.tls, listener.tls, `${prefix}tls`);
    walk(old?.httpsRedirect, listener.httpsRedirect, `${prefix}httpsRedirect`);
  });
  return paths;
}

/** The option path of listener `index`'s address: `listen`, or `listeners[1].listen`. */
function listenPath(config: BalancerConfig, index: number): string {
  return `${listenerPrefix(config, index)}listen`;
}

/** Every listener's certificate files (undefined for a plain one, or one with none), read; LbConfigError listing every problem. */
async function readAllCertificates(config: BalancerConfig): Promise<Array<NativeTlsFiles | undefined>> {
  const results = await Promise.allSettled(
    config.listeners.map((l, i) => (l.tls ? readCertificateFiles(l.tls, listenerPrefix(config, i)) : undefined)),
  );
  const issues = results.flatMap((r) => (r.status === 'rejected' && r.reason instanceof LbConfigError ? r.reason.issues : []));
  if (issues.length > 0) throw new LbConfigError(issues);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
  return results.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
}

/** Whether any listener speaks TLS (one waiting for its ACME certificate included). */
function hasTls(config: BalancerConfig): boolean {
  return config.listeners.some((listener) => listener.tls !== undefined);
}

/** The ticket key schedule: the TLS listeners' (refineOptions holds them equal), else the defaults. */
function ticketSchedule(config: BalancerConfig): TicketKeySchedule {
  const tickets = config.listeners.find((listener) => listener.tls?.sessionTickets)?.tls?.sessionTickets;
  return {
    rotateSeconds: tickets?.rotateSeconds ?? defaultTicketRotateSeconds,
    keepPrevious: tickets?.keepPrevious ?? defaultTicketKeepPrevious,
  };
}

function samePem(a: NativeTlsFiles, b: NativeTlsFiles | undefined): boolean {
  return b !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n', 1)[0]?.trim() ?? '';
}

function emptyNativeStats(): NativeStats {
  return {
    workers: 0,
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
    latencyBoundsMs: [],
    backends: [],
  };
}

/**
 * Validates `options` and returns a balancer that is not started yet; call `start()`.
 * Throws LbConfigError naming every invalid option, e.g.
 * `backends[2].address: port must be 1-65535, got 70000`.
 */
export function createBalancer(options: BalancerOptions): Balancer {
  return new Balancer(validateOptions(options));
}
