// Automatic certificates in a running lb-native: the AcmeManager for `tls.acme`, answering
// HTTP-01 through the balancer's native responder, its events in the log, and the one
// place an issued certificate is handed to TLS termination (installCertificate).
import { checkAcmeConfig } from '../acme/acme-checks.js';
import { AcmeManager } from '../acme/acme-manager.js';
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
 * Hands a certificate from ACME to the balancer's TLS listener, replacing the one it
 * serves for these names.
 *
 * Not connected yet: HTTP-01 is answered on a plain listener and the certificate is served
 * on a TLS one, and a balancer has one listener today. Once `listeners: [...]` lands, the
 * certificate joins the TLS listener's certificate list (as `tls.certificates` entries do)
 * and is applied the way a reload applies changed certificate files. Until then it is
 * stored (and listed by `lb-native certs`, GET /certificates and /metrics) but not served.
 */
export function installCertificate(_balancer: Balancer, certificate: ServedCertificate, log: Logger): void {
  log.info(
    {
      domains: certificate.domains,
      reason: 'a balancer has one listener, the plain one answering HTTP-01; served once several listeners land',
    },
    'certificate-not-served',
  );
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
  const manager = new AcmeManager({ config: settings.config, responder: balancer });
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
  await manager.start();
  log.info({ domains, directory: settings.config.directory, storage: settings.config.storage }, 'acme-started');
  return { settings, manager };
}

/** Throws LbConfigError naming `tls.acme.storage` if the storage folder cannot be created and written. */
export async function checkAcmeStorage(settings: AcmeSettings): Promise<void> {
  const problems = await checkAcmeConfig(settings.config);
  if (problems.length > 0) throw new LbConfigError(problems);
}

function round(days: number): number {
  return Math.round(days * 10) / 10;
}
