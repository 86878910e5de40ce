// The one builder of the NativeConfig the addon takes: validated options, plus what only a
// running balancer knows (the numeric listen address, the worker count, the strategy and
// backends as they are now). Every call to the addon's start() and update() gets its
// object from here.
import type { NativeBackend, NativeCertificate, NativeConfig, NativeListener, NativeTlsFiles } from '../native.js';
import { formatAddress } from './address.js';
import { backendTlsPeer } from './backend-tls-schema.js';
import type { BackendConfig, BalancerConfig, ListenerConfig } from './schema.js';
import type { Strategy } from './strategies.js';

/** One backend as the balancer runs it. */
export interface LiveBackend {
  /** Stable id; counters and events refer to it. */
  id: number;
  config: BackendConfig;
  /** Its numeric address, resolved. */
  host: string;
  /** False while active health checks say it is down. */
  healthy: boolean;
}

/** One listener as the balancer runs it. */
export interface LiveListener {
  /** The numeric listen address, resolved. */
  host: string;
  /** The port to bind (the options' port) or bound. */
  port: number;
  /** Its certificates as last read from their files (TLS listeners only). */
  certificates?: NativeTlsFiles | undefined;
}

/** What the native configuration takes besides the options. */
export interface LiveState {
  /** One per `config.listeners` entry, in order. */
  listeners: readonly LiveListener[];
  workers: number;
  /** The strategy in use now (it may differ from the options' after setStrategy). */
  strategy: Strategy;
  backends: readonly LiveBackend[];
  /** The certificate installed for listeners with `tls.acmeCertificate` (Balancer.installCertificate). */
  acmeCertificate?: NativeCertificate | undefined;
}

/** The native configuration; every field filled, every object fresh (never the config's own). */
export function toNativeConfig(config: BalancerConfig, live: LiveState): NativeConfig {
  const native: NativeConfig = {
    listeners: config.listeners.map((listener, index) => toNativeListener(listener, live.listeners[index], live.acmeCertificate)),
    backlog: config.backlog,
    workers: live.workers,
    mode: config.mode,
    strategy: live.strategy,
    backends: live.backends.map((b) => toNativeBackend(config, b)),
    timeouts: { ...config.timeouts },
    limits: { ...config.limits },
    pool: { ...config.pool },
    bodies: { ...config.bodies },
    hashHeader: config.hashHeader,
    cookieName: config.cookieName,
    outlierDetection: { ...config.outlierDetection },
    retries: { ...config.retries },
    forwarded: { ...config.forwarded },
    headers: { ...config.headers },
    accessLogSampleRate: config.accessLogSampleRate,
    protection: {
      ...config.protection,
      allow: [...config.protection.allow],
      deny: [...config.protection.deny],
      rateLimits: config.protection.rateLimits.map((rule) => ({ ...rule })),
    },
    queue: { ...config.queue },
    http2: config.http2,
    http2c: config.http2c,
    http2Limits: { ...config.http2Limits },
  };
  if (config.mode === 'redirect') native.redirectStatus = config.redirectStatus;
  if (config.mode === 'tcp') native.proxyProtocol = config.proxyProtocol;
  return native;
}

/**
 * One listener as the data path takes it. A TLS listener serves its files' certificates,
 * then the ACME one if it names acme and one is installed; with neither it has no
 * certificate, and closes what it accepts until one comes.
 */
function toNativeListener(
  config: ListenerConfig,
  live: LiveListener | undefined,
  acmeCertificate: NativeCertificate | undefined,
): NativeListener {
  const native: NativeListener = { listenHost: live?.host ?? config.listen.host, listenPort: live?.port ?? config.listen.port };
  const tls = config.tls;
  if (tls) {
    const certificates = (live?.certificates?.certificates ?? []).map((c) => ({ ...c }));
    if (tls.acmeCertificate && acmeCertificate) certificates.push({ ...acmeCertificate });
    native.tls = { certificates };
    const client = tls.clientCertificates;
    const clientCa = live?.certificates?.clientCa;
    if (client && clientCa !== undefined) {
      native.tls.clientCertificates = {
        ca: clientCa,
        verify: client.verify,
        ...(client.subjectHeader === undefined ? {} : { subjectHeader: client.subjectHeader }),
      };
    }
    const hsts = tls.hsts;
    if (hsts) native.tls.hsts = `max-age=${hsts.maxAgeSeconds}${hsts.includeSubDomains ? '; includeSubDomains' : ''}`;
    if (tls.ktls) native.tls.ktls = true;
  }
  if (config.httpsRedirect) native.httpsRedirect = { ...config.httpsRedirect };
  return native;
}

/**
 * One backend as the data path takes it. In redirect mode it carries its public URL,
 * by default `http://` and the address as configured (a host name stays a name, so the
 * client's request names the host it expects).
 */
function toNativeBackend(config: Pick<BalancerConfig, 'mode'>, backend: LiveBackend): NativeBackend {
  const native: NativeBackend = {
    id: backend.id,
    host: backend.host,
    port: backend.config.address.port,
    weight: backend.config.weight,
    state: backend.config.state,
    healthy: backend.healthy,
  };
  if (backend.config.maxConnections !== undefined) native.maxConnections = backend.config.maxConnections;
  if (backend.config.tls) native.tls = backendTlsPeer(backend.config.tls, backend.config.address.host);
  if (config.mode === 'redirect') native.publicUrl = publicUrlOf(backend.config);
  return native;
}

/** Where redirect mode sends clients for `backend`: its publicUrl, or `http://` and its address as configured. */
export function publicUrlOf(backend: BackendConfig): string {
  return backend.publicUrl ?? `http://${formatAddress(backend.address.host, backend.address.port)}`;
}
