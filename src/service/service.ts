// A running lb-native: the balancer, the admin server beside it, discovery feeding it, and
// logs of all of it. Started from settings (a configuration file, or flags shaped like
// one); `reload()` reads the configuration again and applies what changed live.
//
// Reload, one at a time (a reload asked for while one runs waits for it):
// - the configuration is read and validated again; an invalid one is refused with its
//   errors and nothing changes;
// - `workers`, `mode`, `backlog` and the `admin` section cannot change live: refused;
// - backends (by address), strategy, timeouts, limits, pool, retries, outlier detection,
//   health checks, forwarded headers and the access-log rate are applied at once
//   (Balancer.reconfigure), a new listen address is bound before the old one is let go,
//   the log level changes, and a changed discovery section restarts discovery (the new
//   source is queried first: if it cannot be, the reload is refused), and a changed
//   `tls.acme` section stops its AcmeManager and starts a new one (its storage folder is
//   checked first: if it cannot be written, the reload is refused); an unchanged one
//   keeps running, its timers and any order under way untouched.
import { type AdminServer, startAdminServer } from '../admin/index.js';
import { Balancer, type ReconfigureResult } from '../balancer.js';
import { addressKey } from '../config/address.js';
import type { LoadedConfig } from '../config/file.js';
import { ConfigFileError } from '../config/file.js';
import { type BalancerConfig, type ListenerForm, listenerPrefix } from '../config/schema.js';
import type { DiscoveredBackend, Discovery } from '../discovery/index.js';
import { LbConfigError, LbError, LbListenError, LbResolveError, formatIssue } from '../errors.js';
import type { LogOutput } from '../logging/log-output.js';
import { type Logger, logBalancerEvents, logListening } from '../logging/logger.js';
import { type RunningAcme, checkAcmeStorage, startAcme } from './certificates.js';
import {
  type DiscoverySettings,
  type ServiceSettings,
  balancerConfigWith,
  dnsOptions,
  etcdOptions,
  settingsFrom,
} from './settings.js';

/** What a reload did: applied (with a line per change), or refused (with a line per reason). */
export type ReloadOutcome = { ok: true; changes: string[] } | { ok: false; errors: string[] };

export interface ServiceOptions {
  log: Logger;
  /** Where `log` writes, when its format follows the configuration (logging.format). */
  output?: LogOutput;
  /** Reads the configuration again (for reload); absent when there is nothing to re-read. */
  load?: () => Promise<LoadedConfig>;
}

/** The admin server could not start: `path` is admin.listen or admin.token, `reason` says why. */
export class AdminStartError extends LbError {
  readonly path: string;
  readonly reason: string;

  constructor(cause: unknown) {
    const issue = cause instanceof LbConfigError ? cause.issues[0] : undefined;
    const path = issue?.path ?? (cause instanceof LbResolveError ? cause.path : 'admin.listen');
    const reason =
      issue?.message ??
      (cause instanceof LbListenError
        ? cause.reason
        : cause instanceof LbResolveError
          ? `cannot resolve '${cause.hostname}' (${cause.reason})`
          : cause instanceof Error
            ? cause.message
            : String(cause));
    super(cause instanceof LbError ? cause.code : 'LB_ERR_LISTEN', `${path}: ${reason}`, { cause });
    this.path = path;
    this.reason = reason;
  }
}

interface RunningDiscovery {
  settings: DiscoverySettings;
  handle: Discovery;
}

export class LbService {
  readonly balancer: Balancer;
  #settings: ServiceSettings;
  #admin: AdminServer | undefined;
  #discovery: RunningDiscovery | undefined;
  #acme: RunningAcme | undefined;
  /** Address keys of the backends discovery brought in (its last set). */
  #discovered = new Set<string>();
  readonly #log: Logger;
  readonly #output: LogOutput | undefined;
  readonly #load: (() => Promise<LoadedConfig>) | undefined;
  #reloading: Promise<unknown> = Promise.resolve();
  #stopping: Promise<void> | undefined;

  private constructor(balancer: Balancer, settings: ServiceSettings, options: ServiceOptions) {
    this.balancer = balancer;
    this.#settings = settings;
    this.#log = options.log;
    this.#output = options.output;
    this.#load = options.load;
  }

