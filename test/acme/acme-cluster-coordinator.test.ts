// AcmeCluster (src/acme/acme-cluster.ts) against a real etcd (the discovery tests' helper)
// and a real balancer, without pebble: regressions from the review of the cluster mode.
// What other writers of the prefix may put there (bad challenges, a certificate paired
// with a key that is not its own), a slow etcd while publishing a challenge, two groups of
// balancers with different certificates on one prefix, and a failed start that must not
// leave the etcd client running.
import { randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { Etcd3 } from 'etcd3';
import { afterEach, describe, expect, it } from 'vitest';

import { AcmeCluster } from '../../src/acme/acme-cluster.js';
import { AcmeManager } from '../../src/acme/acme-manager.js';
import { AcmeStorage } from '../../src/acme/acme-storage.js';
import { sealKey } from '../../src/acme/sealed-key.js';
import type { AcmeClusterConfig, AcmeConfig } from '../../src/config/acme-schema.js';
import { createLogger } from '../../src/logging/logger.js';
import { startAcme } from '../../src/service/certificates.js';
import { type EtcdServer, startEtcd } from '../discovery/support.js';
import type { Balancer } from '../helpers/balancer.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { RawClient } from '../helpers/raw-client.js';
import { createTlsFixtures } from '../helpers/tls-fixtures.js';
import { delay, waitUntil } from '../helpers/wait.js';
import { domains, startEdge, storageDir } from './support.js';

afterEach(runCleanups);

const prefix = '/lb-test/acme-coordinator';
const thumbprint = '9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI';

type ClusterConfig = AcmeConfig & { cluster: AcmeClusterConfig };

function configFor(etcd: EtcdServer, names: string[], etcdOptions: { timeoutMs?: number } = {}): ClusterConfig {
  return {
    email: 'ops@shop.test',
    // Never asked: these tests do not order.
    directory: 'https://127.0.0.1:1/dir',
    domains: names,
    storage: storageDir(),
    challenge: 'http-01',
    cluster: {
      etcd: { endpoints: [etcd.endpoint], prefix, leaseTtlSeconds: 3, ...etcdOptions },
      keyFile: 'not read: the key is given',
    },
  };
}

interface Watched {
  cluster: AcmeCluster;
  errors: Array<{ during: string; message: string }>;
  won: () => boolean;
}

function clusterFor(config: ClusterConfig, key: Buffer): Watched {
  const cluster = new AcmeCluster({ config, key, challengeGraceMs: 0 });
  const errors: Watched['errors'] = [];
  let won = false;
  cluster.on('acme-cluster-error', (event) => errors.push({ during: event.during, message: event.error.message }));
  cluster.on('acme-leader', (event) => (won = event.won));
  onCleanup(() => cluster.close());
  return { cluster, errors, won: () => won };
}

/** A manager wired to the cluster and `lb` like startAcme does; started only if asked. */
function managerFor(config: ClusterConfig, cluster: AcmeCluster, lb: Balancer): AcmeManager {
  const manager = new AcmeManager({ config, responder: cluster.responderFor(lb), coordinator: cluster });
  onCleanup(() => manager.stop());
  return manager;
}

function etcdClient(etcd: EtcdServer): ReturnType<Etcd3['namespace']> {
  const client = new Etcd3({ hosts: etcd.endpoint });
  onCleanup(() => client.close());
  return client.namespace(`${prefix}/`);
}

async function challengeAnswer(port: number, token: string): Promise<{ status: number; body: string }> {
  const client = await RawClient.connect(port);
  try {
    await client.write(`GET /.well-known/acme-challenge/${token} HTTP/1.1\r\nHost: shop.test\r\n\r\n`);
    const response = await client.readResponse();
    return { status: response.status, body: response.body.toString() };
  } finally {
    client.destroy();
  }
}

/** A gauge from etcd's /metrics (its client URL), 0 when absent. */
function etcdGauge(etcd: EtcdServer, name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(`${etcd.endpoint}/metrics`, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => {
          const line = body.split('\n').find((l) => l.startsWith(`${name} `));
          resolve(line ? Number(line.split(' ')[1]) : 0);
        });
      })
      .on('error', reject);
  });
}

