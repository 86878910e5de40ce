// TLS counters through the listener: full and resumed handshakes, failures by reason
// (timeout, protocol version, no shared cipher, client certificate, not TLS, closed), the
// record-layer path of each connection (kTLS or user space, and why) against what this
// kernel offers, and the same numbers in Prometheus' text.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { renderPrometheus } from '../../src/admin/prometheus.js';
import { runCleanups } from '../helpers/cleanup.js';
import { externalProgramEnv } from '../helpers/external-env.js';
import { waitUntil } from '../helpers/wait.js';
import { useTlsFixtures } from '../helpers/use-tls-fixtures.js';
import { startOkTlsBalancer } from './ok-backend.js';
import { visit } from './tls-visit.js';

const fixtures = useTlsFixtures();

afterEach(async () => {
  await runCleanups();
});

/** openssl s_client with `args`; resolves once it exits, whatever its status. */
function sClient(port: number, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = execFile(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', ...args],
      { env: externalProgramEnv(), timeout: 10_000 },
      (_error, stdout, stderr) => resolve(stdout + stderr),
    );
    child.stdin?.end();
  });
}

/** Plain TCP: writes `bytes` (or nothing), optionally half-closes, and resolves once the balancer closed. */
function raw(port: number, bytes?: Buffer, end = false): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      if (bytes) socket.write(bytes);
      if (end) socket.end();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
    socket.setTimeout(10_000, () => socket.destroy());
  });
}

describe('TLS stats', () => {
  it('counts full and resumed handshakes, and shows them in Prometheus text', async () => {
    const lb = await startOkTlsBalancer(fixtures.ecdsa);
    const first = await visit(fixtures.ca, lb.port);
    for (let i = 0; i < 5; i++) expect((await visit(fixtures.ca, lb.port, first.session)).reused).toBe(true);
    const stats = lb.stats();
    expect(stats.tls).toMatchObject({ handshakesFull: 1, handshakesResumed: 5 });
    const text = renderPrometheus(stats);
    expect(text).toContain('lb_tls_handshakes_total{kind="full"} 1\n');
    expect(text).toContain('lb_tls_handshakes_total{kind="resumed"} 5\n');
    expect(text).toContain('lb_tls_handshake_failures_total{reason="timeout"} 0\n');
    expect(text).toMatch(/lb_tls_record_layer_total\{path="userspace",reason="ktls_off"\} 6\n/);
  });

  it('counts failed handshakes by reason', async () => {
    const clientCa = { ca: fixtures.ca.certFile, verify: 'required' };
    const lb = await startOkTlsBalancer(fixtures.ecdsa, { clientCertificates: clientCa }, { timeouts: { clientHeadMs: 300 } });
    // timeout: silent past the handshake timeout.
    await raw(lb.port);
    // version: a TLS 1.1 ClientHello (security level 0 so that the client offers it at all).
    await sClient(lb.port, ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']);
    // no shared cipher: TLS 1.2 with static-RSA key exchange only (not in the intermediate profile).
    await sClient(lb.port, ['-tls1_2', '-cipher', 'AES128-SHA']);
    // client certificate: mTLS required, none sent.
    await sClient(lb.port, ['-CAfile', fixtures.ca.certFile]);
    // not TLS: garbage, and a plain HTTP request (answered 400).
    await raw(lb.port, Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'));
    await raw(lb.port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    // closed: half a ClientHello, then the client's FIN.
    await raw(lb.port, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]), true);
    await waitUntil('every failure counted', () => {
      const f = lb.stats().tls!.handshakeFailures;
      return f.timeout + f.version + f.noSharedCipher + f.clientCertificate + f.notTls + f.closed + f.other >= 7;
    });
    expect(lb.stats().tls!.handshakeFailures).toEqual({
      timeout: 1,
      version: 1,
      noSharedCipher: 1,
      clientCertificate: 1,
      notTls: 2,
      closed: 1,
      other: 0,
    });
    expect(lb.stats().tls).toMatchObject({ handshakesFull: 0, handshakesResumed: 0 });
  });

  it("counts each connection's record-layer path against what the kernel offers (kTLS asked for)", async () => {
    const ulps = (await readFile('/proc/sys/net/ipv4/tcp_available_ulp', 'utf8').catch(() => '')).split(/\s+/);
    const kernelTls = ulps.includes('tls');
    const lb = await startOkTlsBalancer(fixtures.ecdsa, { ktls: true });
    for (let i = 0; i < 4; i++) expect((await visit(fixtures.ca, lb.port)).status).toBe('HTTP/1.1 200 OK');
    const t = lb.stats().tls!;
    expect(t.ktls.requested).toBe(true);
    // The probe loads nothing the list does not show: a kernel without the ULP in the list
    // may still autoload the module, so only the "no" case is pinned to the list.
    if (!kernelTls && !t.ktls.kernel) {
      expect(t.ktls.detail).toMatch(/the kernel offers no tls ULP/);
      expect(t.recordLayerUserspace).toEqual({ ktlsOff: 0, noKernelTls: 4, opensslDeclined: 0 });
      expect(t.recordLayerKtls).toBe(0);
    } else {
      // The kernel has it: every connection is counted on one path, the kTLS one only if
      // the linked OpenSSL has kTLS (node's is built without).
      expect(t.recordLayerKtls + t.recordLayerUserspace.opensslDeclined).toBe(4);
      if (!t.ktls.openssl) expect(t.recordLayerKtls).toBe(0);
    }
    expect(
      t.recordLayerKtls +
        t.recordLayerUserspace.ktlsOff +
        t.recordLayerUserspace.noKernelTls +
        t.recordLayerUserspace.opensslDeclined,
    ).toBe(4);
  });
});
