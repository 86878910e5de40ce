// A TLS listener as an external scanner no one here wrote sees it: Debian's sslscan
// connects to the balancer, lists every protocol version and cipher suite it accepts, and
// probes renegotiation, compression and Heartbleed. The listener must offer TLS 1.2 and
// 1.3 only, forward secrecy on every suite, AEAD ciphers only, and no renegotiation.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

import { startBalancer } from '../helpers/balancer.js';
import { runCleanups } from '../helpers/cleanup.js';
import { externalProgramEnv } from '../helpers/external-env.js';
import { useTlsFixtures } from '../helpers/use-tls-fixtures.js';
import { startOkBackend } from './ok-backend.js';

const run = promisify(execFile);

const fixtures = useTlsFixtures();

afterAll(async () => {
  await runCleanups();
});

interface ScanReport {
  protocols: Map<string, boolean>;
  ciphers: { version: string; name: string; bits: number }[];
  renegotiation: boolean;
  compression: boolean;
  heartbleed: boolean;
}

/** The attributes of every `<tag .../>` element of sslscan's XML report. */
function elements(xml: string, tag: string): Record<string, string>[] {
  const found: Record<string, string>[] = [];
  for (const match of xml.matchAll(new RegExp(`<${tag}\\s([^>]*?)/?>`, 'g'))) {
    const attributes: Record<string, string> = {};
    for (const attribute of (match[1] ?? '').matchAll(/([\w-]+)="([^"]*)"/g)) {
      attributes[attribute[1] as string] = attribute[2] as string;
    }
    found.push(attributes);
  }
  return found;
}

async function scan(port: number): Promise<ScanReport> {
  const { stdout } = await run('sslscan', ['--no-colour', '--xml=-', `127.0.0.1:${port}`], {
    env: externalProgramEnv(),
    timeout: 60_000,
    maxBuffer: 4 << 20,
  });
  const protocols = new Map<string, boolean>();
  for (const p of elements(stdout, 'protocol')) protocols.set(`${p.type}${p.version}`, p.enabled === '1');
  const ciphers = elements(stdout, 'cipher')
    .filter((c) => c.status === 'accepted' || c.status === 'preferred')
    .map((c) => ({ version: c.sslversion ?? '', name: c.cipher ?? '', bits: Number(c.bits) }));
  const renegotiation = elements(stdout, 'renegotiation').some((r) => r.supported === '1');
  const compression = elements(stdout, 'compression').some((c) => c.supported === '1');
  const heartbleed = elements(stdout, 'heartbleed').some((h) => h.vulnerable === '1');
  return { protocols, ciphers, renegotiation, compression, heartbleed };
}

describe('sslscan against a TLS listener', () => {
  for (const keyType of ['ecdsa', 'rsa'] as const) {
    it(`${keyType} certificate: TLS 1.2 and 1.3 only, forward secrecy and AEAD everywhere, no renegotiation`, async () => {
      const certificate = fixtures[keyType];
      const lb = await startBalancer({
        backends: [await startOkBackend()],
        tls: { certificates: [{ cert: certificate.chainFile, key: certificate.keyFile }] },
      });

      const report = await scan(lb.port);

      expect(Object.fromEntries(report.protocols)).toEqual({
        ssl2: false,
        ssl3: false,
        'tls1.0': false,
        'tls1.1': false,
        'tls1.2': true,
        'tls1.3': true,
      });
      expect(report.ciphers.length).toBeGreaterThan(0);
      for (const cipher of report.ciphers) {
        expect(['TLSv1.2', 'TLSv1.3']).toContain(cipher.version);
        expect(cipher.bits).toBeGreaterThanOrEqual(128);
        // TLS 1.3 suites are all AEAD with ephemeral key exchange; TLS 1.2 ones must say so.
        if (cipher.version === 'TLSv1.2') {
          expect(cipher.name).toMatch(/^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
          expect(cipher.name).toContain(keyType === 'ecdsa' ? 'ECDSA' : 'RSA');
        } else {
          expect(cipher.name).toMatch(/^TLS_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305_SHA256)$/);
        }
      }
      expect(report.ciphers.some((c) => c.version === 'TLSv1.3')).toBe(true);
      expect(report.renegotiation).toBe(false);
      expect(report.compression).toBe(false);
      expect(report.heartbleed).toBe(false);
    }, 120_000);
  }
});
