// Reads a TLS listener's certificate and key files into the PEM the data path takes
// (NativeCertificate). Done by the control plane at start and at every reload, so the
// addon never touches the file system. A file that cannot be read, holds no PEM of the
// expected kind, or a key that does not belong to its certificate is an LbConfigError
// naming the option path, the file and what was expected; nothing is half-loaded.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import type { CertificateFileOptions, ListenerTlsOptions } from '../config/schema.js';
import { LbConfigError, type ConfigIssue } from '../errors.js';
import type { NativeCertificate, NativeTlsFiles } from '../native.js';

const certificateBlock = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/;
const keyBlock = /-----BEGIN (?:RSA |EC |)PRIVATE KEY-----[\s\S]*?-----END (?:RSA |EC |)PRIVATE KEY-----/;

/**
 * Reads every certificate (and the client CA file, for mTLS); throws LbConfigError listing
 * every problem found, each path starting with `at` (e.g. `listeners[1].`).
 */
export async function readCertificateFiles(tls: ListenerTlsOptions, at = ''): Promise<NativeTlsFiles> {
  const certificates: readonly CertificateFileOptions[] = tls.certificates ?? [];
  const issues: ConfigIssue[] = [];
  const read = async (path: string, file: string): Promise<string | undefined> => {
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      issues.push({ path, message: `${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})` });
      return undefined;
    }
  };
  const out: NativeCertificate[] = [];
  await Promise.all(
    certificates.map(async (files, index) => {
      const path = `${at}tls.certificates[${index}]`;
      const [cert, key] = await Promise.all([read(`${path}.cert`, files.cert), read(`${path}.key`, files.key)]);
      if (cert === undefined || key === undefined) return;
      const problem = pairProblem(files, cert, key);
      if (problem) {
        issues.push({ path: `${path}.${problem.field}`, message: problem.message });
        return;
      }
      out[index] = { cert, key };
    }),
  );
  let clientCa: string | undefined;
  const client = tls.clientCertificates;
  if (client) {
    clientCa = await read(`${at}tls.clientCertificates.ca`, client.ca);
    if (clientCa !== undefined && !certificateBlock.test(clientCa)) {
      issues.push({
        path: `${at}tls.clientCertificates.ca`,
        message: `${client.ca}: expected PEM CA certificates (-----BEGIN CERTIFICATE-----), found none`,
      });
    }
  }
  if (issues.length > 0) throw new LbConfigError(issues);
  return { certificates: out, ...(clientCa === undefined ? {} : { clientCa }) };
}

function pairProblem(
  files: CertificateFileOptions,
  cert: string,
  key: string,
): { field: 'cert' | 'key'; message: string } | undefined {
  const leafPem = certificateBlock.exec(cert)?.[0];
  if (!leafPem) {
    return { field: 'cert', message: `${files.cert}: expected a PEM certificate (-----BEGIN CERTIFICATE-----), found none` };
  }
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(key)) {
    return { field: 'key', message: `${files.key}: expected an unencrypted PEM private key, found an encrypted one` };
  }
  if (!keyBlock.test(key)) {
    return { field: 'key', message: `${files.key}: expected a PEM private key (-----BEGIN PRIVATE KEY-----), found none` };
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(leafPem);
  } catch (error) {
    return { field: 'cert', message: `${files.cert}: the first certificate cannot be parsed (${firstLine(error)})` };
  }
  try {
    if (!leaf.checkPrivateKey(createPrivateKey(key))) {
      return {
        field: 'key',
        message: `${files.key}: expected the private key of ${files.cert}'s first certificate; it is another key`,
      };
    }
  } catch (error) {
    return { field: 'key', message: `${files.key}: the private key cannot be parsed (${firstLine(error)})` };
  }
  return undefined;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