describe('ACME cluster coordinator against a real etcd', () => {
  it('regression: a challenge published while etcd hangs (SIGSTOP) fails the publish, without an unhandled rejection', async () => {
    const etcd = await startEtcd();
    const { lb } = await startEdge();
    // The put's own deadline (12 s) is longer than the 10 s wait for the watch's echo.
    const config = configFor(etcd, domains, { timeoutMs: 12_000 });
    const { cluster, won } = clusterFor(config, randomBytes(32));
    await cluster.prepare();
    cluster.run(managerFor(config, cluster, lb));
    await waitUntil('the cluster to be elected', won, { timeoutMs: 10_000 });

    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    onCleanup(() => process.off('unhandledRejection', onUnhandled));
    process.kill(etcd.daemon.pid, 'SIGSTOP');
    onCleanup(() => process.kill(etcd.daemon.pid, 'SIGCONT'));
    const token = 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0';
    const outcome = await cluster.publishChallenge(token, `${token}.${thumbprint}`).then(
      () => 'published',
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    expect(outcome).not.toBe('published');
    expect(outcome).not.toContain('was not seen back');
    // Let any rejection nobody listened to surface.
    await delay(100);
    expect(unhandled).toEqual([]);
  }, 60_000);

  it('regression: bad challenges in etcd (at start and while watching) are skipped and reported; the good ones are answered', async () => {
    const etcd = await startEtcd();
    const { lb } = await startEdge();
    const namespace = etcdClient(etcd);
    const good = 'goodTOKEN_at-start';
    await namespace.put(`challenges/${good}`).value(`${good}.${thumbprint}`).exec();
    await namespace.put('challenges/bad token!').value(`bad token!.${thumbprint}`).exec();
    await namespace.put('challenges/otherToken').value('someoneElsesToken.thumb').exec();

    const config = configFor(etcd, domains);
    const { cluster, errors } = clusterFor(config, randomBytes(32));
    await cluster.prepare();
    const manager = managerFor(config, cluster, lb);
    // It used to fail here, at every start: the native table refused the whole table.
    await manager.start();
    expect(await challengeAnswer(lb.port, good)).toEqual({ status: 200, body: `${good}.${thumbprint}` });
    expect(errors).toEqual([
      { during: 'reading the challenges', message: expect.stringContaining('"bad token!" is not 1 to 256 base64url') as unknown },
      {
        during: 'reading the challenges',
        message: expect.stringContaining('"otherToken" is not <token>.<thumbprint>') as unknown,
      },
    ]);

    // While watching: it used to throw inside etcd3's watch handler and end the process.
    await namespace
      .put(`challenges/${'x'.repeat(300)}`)
      .value(`${'x'.repeat(300)}.${thumbprint}`)
      .exec();
    await namespace
      .put('challenges/longValue')
      .value(`longValue.${'a'.repeat(600)}`)
      .exec();
    const later = 'goodTOKEN_later';
    await namespace.put(`challenges/${later}`).value(`${later}.${thumbprint}`).exec();
    await waitUntil(
      'the later good challenge to be answered',
      async () => (await challengeAnswer(lb.port, later)).status === 200,
      {
        timeoutMs: 5_000,
        intervalMs: 50,
      },
    );
    expect(await challengeAnswer(lb.port, good)).toEqual({ status: 200, body: `${good}.${thumbprint}` });
    expect(await challengeAnswer(lb.port, 'longValue')).toMatchObject({ status: 404 });
    expect(errors.map((e) => e.during)).toEqual(Array(4).fill('reading the challenges'));
  }, 60_000);

  it('regression: two groups with different certificates on one prefix each elect their own orderer', async () => {
    const etcd = await startEtcd();
    const { lb } = await startEdge();
    const key = randomBytes(32);
    const shopConfig = configFor(etcd, domains);
    const otherConfig = configFor(etcd, ['other.test']);
    const shop = clusterFor(shopConfig, key);
    const other = clusterFor(otherConfig, key);
    for (const [config, watched] of [
      [shopConfig, shop],
      [otherConfig, other],
    ] as const) {
      await watched.cluster.prepare();
      watched.cluster.run(managerFor(config, watched.cluster, lb));
    }
    await waitUntil('both groups to elect an orderer', () => shop.won() && other.won(), { timeoutMs: 10_000 });
    const namespace = etcdClient(etcd);
    expect(await namespace.election(`orderer/${domains[0]}`).leader()).toBe(shop.cluster.identity);
    expect(await namespace.election('orderer/other.test').leader()).toBe(other.cluster.identity);
  }, 60_000);

  it('regression: a shared certificate paired with a sealed key that is not its own is refused, not stored', async () => {
    const etcd = await startEtcd();
    const key = randomBytes(32);
    const fixtures = await createTlsFixtures({ names: domains });
    onCleanup(() => fixtures.cleanup());
    const namespace = etcdClient(etcd);
    const shared = (certPem: string, keyPem: string): string =>
      JSON.stringify({
        domains,
        certPem,
        keyCipher: sealKey(keyPem, key, domains[0] ?? ''),
        notAfter: new Date(Date.now() + 86_400_000).toISOString(),
      });
    // The RSA leaf's certificate with the ECDSA leaf's key: both valid, sealed with the right key.
    await namespace.put(`certificates/${domains[0]}`).value(shared(fixtures.rsa.chainPem, fixtures.ecdsa.keyPem)).exec();
    const config = configFor(etcd, domains);
    const { cluster, errors } = clusterFor(config, key);
    await cluster.prepare();
    expect(errors).toEqual([
      {
        during: 'opening the shared certificate',
        message: `the shared certificate for ${domains[0]} does not match its sealed private key`,
      },
    ]);
    const storage = new AcmeStorage(config.storage);
    expect(await storage.readCertificate(domains)).toBeUndefined();

    // The matching pair is taken.
    await namespace.put(`certificates/${domains[0]}`).value(shared(fixtures.rsa.chainPem, fixtures.rsa.keyPem)).exec();
    const again = clusterFor(config, key);
    await again.cluster.prepare();
    expect(again.errors).toEqual([]);
    expect((await storage.readCertificate(domains))?.keyPem).toBe(fixtures.rsa.keyPem);
  }, 60_000);

  it('regression: a start that fails after the cluster is up closes the etcd client and its watch', async () => {
    const etcd = await startEtcd();
    const { lb } = await startEdge();
    const folder = storageDir();
    const keyFile = join(folder, '..', 'cluster.key');
    writeFileSync(keyFile, randomBytes(32));
    chmodSync(keyFile, 0o600);
    const base = configFor(etcd, domains);
    // The schema refuses this pair; the manager refuses it again when given anyway.
    const config = { ...base, challenge: 'tls-alpn-01' as const, cluster: { ...base.cluster, keyFile } };
    const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
    const log = createLogger({ level: 'info', destination: sink });
    await expect(startAcme(lb, { config, path: 'tls.acme', key: 'test' }, log)).rejects.toThrow(
      'tls.acme.challenge tls-alpn-01 cannot be used with tls.acme.cluster',
    );
    // The cluster's challenge watch was opened by prepare(): it must be gone, not left behind.
    await waitUntil('the watch to be closed', async () => (await etcdGauge(etcd, 'etcd_debugging_mvcc_watcher_total')) === 0, {
      timeoutMs: 5_000,
      intervalMs: 100,
    });
    await delay(1_000);
    expect(await etcdGauge(etcd, 'etcd_debugging_mvcc_watcher_total')).toBe(0);
  }, 60_000);

  it('refuses a coordinator with tls-alpn-01 in the manager itself', async () => {
    const etcd = await startEtcd();
    const { lb } = await startEdge();
    const config = configFor(etcd, domains);
    const { cluster } = clusterFor(config, randomBytes(32));
    expect(
      () => new AcmeManager({ config: { ...config, challenge: 'tls-alpn-01' }, responder: lb, coordinator: cluster }),
    ).toThrow('tls.acme.challenge tls-alpn-01 cannot be used with tls.acme.cluster (TLS-ALPN-01 answers are not shared)');
  }, 30_000);
});
