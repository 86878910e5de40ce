// Automatic certificates in a running lb-native: the AcmeManager for `tls.acme`, answering
// HTTP-01 through the balancer's native responder, its events in the log, and the one
// place an issued certificate is handed to TLS termination (installCertificate): the TLS
// listeners whose tls names acme.
import { readFileSync } from 'node:fs';

import { checkAcmeConfig } from '../acme/acme-checks.js';
import { AcmeCluster } from '../acme/acme-cluster.js';
import { AcmeManager } from '../acme/acme-manager.js';
import { readClusterKey } from '../acme/cluster-key.js';
import type { AcmeClusterConfig, AcmeConfig } from '../config/acme-schema.js';
import type { Balancer } from '../balancer.js';
import { LbConfigError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { AcmeSettings } from './settings.js';

/** A certificate ready to serve: the leaf and its chain, and its key, PEM. */
export interface ServedCertificate {
  domains: readonly string[];
  certPem: string;
  keyPem: string;
}

/**
 * Hands a certificate from ACME to every TLS listener whose tls names `acme`, replacing
 * the one they served from it (Balancer.installCertificate): new connections get it at
 * once, open ones keep their session. HTTP-01 goes on being answered on the plain
 * listeners. With no such listener (the one-listener form with `tls: { acme }` alone
 * keeps its listener plain for HTTP-01) it is stored and listed, not served, and the log
 * says so. A certificate the data path refuses is logged; the one in service stays.
 */
export function installCertificate(balancer: Balancer, certificate: ServedCertificate, log: Logger): void {
  let listeners: number;
  try {
    listeners = balancer.installCertificate(certificate);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log.error({ domains: certificate.domains, error: message }, 'certificate-refused');
    return;
  }
  if (listeners === 0) {
    log.info(
      { domains: certificate.domains, reason: 'no TLS listener names acme (give listeners: [...] with tls.acme on one)' },
      'certificate-not-served',
    );
    return;
  }
  log.info({ domains: certificate.domains, listeners }, 'certificate-served');
}

/** The AcmeManager a service runs, and the settings it runs with (to tell whether a reload changes it). */
export interface RunningAcme {
  settings: AcmeSettings;
  manager: AcmeManager;
}

/**
 * Starts an AcmeManager for `settings` with `balancer` answering its challenges, its
 * events logged and its certificates handed to installCertificate. The balancer must be
 * running. Throws LbConfigError (`tls.acme.storage`) when the storage folder cannot be
 * created or written, before anything starts.
 */
export async function startAcme(balancer: Balancer, settings: AcmeSettings, log: Logger): Promise<RunningAcme> {
  await checkAcmeStorage(settings);
  const cluster = settings.config.cluster
    ? await startCluster({ ...settings.config, cluster: settings.config.cluster }, settings.path, log)
    : undefined;
  try {
    const manager = createManager(balancer, settings, log, cluster);
    await manager.start();
    cluster?.run(manager);
    const clusterFields = settings.config.cluster ? { cluster: settings.config.cluster.etcd.prefix } : {};
    log.info(
      {
        domains: settings.config.domains,
        directory: settings.config.directory,
        storage: settings.config.storage,
        ...clusterFields,
      },
      'acme-started',
    );
    return { settings, manager };
  } catch (error) {
    // The cluster already holds an etcd client and a watch: they would outlive the failed start.
    cluster?.close();
    throw error;
  }
}

/** The manager for `settings`, its events logged and its certificates handed to installCertificate; not started. */
function createManager(balancer: Balancer, settings: AcmeSettings, log: Logger, cluster: AcmeCluster | undefined): AcmeManager {
  const manager = new AcmeManager({
    config: settings.config,
    responder: cluster?.responderFor(balancer) ?? balancer,
    ...(cluster ? { coordinator: cluster } : {}),
  });
  const domains = settings.config.domains;
  manager.on('certificate', (event) => {
    log.info({ domains, source: event.source, notAfter: event.notAfter.toISOString() }, 'certificate');
    installCertificate(balancer, event, log);
  });
  manager.on('certificate-renewed', (event) =>
    log.info({ domains, notAfter: event.notAfter.toISOString(), daysLeft: round(event.daysLeft) }, 'certificate-renewed'),
  );
  manager.on('certificate-expiring', (event) =>
    log.warn({ domains, notAfter: event.notAfter.toISOString(), daysLeft: round(event.daysLeft) }, 'certificate-expiring'),
  );
  manager.on('certificate-failed', (event) =>
    log.warn({ domains, failures: event.failures, error: event.error.message, retryInMs: event.retryInMs }, 'certificate-failed'),
  );
  return manager;
}

/**
 * tls.acme.cluster: the coordinator, with its events logged (`acme-leader` with won,
 * `acme-cluster-error` as a warning), the shared certificate (if any) already in storage.
 */
async function startCluster(
  config: AcmeConfig & { cluster: AcmeClusterConfig },
  path: string,
  log: Logger,
): Promise<AcmeCluster> {
  const tls = config.cluster.etcd.tls;
  const read = (file: string, key: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      throw new LbConfigError([{ path: `${path}.cluster.etcd.tls.${key}`, message: `cannot read '${file}': ${code}` }]);
    }
  };
  const cluster = new AcmeCluster({
    config,
    key: await readClusterKey(config.cluster.keyFile),
    ...(tls
      ? {
          credentials: {
            rootCertificate: read(tls.ca, 'ca'),
            ...(tls.cert ? { certChain: read(tls.cert, 'cert') } : {}),
            ...(tls.key ? { privateKey: read(tls.key, 'key') } : {}),
          },
        }
      : {}),
  });
  const domains = config.domains;
  cluster.on('acme-leader', (event) => log.info({ domains, won: event.won, identity: event.identity }, 'acme-leader'));
  cluster.on('acme-cluster-error', (event) =>
    log.warn({ domains, during: event.during, error: event.error.message }, 'acme-cluster-error'),
  );
  await cluster.prepare();
  return cluster;
}

/**
 * Throws LbConfigError naming the storage option where the file writes it
 * (`tls.acme.storage`, or `listeners[i].tls.acme.storage`, so the message gets its line)
 * if the storage folder cannot be created and written.
 */
export async function checkAcmeStorage(settings: AcmeSettings): Promise<void> {
  const problems = await checkAcmeConfig(settings.config, settings.path);
  if (problems.length > 0) throw new LbConfigError(problems);
}

function round(days: number): number {
  return Math.round(days * 10) / 10;
}
