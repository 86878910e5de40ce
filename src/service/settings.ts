// What a running lb-native takes from a validated configuration (a file, or flags shaped
// like one): the balancer's options, the admin server, logging and discovery.
import { readFileSync } from 'node:fs';

import { addressKey } from '../config/address.js';
import type { LoadedConfig } from '../config/file.js';
import type { DnsDiscoveryConfig, EtcdDiscoveryConfig } from '../config/file-schema.js';
import { redactConfig } from '../config/redact.js';
import type { BackendOptions, BalancerOptions } from '../config/schema.js';
import type { DiscoveredBackend, DnsDiscoveryOptions, EtcdDiscoveryOptions } from '../discovery/index.js';
import { LbConfigError } from '../errors.js';
import type { LogFormat } from '../config/log-formats.js';
import type { LogLevel } from '../config/log-levels.js';

export interface DiscoverySettings {
  source: 'dns' | 'etcd';
  /** Which backends discovery may remove: all of them when the file lists none, else only discovered ones. */
  owns: 'all' | 'discovered';
  dns?: DnsDiscoveryConfig;
  etcd?: EtcdDiscoveryConfig;
  /** Equal for two settings that start the same discovery (secrets included, never logged). */
  key: string;
}

export interface ServiceSettings {
  /** Where it came from, for messages: the file, or 'command line'. */
  origin: string;
  /** The balancer's options; `backends` holds the fixed backends only. */
  options: BalancerOptions;
  /** Fixed backends (from the file or flags), maybe none when discovery supplies them. */
  fixedBackends: ReadonlyArray<string | BackendOptions>;
  admin: { listen: string; token?: string } | undefined;
  logLevel: LogLevel;
  /** logging.format (or --log-format); undefined: pretty on a terminal, JSON otherwise. */
  logFormat: LogFormat | undefined;
  discovery: DiscoverySettings | undefined;
  /** The configuration with secrets replaced, safe to log. */
  redacted: Record<string, unknown>;
  /** The line of the file an option path is written on, for messages (absent for flags alone). */
  lineOf?: (path: string) => number | undefined;
}

const fileOnly = ['admin', 'logging', 'discovery'] as const;

/** Splits a validated configuration into what the balancer, admin server, logger and discovery each take. */
export function settingsFrom(loaded: LoadedConfig, origin = loaded.file): ServiceSettings {
  const raw = { ...loaded.raw };
  for (const key of fileOnly) delete raw[key];
  const fixedBackends = (raw.backends as Array<string | BackendOptions> | undefined) ?? [];
  const options = { ...raw, backends: fixedBackends } as unknown as BalancerOptions;
  const sampleRate = loaded.config.logging?.access?.sampleRate;
  if (sampleRate !== undefined) options.accessLogSampleRate = sampleRate;
  const { admin, discovery } = loaded.config;
  const settings: ServiceSettings = {
    origin,
    options,
    fixedBackends,
    admin: admin ? { listen: admin.listen, ...(admin.token === undefined ? {} : { token: admin.token }) } : undefined,
    logLevel: loaded.config.logging?.level ?? 'info',
    logFormat: loaded.config.logging?.format,
    discovery: undefined,
    redacted: redactConfig(loaded.raw),
    ...(loaded.lineOf ? { lineOf: loaded.lineOf } : {}),
  };
  if (discovery) {
    const owns = fixedBackends.length > 0 ? 'discovered' : 'all';
    const source = discovery.dns ? 'dns' : 'etcd';
    settings.discovery = {
      source,
      owns,
      ...(discovery.dns ? { dns: discovery.dns } : {}),
      ...(discovery.etcd ? { etcd: discovery.etcd } : {}),
      key: JSON.stringify({ owns, dns: discovery.dns, etcd: discovery.etcd }),
    };
  }
  return settings;
}

/** The DNS discovery options a DnsDiscoveryConfig stands for. */
export function dnsOptions(settings: DiscoverySettings): DnsDiscoveryOptions {
  const dns = settings.dns;
  if (!dns) throw new Error('not a dns discovery');
  return { ...dns, owns: settings.owns };
}

/** The etcd discovery options an EtcdDiscoveryConfig stands for; TLS files are read here. Throws LbConfigError. */
export function etcdOptions(settings: DiscoverySettings): EtcdDiscoveryOptions {
  const etcd = settings.etcd;
  if (!etcd) throw new Error('not an etcd discovery');
  const { tls, ...rest } = etcd;
  const options: EtcdDiscoveryOptions = { ...rest, owns: settings.owns };
  if (tls) {
    const read = (path: string, key: string): Buffer => {
      try {
        return readFileSync(path);
      } catch (error) {
        throw new LbConfigError([
          {
            path: `discovery.etcd.tls.${key}`,
            message: `cannot read '${path}': ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
          },
        ]);
      }
    };
    options.credentials = {
      rootCertificate: read(tls.ca, 'ca'),
      ...(tls.cert ? { certChain: read(tls.cert, 'cert') } : {}),
      ...(tls.key ? { privateKey: read(tls.key, 'key') } : {}),
    };
  }
  return options;
}

/** The address key the balancer compares backends by (config/address.ts), for an address string. */
export function keyOf(address: string): string {
  return addressKey(address);
}

/** The address of a backend as given in options. */
export function addressOf(backend: string | BackendOptions): string {
  return typeof backend === 'string' ? backend : backend.address;
}

/** `fixed`, then each discovered backend whose address none of them has. */
export function withDiscovered(
  fixed: ReadonlyArray<string | BackendOptions>,
  discovered: readonly DiscoveredBackend[],
): Array<string | BackendOptions> {
  const seen = new Set(fixed.map((b) => keyOf(addressOf(b))));
  const out: Array<string | BackendOptions> = [...fixed];
  for (const backend of discovered) {
    const key = keyOf(backend.address);
    if (seen.has(key)) continue;
    seen.add(key);
    const options: BackendOptions = { address: backend.address };
    if (backend.weight !== undefined) options.weight = backend.weight;
    if (backend.state !== undefined) options.state = backend.state;
    out.push(options);
  }
  return out;
}
