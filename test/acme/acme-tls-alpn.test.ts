// TLS-ALPN-01 end to end against Debian's pebble: a service whose only listener is a TLS
// one naming acme with `challenge: tls-alpn-01`, so it has no certificate at first. Pebble
// validates TLS-ALPN-01 on that listener and HTTP-01 on a port where nothing listens, so
// the order can only succeed through acme-tls/1. The issued certificate is then served,
// h2 and HTTP/1.1 clients keep being answered through the renewal (pebble's 12 s
// certificates renew at 8 s, again over TLS-ALPN-01), and acme-tls/1 for a name with no
// pending challenge is refused.
import { X509Certificate } from 'node:crypto';
import { Writable } from 'node:stream';

import { afterEach, describe, expect, it } from 'vitest';

import { trustDirectoryCa } from '../../src/acme/acme-client-settings.js';
import { parseConfigText } from '../../src/config/file.js';
import { createLogger } from '../../src/logging/logger.js';
import { LbService } from '../../src/service/service.js';
import { settingsFrom } from '../../src/service/settings.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { freePort } from '../helpers/free-port.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { waitUntil } from '../helpers/wait.js';
import { startPebble } from './pebble.js';
import { domains, storageDir } from './support.js';
import { h2Get, http1Get, probe } from './tls-alpn-clients.js';

afterEach(runCleanups);

describe('ACME over TLS-ALPN-01 (pebble)', () => {
  it('issues the first certificate through the TLS listener alone, serves it, and renews while h2 and HTTP/1.1 clients go on', async () => {
    const backend = await startHttpBackend('app');
    const tlsPort = await freePort();
    const closedPort = await freePort(); // nothing listens here: HTTP-01 cannot succeed
    const pebble = await startPebble({ httpPort: closedPort, tlsPort, validitySeconds: 12 });
    trustDirectoryCa(pebble.caPem);
    const text = [
      'workers: 2',
      `backends: [${backend.address}]`,
      'listeners:',
      `  - listen: 127.0.0.1:${tlsPort}`,
      '    tls:',
      '      acme:',
      '        email: ops@shop.test',
      `        directory: ${pebble.directory}`,
      `        domains: [${domains.join(', ')}]`,
      `        storage: ${storageDir()}`,
      '        challenge: tls-alpn-01',
    ].join('\n');
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const service = await LbService.start(settingsFrom(parseConfigText('lb.yaml', text)), {
      log: createLogger({ level: 'info', destination: sink }),
    });
    onCleanup(() => service.stop(0));

    await waitUntil('the first certificate to be served', () => lines.some((l) => l.msg === 'certificate-served'), {
      timeoutMs: 30_000,
    });
    expect(lines.filter((l) => l.msg === 'certificate-failed' || l.msg === 'certificate-refused')).toEqual([]);
    // Before its first certificate the listener can complete only challenge handshakes
    // (acme-tls/1, closed at once): pebble made at least one per name, nobody else did.
    const before = service.balancer.stats();
    expect(before.tls?.handshakesFull).toBeGreaterThanOrEqual(domains.length);
    expect(before.requests).toBe(0);
    const issuedSerial = new X509Certificate(service.acme!.certificate()!.certPem).serialNumber;
    const first = await Promise.all([h2Get(tlsPort, domains[0]!, '/h2'), http1Get(tlsPort, domains[1]!, '/h1')]);
    expect(first.map((r) => [r.status, r.alpn, r.serial])).toEqual([
      [200, 'h2', issuedSerial],
      [200, 'http/1.1', issuedSerial],
    ]);
    // No challenge pending now: acme-tls/1 is refused, for a configured name too.
    expect(await probe(tlsPort, domains[0]!)).toMatchObject({ ok: false });

    // Clients every 100 ms through the renewal; every one is answered.
    const results: Array<{ status: number; alpn: string }> = [];
    const failures: string[] = [];
    let clientsRun = true;
    const clients = (async () => {
      for (let i = 0; clientsRun; i++) {
        try {
          results.push(await (i % 2 === 0 ? h2Get : http1Get)(tlsPort, domains[i % 2]!, `/during-${i}`));
        } catch (error) {
          failures.push(error instanceof Error ? error.message : String(error));
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    try {
      await waitUntil('the renewal', () => lines.some((l) => l.msg === 'certificate-renewed'), { timeoutMs: 40_000 });
    } finally {
      clientsRun = false;
      await clients;
    }
    expect(failures).toEqual([]);
    expect(results.length).toBeGreaterThan(10);
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(new Set(results.map((r) => r.alpn))).toEqual(new Set(['h2', 'http/1.1']));
    const renewedSerial = new X509Certificate(service.acme!.certificate()!.certPem).serialNumber;
    expect(renewedSerial).not.toBe(issuedSerial);
    await waitUntil(
      'the renewed certificate served',
      async () => (await http1Get(tlsPort, domains[0]!, '/r')).serial === renewedSerial,
    );
  }, 90_000);
});
