// Checks a certificate chain file and its private key the way `lb-native validate` reports
// them: the key matches the leaf; the chain is in order (each certificate issued, name and
// signature, by the next) and complete (it ends at a self-signed certificate, or at one
// issued by a root in Node's store or in the CA file given); and for each certificate its
// names, key, validity and days left. Every problem is a sentence naming the file.
//
// Nothing is thrown for a bad certificate: the result lists the problems, so one run can
// report all of them. Only node:crypto is used (no OpenSSL command line).
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';

export interface CertificateFiles {
  /** PEM: the leaf first, then its intermediates in order. */
  readonly certFile: string;
  /** PEM: the leaf's private key (unencrypted). */
  readonly keyFile: string;
  /** PEM: extra trusted roots (e.g. a private CA), besides Node's root store. */
  readonly caFile?: string;
}

export interface CertificateCheckOptions {
  /** The moment validity is judged at (tests); now when left out. */
  readonly now?: Date;
}

export interface CertificateSummary {
  /** Position in the chain file: 0 is the leaf. */
  readonly index: number;
  readonly subject: string;
  readonly issuer: string;
  /** subjectAltName DNS entries. */
  readonly dnsNames: readonly string[];
  /** subjectAltName IP addresses. */
  readonly ipAddresses: readonly string[];
  readonly validFrom: Date;
  readonly validTo: Date;
  /** Whole days until validTo; negative once expired. */
  readonly daysLeft: number;
  /** 'rsa', 'rsa-pss', 'ec', 'ed25519', ... */
  readonly keyType: string;
  /** Key size in bits (RSA modulus; the curve's size for EC), when known. */
  readonly keyBits?: number;
  /** The named curve of an EC key, e.g. 'prime256v1'. */
  readonly curve?: string;
  readonly selfSigned: boolean;
  readonly fingerprint256: string;
}

/** What completes the chain: the file's own self-signed root, or a trusted root outside it. */
export type ChainAnchor = 'self-signed in file' | 'node root store' | 'ca file';

export interface CertificateCheck {
  readonly certFile: string;
  readonly keyFile: string;
  readonly certificates: readonly CertificateSummary[];
  readonly anchor?: ChainAnchor;
  /** Each a sentence naming the file; empty when all is well. */
  readonly problems: readonly string[];
  readonly ok: boolean;
}

const dayMs = 86_400_000;
const pemCertificate = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
const curveBits: Record<string, number> = { prime256v1: 256, secp384r1: 384, secp521r1: 521 };

/** Reads and checks the files. */
export async function checkCertificateFiles(
  files: CertificateFiles,
  options: CertificateCheckOptions = {},
): Promise<CertificateCheck> {
  const problems: string[] = [];
  const read = async (file: string): Promise<string | undefined> => {
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      problems.push(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
      return undefined;
    }
  };
  const [certPem, keyPem, caPem] = await Promise.all([
    read(files.certFile),
    read(files.keyFile),
    files.caFile === undefined ? Promise.resolve(undefined) : read(files.caFile),
  ]);
  if (certPem === undefined || keyPem === undefined || (files.caFile !== undefined && caPem === undefined)) {
    return { certFile: files.certFile, keyFile: files.keyFile, certificates: [], problems, ok: false };
  }
  return checkCertificatePem({ ...files, certPem, keyPem, caPem }, options);
}

export interface CertificatePem extends CertificateFiles {
  readonly certPem: string;
  readonly keyPem: string;
  readonly caPem?: string;
}