  /**
   * Starts the balancer (with the backends discovery finds first, if configured), then
   * ACME (tls.acme), discovery and the admin server, and only then logs 'listening' (and 'admin-listening'):
   * a start that fails part-way announces nothing. If any part fails, what was started is
   * stopped and the error is rethrown (LbListenError, LbResolveError, LbConfigError, ...).
   */
  static async start(settings: ServiceSettings, options: ServiceOptions): Promise<LbService> {
    const log = options.log;
    log.level = settings.logLevel;
    options.output?.setFormat(settings.logFormat);
    log.debug({ origin: settings.origin, config: settings.redacted }, 'config');
    let discovered: DiscoveredBackend[] = [];
    if (settings.discovery) {
      discovered = await initialBackends(settings.discovery, settings.fixedBackends.length === 0);
    }
    const config = balancerConfigWith(settings, discovered);
    const balancer = new Balancer(config);
    const service = new LbService(balancer, settings, options);
    service.#discovered = new Set(discovered.map((b) => addressKey(b.address)));
    const stopLogging = logBalancerEvents(balancer, log, { announceStart: false });
    try {
      await balancer.start();
      if (settings.acme) service.#acme = await startAcme(balancer, settings.acme, log);
      if (settings.discovery) await service.#startDiscovery(settings.discovery);
      if (settings.admin) await service.#startAdmin(settings.admin);
    } catch (error) {
      service.#acme?.manager.stop();
      await service.#discovery?.handle.stop();
      await balancer.stop({ deadlineMs: 0 });
      stopLogging();
      throw error;
    }
    logListening(balancer, log);
    if (settings.admin && service.#admin) {
      log.info(
        { address: settings.admin.listen, url: service.#admin.url, token: settings.admin.token !== undefined },
        'admin-listening',
      );
    }
    return service;
  }

  get settings(): ServiceSettings {
    return this.#settings;
  }

  /** The admin server, when one was configured. */
  get admin(): AdminServer | undefined {
    return this.#admin;
  }

  /** Reads the configuration again and applies it; see the top of this file. Never rejects. */
  reload(): Promise<ReloadOutcome> {
    const run = this.#reloading.then(() => this.#reload());
    this.#reloading = run.catch(() => undefined);
    return run;
  }

  /** The ACME manager running for tls.acme, if any (its status() feeds GET /certificates and /metrics). */
  get acme(): RunningAcme['manager'] | undefined {
    return this.#acme?.manager;
  }

  /**
   * Stops ACME (before the balancer, so no order publishes challenges to a balancer that
   * is going) and discovery, closes the admin server, and stops the balancer gracefully: no new
   * connections, in-flight requests get up to `deadlineMs`, idle keep-alives close.
   */
  stop(deadlineMs?: number): Promise<void> {
    this.#stopping ??= (async () => {
      this.#acme?.manager.stop();
      this.#acme = undefined;
      await this.#discovery?.handle.stop();
      this.#discovery = undefined;
      await Promise.all([this.#admin?.close(), this.balancer.stop(deadlineMs === undefined ? {} : { deadlineMs })]);
    })();
    return this.#stopping;
  }

  async #reload(): Promise<ReloadOutcome> {
    const outcome = await this.#tryReload();
    if (outcome.ok) {
      this.#log.info({ origin: this.#settings.origin, changes: outcome.changes }, 'reload-applied');
    } else {
      this.#log.error({ origin: this.#settings.origin, errors: outcome.errors }, 'reload-refused');
    }
    return outcome;
  }

