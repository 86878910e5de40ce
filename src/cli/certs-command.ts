// `lb-native certs FILE`: lists the certificates in the storage folder named by FILE's
// tls.acme section, one line each (names, issuer, expiry, days left), read from disk: no
// balancer needs to run. Exit 0, or 2 when FILE is invalid or has no tls.acme section.
import { AcmeStorage } from '../acme/acme-storage.js';
import { certificateFacts } from '../acme/certificate-facts.js';
import { daysLeft } from '../acme/renewal-schedule.js';
import { ConfigFileError, loadConfigFile } from '../config/file.js';
import type { CertsArgs } from './args.js';
import { exitCodes } from './exit-codes.js';

export async function runCerts(args: CertsArgs, now = Date.now()): Promise<number> {
  let storage: string;
  try {
    const loaded = await loadConfigFile(args.file);
    const acme = loaded.config.acme;
    if (!acme) {
      process.stderr.write(`${args.file}: tls.acme: missing: no ACME section, so no certificates to list\n`);
      return exitCodes.usage;
    }
    storage = acme.storage;
  } catch (error) {
    if (!(error instanceof ConfigFileError)) throw error;
    for (const line of error.lines) process.stderr.write(`${line}\n`);
    return exitCodes.usage;
  }
  const stored = await new AcmeStorage(storage).listCertificates();
  if (stored.length === 0) {
    process.stdout.write(`no certificates in ${storage}\n`);
    return exitCodes.ok;
  }
  for (const certificate of stored) {
    try {
      const facts = certificateFacts(certificate.certPem);
      const left = daysLeft(facts.notAfter, now);
      const issuer = facts.issuer.replace(/\n/g, ', ');
      process.stdout.write(
        `${certificate.domains.join(' ')}  issuer: ${issuer}  expires: ${new Date(facts.notAfter).toISOString()}  days left: ${left.toFixed(1)}\n`,
      );
    } catch {
      process.stdout.write(`${certificate.domains.join(' ')}  unreadable certificate.pem\n`);
    }
  }
  return exitCodes.ok;
}