/** Checks PEM text already read; the file names are only used in the messages. */
export function checkCertificatePem(input: CertificatePem, options: CertificateCheckOptions = {}): CertificateCheck {
  const now = options.now ?? new Date();
  const { certFile, keyFile } = input;
  const problems: string[] = [];
  const done = (certificates: CertificateSummary[], anchor?: ChainAnchor): CertificateCheck => ({
    certFile,
    keyFile,
    certificates,
    ...(anchor === undefined ? {} : { anchor }),
    problems,
    ok: problems.length === 0,
  });

  const chain = parseCertificates(input.certPem, certFile, problems);
  if (chain.length === 0) {
    if (problems.length === 0) problems.push(`${certFile}: no certificate found (expected a -----BEGIN CERTIFICATE----- block)`);
    return done([]);
  }
  const certificates = chain.map((cert, index) => summarize(cert, index, now));

  const key = parsePrivateKey(input.keyPem, keyFile, problems);
  if (key !== undefined && !chain[0]!.checkPrivateKey(key)) {
    problems.push(`${keyFile}: the private key does not match the certificate in ${certFile} (${label(chain[0]!, 0)})`);
  }

  for (const summary of certificates) {
    const where = `${certFile}: ${describe(summary)}`;
    if (summary.validTo.getTime() < now.getTime()) {
      problems.push(`${where} expired on ${summary.validTo.toISOString()} (${-summary.daysLeft} days ago)`);
    } else if (summary.validFrom.getTime() > now.getTime()) {
      problems.push(`${where} is not valid before ${summary.validFrom.toISOString()}`);
    }
    if ((summary.keyType === 'rsa' || summary.keyType === 'rsa-pss') && (summary.keyBits ?? 0) < 2048) {
      problems.push(`${where} has a ${summary.keyBits}-bit RSA key; at least 2048 bits are needed`);
    }
  }
  const leaf = certificates[0]!;
  if (leaf.dnsNames.length === 0 && leaf.ipAddresses.length === 0) {
    problems.push(
      `${certFile}: the leaf certificate (${leaf.subject}) has no subjectAltName: clients will not accept it for any host name`,
    );
  }

  checkOrder(chain, certFile, problems);
  const anchor = findAnchor(chain, input, problems);
  return done(certificates, anchor);
}

function parseCertificates(pem: string, file: string, problems: string[]): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (const [index, block] of (pem.match(pemCertificate) ?? []).entries()) {
    try {
      out.push(new X509Certificate(block));
    } catch (error) {
      problems.push(`${file}: certificate ${index} cannot be parsed (${(error as Error).message})`);
    }
  }
  return out;
}

function parsePrivateKey(pem: string, file: string, problems: string[]): KeyObject | undefined {
  if (!pem.includes('PRIVATE KEY-----')) {
    problems.push(`${file}: no private key found (expected a -----BEGIN PRIVATE KEY----- block)`);
    return undefined;
  }
  // PKCS#8 ("ENCRYPTED PRIVATE KEY") or traditional ("Proc-Type: 4,ENCRYPTED") encryption:
  // OpenSSL's own words for it ("interrupted or cancelled") would not help anyone.
  if (pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || pem.includes('Proc-Type: 4,ENCRYPTED')) {
    problems.push(`${file}: the private key is encrypted (a passphrase-protected key is not supported)`);
    return undefined;
  }
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch (error) {
    problems.push(`${file}: the private key cannot be parsed (${(error as Error).message})`);
    return undefined;
  }
}

