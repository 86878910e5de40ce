// The one certificate every proxy serves in the HTTPS scenarios: ECDSA P-256, self-signed,
// made with the openssl command line into a private temp dir for this run.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCapture } from './procs.mjs';

/**
 * The files: `cert` the certificate, `key` its PKCS#8 key, `pem` both in one file (HAProxy's
 * `crt` takes them together), `certPem` the certificate's text (the probe trusts it).
 * @typedef {{ dir: string, cert: string, key: string, pem: string, certPem: string }} BenchCertificate
 */

/** @returns {Promise<BenchCertificate>} */
export async function makeCertificate() {
  const dir = mkdtempSync(join(tmpdir(), 'lbbench-tls-'));
  chmodSync(dir, 0o755); // nginx workers may run as an unprivileged user
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const r = await runCapture(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-sha256',
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { timeoutMs: 15000 },
  );
  if (r.code !== 0) throw new Error(`openssl req failed (exit ${r.code}): ${`${r.out}${r.err}`.trim().slice(0, 300)}`);
  const certPem = readFileSync(cert, 'utf8');
  const pem = join(dir, 'cert-and-key.pem');
  writeFileSync(pem, certPem + readFileSync(key, 'utf8'));
  for (const f of [cert, key, pem]) chmodSync(f, 0o644); // read by nginx workers
  return { dir, cert, key, pem, certPem };
}
