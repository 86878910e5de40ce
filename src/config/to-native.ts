// From validated options to the NativeConfig the addon takes: host names resolved to
// numeric addresses, backends numbered, every field filled.
import type { NativeBackend, NativeConfig } from '../native.js';
import { formatAddress } from './address.js';
import type { BackendConfig, BalancerConfig } from './schema.js';

/** Numeric addresses for the listen host and each backend host, in config order. */
export interface ResolvedHosts {
  listen: string;
  backends: string[];
}

/** The native configuration; a backend's id is its index in `config.backends`, and all start healthy. */
export function toNativeConfig(config: BalancerConfig, hosts: ResolvedHosts, workers: number): NativeConfig {
  const native: NativeConfig = {
    listenHost: hosts.listen,
    listenPort: config.listen.port,
    backlog: config.backlog,
    workers,
    mode: config.mode,
    strategy: config.strategy,
    backends: config.backends.map((b, id) => toNativeBackend(config, id, b, hosts.backends[id] ?? b.address.host, true)),
    timeouts: { ...config.timeouts },
    limits: { ...config.limits },
    pool: { ...config.pool },
    hashHeader: config.hashHeader,
    cookieName: config.cookieName,
    outlierDetection: { ...config.outlierDetection },
    retries: { ...config.retries },
    forwarded: { ...config.forwarded },
    headers: { ...config.headers },
    accessLogSampleRate: config.accessLogSampleRate,
  };
  if (config.mode === 'redirect') native.redirectStatus = config.redirectStatus;
  if (config.mode === 'tcp') native.proxyProtocol = config.proxyProtocol;
  return native;
}

/**
 * One backend as the data path takes it. In redirect mode it carries its public URL,
 * by default `http://` and the address as configured (a host name stays a name, so the
 * client's request names the host it expects).
 */
export function toNativeBackend(
  config: Pick<BalancerConfig, 'mode'>,
  id: number,
  backend: BackendConfig,
  host: string,
  healthy: boolean,
): NativeBackend {
  const native: NativeBackend = {
    id,
    host,
    port: backend.address.port,
    weight: backend.weight,
    state: backend.state,
    healthy,
  };
  if (config.mode === 'redirect') native.publicUrl = publicUrlOf(backend);
  return native;
}

/** Where redirect mode sends clients for `backend`: its publicUrl, or `http://` and its address as configured. */
export function publicUrlOf(backend: BackendConfig): string {
  return backend.publicUrl ?? `http://${formatAddress(backend.address.host, backend.address.port)}`;
}