// Whether `issuer` issued `cert`: names (and key identifiers) agree and its key verifies
// the signature.
function issued(issuer: X509Certificate, cert: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

function isSelfSigned(cert: X509Certificate): boolean {
  return issued(cert, cert);
}

function checkOrder(chain: X509Certificate[], file: string, problems: string[]): void {
  for (let i = 0; i + 1 < chain.length; i++) {
    const cert = chain[i]!;
    if (issued(chain[i + 1]!, cert)) continue;
    const issuerAt = chain.findIndex((other, j) => j !== i && issued(other, cert));
    if (issuerAt >= 0) {
      problems.push(
        `${file}: the chain is out of order: ${label(cert, i)} is issued by ${label(chain[issuerAt]!, issuerAt)}, ` +
          `which must come right after it (leaf first, then each certificate's issuer)`,
      );
    } else {
      problems.push(
        `${file}: ${label(chain[i + 1]!, i + 1)} did not issue ${label(cert, i)} (issued by ${cert.issuer.replace(/\n/g, ', ')}): ` +
          `each certificate must be followed by its issuer`,
      );
    }
    return; // one ordering problem is enough to say
  }
}

let nodeRoots: X509Certificate[] | undefined;
function nodeRootCertificates(): X509Certificate[] {
  nodeRoots ??= rootCertificates.map((pem) => new X509Certificate(pem));
  return nodeRoots;
}

// The top of the chain: from the leaf, follow issuers found anywhere in the file (so an
// out-of-order file, already reported, is not also called incomplete).
function topOfChain(chain: X509Certificate[]): { cert: X509Certificate; index: number } {
  let index = 0;
  const visited = new Set<number>([0]);
  for (;;) {
    const cert = chain[index]!;
    const next = chain.findIndex((other, j) => !visited.has(j) && issued(other, cert));
    if (next < 0) return { cert, index };
    visited.add(next);
    index = next;
  }
}

function findAnchor(chain: X509Certificate[], input: CertificatePem, problems: string[]): ChainAnchor | undefined {
  const { cert: last, index: lastIndex } = topOfChain(chain);
  if (isSelfSigned(last)) return 'self-signed in file';
  if (input.caPem !== undefined && input.caFile !== undefined) {
    const cas = parseCertificates(input.caPem, input.caFile, problems);
    if (input.caPem.match(pemCertificate) === null) {
      problems.push(`${input.caFile}: no certificate found (expected a -----BEGIN CERTIFICATE----- block)`);
    }
    if (cas.some((ca) => issued(ca, last))) return 'ca file';
  }
  if (nodeRootCertificates().some((root) => issued(root, last))) return 'node root store';
  const trusted = input.caFile === undefined ? "Node's root store" : `Node's root store or ${input.caFile}`;
  problems.push(
    `${input.certFile}: the chain is incomplete: ${label(last, lastIndex)} is issued by ` +
      `${last.issuer.replace(/\n/g, ', ')}, which is neither in the file nor a trusted root in ${trusted} ` +
      `(add the missing intermediate certificates after it)`,
  );
  return undefined;
}

function summarize(cert: X509Certificate, index: number, now: Date): CertificateSummary {
  const validFrom = new Date(cert.validFrom);
  const validTo = new Date(cert.validTo);
  const { dnsNames, ipAddresses } = alternativeNames(cert.subjectAltName);
  const key = cert.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  const curve = details.namedCurve;
  const keyBits = details.modulusLength ?? (curve === undefined ? undefined : curveBits[curve]);
  return {
    index,
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    dnsNames,
    ipAddresses,
    validFrom,
    validTo,
    daysLeft: Math.floor((validTo.getTime() - now.getTime()) / dayMs),
    keyType: key.asymmetricKeyType ?? 'unknown',
    ...(keyBits === undefined ? {} : { keyBits }),
    ...(curve === undefined ? {} : { curve }),
    selfSigned: isSelfSigned(cert),
    fingerprint256: cert.fingerprint256,
  };
}

// Node prints "DNS:a.example, DNS:b.example, IP Address:127.0.0.1"; a value holding a
// comma or quote comes JSON-quoted.
function alternativeNames(text: string | undefined): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  for (const match of (text ?? '').matchAll(/(DNS|IP Address):("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    const raw = match[2]!.trim();
    const value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    (match[1] === 'DNS' ? dnsNames : ipAddresses).push(value);
  }
  return { dnsNames, ipAddresses };
}

function oneLine(name: string): string {
  return name.split('\n').filter(Boolean).join(', ');
}

function label(cert: X509Certificate, index: number): string {
  return `certificate ${index} (${oneLine(cert.subject)})`;
}

function describe(summary: CertificateSummary): string {
  return `certificate ${summary.index} (${summary.subject})`;
}