  async #tryReload(): Promise<ReloadOutcome> {
    if (this.#stopping) return refused(['stopping: no reload']);
    if (!this.#load && hasTls(this.balancer)) {
      // Started from flags with --tls-cert: a reload re-reads the certificate files.
      try {
        await this.balancer.reloadCertificates();
      } catch (error) {
        return refused(errorLines(error, this.#settings.origin));
      }
      return { ok: true, changes: ['tls: certificate files re-read'] };
    }
    if (!this.#load) return refused(['nothing to reload: lb-native was started without --config']);
    let next: ServiceSettings;
    try {
      next = settingsFrom(await this.#load(), this.#settings.origin);
    } catch (error) {
      return refused(errorLines(error, this.#settings.origin));
    }
    const origin = next.origin;
    const adminIssue = adminChange(this.#settings.admin, next.admin);
    if (adminIssue) return refused([`${origin}: ${adminIssue}`]);

    const current = this.#discovery;
    const discoveryChanged = (current?.settings.key ?? '') !== (next.discovery?.key ?? '');
    let discovered: DiscoveredBackend[] = [];
    let newDiscovered: DiscoveredBackend[] | undefined;
    let managedElsewhere: ((address: string) => boolean) | undefined;
    if (discoveryChanged) {
      if (next.discovery) {
        try {
          newDiscovered = await initialBackends(next.discovery, next.fixedBackends.length === 0);
        } catch (error) {
          return refused(errorLines(error, origin, next.lineOf));
        }
        discovered = newDiscovered;
      }
    } else if (next.discovery) {
      // Discovery goes on as it is: its backends stay as they are, whatever the file lists.
      const fixed = new Set(next.fixedBackends.map((b) => addressKey(b.address)));
      const found = this.#discovered;
      managedElsewhere = (address) => found.has(addressKey(address)) && !fixed.has(addressKey(address));
      discovered = this.balancer
        .backends()
        .filter((b) => managedElsewhere!(b.address))
        .map((b) => ({ address: b.address, weight: b.weight, state: b.state }));
    }
    let config: BalancerConfig;
    try {
      config = balancerConfigWith(next, discovered);
    } catch (error) {
      return refused(errorLines(error, origin, next.lineOf));
    }
    const acmeChanged = (this.#acme?.settings.key ?? '') !== (next.acme?.key ?? '');
    if (acmeChanged && next.acme) {
      try {
        await checkAcmeStorage(next.acme);
      } catch (error) {
        return refused(errorLines(error, origin, next.lineOf));
      }
    }
    if (discoveryChanged) {
      await current?.handle.stop();
      this.#discovery = undefined;
    }

    let result: ReconfigureResult;
    try {
      result = await this.balancer.applyConfig(config, managedElsewhere ? { managedElsewhere } : {});
    } catch (error) {
      if (discoveryChanged && current) await this.#startDiscovery(current.settings);
      return refused(errorLines(error, origin, next.lineOf));
    }
    const before = this.#settings;
    this.#settings = next;
    this.#log.level = next.logLevel;
    this.#output?.setFormat(next.logFormat);
    if (acmeChanged) await this.#restartAcme(next);
    if (discoveryChanged && next.discovery) {
      this.#discovered = new Set((newDiscovered ?? []).map((b) => addressKey(b.address)));
      await this.#startDiscovery(next.discovery);
    } else if (!next.discovery) {
      this.#discovered = new Set();
    }
    const changes = describeChanges(result, next.balancer.listenerForm);
    if (before.logLevel !== next.logLevel) changes.push(`logging.level: ${before.logLevel} -> ${next.logLevel}`);
    if (before.logFormat !== next.logFormat)
      changes.push(`logging.format: ${before.logFormat ?? 'default'} -> ${next.logFormat ?? 'default'}`);
    if (acmeChanged) changes.push(next.acme ? `tls.acme: ${next.acme.config.domains.join(' ')} (restarted)` : 'tls.acme: off');
    if (discoveryChanged) changes.push(next.discovery ? `discovery: ${next.discovery.source} (restarted)` : 'discovery: off');
    return { ok: true, changes };
  }

  /**
   * Replaces the AcmeManager after a reload changed tls.acme: the old one stops (an order
   * under way finishes and is stored), the new one starts from the storage, so it orders
   * only when no stored certificate is good for its names. A new one that cannot start
   * (the storage was checked before the reload applied anything) is logged, not retried.
   */
  async #restartAcme(next: ServiceSettings): Promise<void> {
    this.#acme?.manager.stop();
    this.#acme = undefined;
    // stop() may have begun while this reload ran: it stopped the old one; start none.
    if (!next.acme || this.#stopping) return;
    try {
      const started = await startAcme(this.balancer, next.acme, this.#log);
      if (this.#stopping) started.manager.stop();
      else this.#acme = started;
    } catch (error) {
      this.#log.error({ error: errorLines(error, next.origin, next.lineOf).join('; ') }, 'acme-start-failed');
    }
  }

  async #startDiscovery(settings: DiscoverySettings): Promise<void> {
    const { startDnsDiscovery, startEtcdDiscovery } = await discoveryModule();
    const handle =
      settings.source === 'dns'
        ? startDnsDiscovery(this.balancer, dnsOptions(settings))
        : startEtcdDiscovery(this.balancer, etcdOptions(settings));
    const running: RunningDiscovery = { settings, handle };
    handle.on('update', (update) => {
      if (this.#discovery !== running) return;
      this.#discovered = new Set(update.backends.map((b) => addressKey(b.address)));
      if (update.added.length + update.removed.length + update.changed.length > 0) {
        this.#log.info(
          { source: settings.source, added: update.added, removed: update.removed, changed: update.changed },
          'discovery-update',
        );
      }
    });
    handle.on('error', (error) =>
      this.#log.warn({ source: error.source, kind: error.kind, error: error.message }, 'discovery-error'),
    );
    this.#discovery = running;
  }

  async #startAdmin(admin: { listen: string; token?: string }): Promise<void> {
    try {
      this.#admin = await startAdminServer(this.balancer, {
        listen: admin.listen,
        ...(admin.token === undefined ? {} : { token: admin.token }),
        certificates: () => (this.#acme ? [this.#acme.manager.status()] : []),
        // Without a file to re-read, POST /reload answers 501.
        ...(this.#load || hasTls(this.balancer) ? { reload: () => this.reload() } : {}),
        onError: (error) => this.#log.error({ error: error instanceof Error ? error.message : String(error) }, 'admin-error'),
      });
    } catch (error) {
      throw new AdminStartError(error);
    }
  }
}

/** The discovery module, loaded when a configuration uses it (the etcd client is heavy). */
function discoveryModule(): Promise<typeof import('../discovery/index.js')> {
  return import('../discovery/index.js');
}

/** The backends discovery finds before the balancer starts. With `required`, finding none is an error. */
async function initialBackends(settings: DiscoverySettings, required: boolean): Promise<DiscoveredBackend[]> {
  const path = `discovery.${settings.source}`;
  const { readEtcdBackends, resolveDnsBackends } = await discoveryModule();
  let found: DiscoveredBackend[];
  try {
    found =
      settings.source === 'dns' ? await resolveDnsBackends(dnsOptions(settings)) : await readEtcdBackends(etcdOptions(settings));
  } catch (error) {
    if (error instanceof LbConfigError) throw error;
    const message = (error instanceof Error ? error.message : String(error)).split('\n', 1)[0]?.trim() ?? '';
    throw new LbConfigError([{ path, message: `cannot get the initial backends: ${message}` }], { cause: error });
  }
  if (found.length === 0 && required) {
    throw new LbConfigError([{ path, message: 'found no backend, and the configuration lists none' }]);
  }
  return found;
}

/** Why the admin section cannot become `next`, if it cannot (it is not changed live). */
function adminChange(
  before: { listen: string; token?: string } | undefined,
  next: { listen: string; token?: string } | undefined,
): string | undefined {
  const restart = 'restart lb-native to change it';
  if (before?.listen !== next?.listen) {
    return `admin.listen: cannot change while running (${before?.listen ?? 'no admin server'} now, got ${next?.listen ?? 'none'}); ${restart}`;
  }
  if (before?.token !== next?.token) return `admin.token: cannot change while running (the value is not shown); ${restart}`;
  return undefined;
}

/** Whether any listener of `balancer` terminates TLS (its certificate files can be re-read). */
function hasTls(balancer: Balancer): boolean {
  return balancer.config.listeners.some((listener) => listener.tls);
}

function refused(errors: string[]): ReloadOutcome {
  return { ok: false, errors };
}

/** Lines for an error from loading or applying a configuration, with the file's line where known. */
export function errorLines(error: unknown, origin: string, lineOf?: (path: string) => number | undefined): string[] {
  const where = (path: string): string => {
    const line = lineOf?.(path);
    return line === undefined ? origin : `${origin}:${line}`;
  };
  if (error instanceof ConfigFileError) return [...error.lines];
  if (error instanceof LbConfigError) return error.issues.map((issue) => `${where(issue.path)}: ${formatIssue(issue)}`);
  if (error instanceof LbResolveError) return [`${where(error.path)}: ${error.message}`];
  if (error instanceof LbListenError) return [`${where('listen')}: listen: cannot listen on ${error.address}: ${error.reason}`];
  return [`${origin}: ${error instanceof Error ? error.message : String(error)}`];
}

function describeChanges(result: ReconfigureResult, form: ListenerForm): string[] {
  const changes: string[] = [];
  for (const moved of result.listeners ?? []) {
    const path = `${listenerPrefix({ listenerForm: form }, moved.index)}listen`;
    changes.push(`${path}: ${moved.from} -> ${moved.to}`);
  }
  if (result.strategy) changes.push(`strategy: ${result.strategy.from} -> ${result.strategy.to}`);
  for (const address of result.added) changes.push(`backend added: ${address}`);
  for (const address of result.removed) changes.push(`backend removed (draining): ${address}`);
  for (const change of result.changed) changes.push(`backend changed: ${change}`);
  for (const path of result.settings) changes.push(`changed: ${path}`);
  return changes;
}
