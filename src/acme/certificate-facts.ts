// What the manager needs to know of a certificate, read with node:crypto: its validity,
// names and issuer, and whether it covers the names that were asked for.
import { X509Certificate } from 'node:crypto';

export interface CertificateFacts {
  notBefore: number;
  notAfter: number;
  /** subjectAltName DNS names, lower case. */
  names: string[];
  /** The issuer's distinguished name, one attribute a line as node prints it. */
  issuer: string;
  serialNumber: string;
}

/** Facts of the first (leaf) certificate of a PEM chain. Throws if there is none. */
export function certificateFacts(certPem: string): CertificateFacts {
  const leaf = new X509Certificate(certPem);
  const names = (leaf.subjectAltName ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4).toLowerCase());
  return {
    notBefore: Date.parse(leaf.validFrom),
    notAfter: Date.parse(leaf.validTo),
    names,
    issuer: leaf.issuer,
    serialNumber: leaf.serialNumber,
  };
}

/** True when the certificate names every one of `domains` (order does not matter). */
export function coversDomains(facts: CertificateFacts, domains: readonly string[]): boolean {
  const names = new Set(facts.names);
  return domains.every((name) => names.has(name));
}
