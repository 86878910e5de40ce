// What a running lb-native takes from a validated configuration (a file, or flags shaped
// like one): the balancer's configuration, the admin server, logging, discovery and ACME. A
// configuration goes one way: the file schema validates it (config/file.ts), settingsFrom
// splits it here, the backends discovery finds are validated where they join the fixed
// ones (balancerConfigWith), and the balancer takes the result as it is (no second
// validation); config/to-native.ts builds the addon's object from it.
import { readFileSync } from 'node:fs';

import { type AcmeConfig, acmeSectionPath } from '../config/acme-schema.js';
import { addressKey } from '../config/address.js';
import { defaults } from '../config/defaults.js';
import type { LoadedConfig } from '../config/file.js';
import type { DnsDiscoveryConfig, EtcdDiscoveryConfig } from '../config/file-schema.js';
import { redactConfig } from '../config/redact.js';
import { type BackendConfig, type BalancerConfig, backendSchema, parseOrThrow } from '../config/schema.js';
import type { DiscoveredBackend, DnsDiscoveryOptions, EtcdDiscoveryOptions } from '../discovery/index.js';
import { type ConfigIssue, LbConfigError } from '../errors.js';
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

export interface AcmeSettings {
  config: AcmeConfig;
  /** Where the section is written (`tls.acme`, `listeners[1].tls.acme`), for messages. */
  path: string;
  /** Equal for two settings that run the same AcmeManager: a reload keeps it when equal. */
  key: string;
}

/** The balancer's configuration but its backends: validated, every default filled in. */
export type BalancerSettings = Omit<BalancerConfig, 'backends'>;

export interface ServiceSettings {
  /** Where it came from, for messages: the file, or 'command line'. */
  origin: string;
  /** The balancer's configuration; its backends are `fixedBackends` and what discovery finds (balancerConfigWith). */
  balancer: BalancerSettings;
  /** Fixed backends (from the file or flags), validated; maybe none when discovery supplies them. */
  fixedBackends: readonly BackendConfig[];
  admin: { listen: string; token?: string } | undefined;
  logLevel: LogLevel;
  /** logging.format (or --log-format); undefined: pretty on a terminal, JSON otherwise. */
  logFormat: LogFormat | undefined;
  discovery: DiscoverySettings | undefined;
  /** tls.acme: automatic certificates (service/certificates.ts), undefined when off. */
  acme: AcmeSettings | undefined;
  /** The configuration with secrets replaced, safe to log. */
  redacted: Record<string, unknown>;
  /** The line of the file an option path is written on, for messages (absent for flags alone). */
  lineOf?: (path: string) => number | undefined;
}

/** Splits a validated configuration into what the balancer, admin server, logger and discovery each take. */
export function settingsFrom(loaded: LoadedConfig, origin = loaded.file): ServiceSettings {
  // `acme` is the service's (the file schema took it out of the listeners' tls, marking
  // each listener that serves its certificate with tls.acmeCertificate).
  const { admin, logging, discovery, backends, acme, ...options } = loaded.config;
  const fixedBackends = backends ?? [];
  const settings: ServiceSettings = {
    origin,
    balancer: {
      ...options,
      accessLogSampleRate: logging?.access?.sampleRate ?? defaults.accessLogSampleRate,
    },
    fixedBackends,
    admin: admin ? { listen: admin.listen, ...(admin.token === undefined ? {} : { token: admin.token }) } : undefined,
    logLevel: logging?.level ?? 'info',
    logFormat: logging?.format,
    discovery: undefined,
    acme: acme ? { config: acme, path: acmeSectionPath(loaded.config), key: JSON.stringify(acme) } : undefined,
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

/**
 * The balancer's whole configuration: `settings`' fixed backends, then each `discovered`
 * backend whose address (config/address.ts addressKey) none of them has, each validated
 * here, where it enters. Throws LbConfigError naming every bad one as `backends[N]...`
 * (its place in the list), or when the list is empty.
 */
export function balancerConfigWith(settings: ServiceSettings, discovered: readonly DiscoveredBackend[]): BalancerConfig {
  const backends = [...settings.fixedBackends];
  const seen = new Set(backends.map((b) => addressKey(b.address)));
  const issues: ConfigIssue[] = [];
  let index = backends.length;
  for (const found of discovered) {
    const key = addressKey(found.address);
    if (seen.has(key)) continue;
    seen.add(key);
    const options = {
      address: found.address,
      ...(found.weight === undefined ? {} : { weight: found.weight }),
      ...(found.state === undefined ? {} : { state: found.state }),
    };
    try {
      backends.push(parseOrThrow(backendSchema, options, ['backends', index]));
    } catch (error) {
      if (!(error instanceof LbConfigError)) throw error;
      issues.push(...error.issues);
    }
    index += 1;
  }
  if (backends.length === 0 && issues.length === 0) issues.push({ path: 'backends', message: 'expected at least one backend' });
  if (issues.length > 0) throw new LbConfigError(issues);
  return { ...settings.balancer, backends };
}
