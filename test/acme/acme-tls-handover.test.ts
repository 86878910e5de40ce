// The hand-over from ACME to TLS, end to end against Debian's pebble: a service started
// from a configuration file with two listeners, a plain one pebble validates HTTP-01 on
// and a TLS one whose tls names acme. The certificate pebble issues is the one the TLS
// listener serves (same serial), HTTPS requests reach the backend through it, the plain
// listener keeps proxying, and a renewal (pebble's 12 s certificates) swaps it live: new
// connections get the renewed one, a connection opened before keeps its session.
import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { Writable } from 'node:stream';
import tls from 'node:tls';

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

afterEach(runCleanups);

/** The serial of the certificate the TLS listener on `port` presents for `servername`. */
function servedSerial(port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const serial = socket.getPeerX509Certificate()?.serialNumber ?? '';
      socket.end();
      resolve(serial);
    });
    socket.on('error', reject);
    socket.setTimeout(5_000, () => socket.destroy(new Error('no handshake within 5 s')));
  });
}

function request(url: string, agent?: https.Agent): Promise<{ status: number; body: string; serial?: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const secure = url.startsWith('https');
    const options = secure ? { agent, servername: domains[0], rejectUnauthorized: false } : {};
    const req = (secure ? https : http).get(url, options, (res) => {
      const serial = secure ? (res.socket as tls.TLSSocket).getPeerX509Certificate()?.serialNumber : undefined;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body, reused: req.reusedSocket, ...(serial ? { serial } : {}) }),
      );
    });
    req.on('error', reject);
  });
}

describe('ACME certificates served by the TLS listener', () => {
  it('serves the certificate pebble issued on the TLS listener, answers HTTP-01 on the plain one, and swaps the renewed one in live', async () => {
    const backend = await startHttpBackend('app');
    const plainPort = await freePort();
    const pebble = await startPebble({ httpPort: plainPort, validitySeconds: 12 });
    trustDirectoryCa(pebble.caPem); // pebble's HTTPS, for ACME requests only
    const storage = storageDir();
    const text = [
      'workers: 2',
      `backends: [${backend.address}]`,
      'listeners:',
      `  - listen: 127.0.0.1:${plainPort}`,
      '  - listen: 127.0.0.1:0',
      '    tls:',
      '      acme:',
      '        email: ops@shop.test',
      `        directory: ${pebble.directory}`,
      `        domains: [${domains.join(', ')}]`,
      `        storage: ${storage}`,
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
    const [plain, secure] = service.balancer.listeners;
    expect(plain).toMatchObject({ port: plainPort, tls: false });
    expect(secure).toMatchObject({ tls: true });

    await waitUntil('the issued certificate to be served', () => lines.some((l) => l.msg === 'certificate-served'), {
      timeoutMs: 30_000,
    });
    expect(lines.filter((l) => l.msg === 'certificate-not-served' || l.msg === 'certificate-refused')).toEqual([]);
    const issued = service.acme?.certificate();
    expect(issued).toBeDefined();
    const issuedSerial = new X509Certificate(issued!.certPem).serialNumber;
    expect(await servedSerial(secure!.port, domains[1]!)).toBe(issuedSerial);

    // HTTPS through the TLS listener, kept alive; plain HTTP still proxied on the other.
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    onCleanup(() => agent.destroy());
    const first = await request(`https://127.0.0.1:${secure!.port}/over-tls`, agent);
    expect(first).toMatchObject({ status: 200, serial: issuedSerial });
    expect(first.body).toContain('app');
    expect((await request(`http://127.0.0.1:${plainPort}/over-plain`)).status).toBe(200);

    // Renewal at two thirds of 12 s: answered on the plain listener again, then swapped in.
    await waitUntil('the renewal', () => lines.some((l) => l.msg === 'certificate-renewed'), { timeoutMs: 40_000 });
    const renewed = service.acme?.certificate();
    const renewedSerial = new X509Certificate(renewed!.certPem).serialNumber;
    expect(renewedSerial).not.toBe(issuedSerial);
    await waitUntil(
      'the renewed certificate on new connections',
      async () => (await servedSerial(secure!.port, domains[0]!)) === renewedSerial,
    );
    expect(lines.filter((l) => l.msg === 'certificate-served').length).toBeGreaterThanOrEqual(2);
    // The connection opened before the renewal (its handshake presented issuedSerial) goes
    // on with its session: the request reuses it.
    const kept = await request(`https://127.0.0.1:${secure!.port}/kept`, agent);
    expect(kept).toMatchObject({ status: 200, reused: true });
  }, 90_000);
});
