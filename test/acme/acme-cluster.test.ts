// ACME across two balancers through etcd (tls.acme.cluster), as real processes: one etcd,
// pebble, two `lb-native start` with the same cluster section. Exactly one orders; pebble
// validates HTTP-01 on the balancer that did NOT order (read from etcd who leads), which
// answers from the challenges it watches; both serve the issued certificate on their TLS
// listener. Then the orderer is SIGKILLed by PID in the middle of its renewal (right after
// it published the challenge in etcd, before it told pebble to validate), and the other
// takes over through the lease, renews, and serves the renewed certificate. A third
// balancer started then takes the certificate from etcd without ordering. And a balancer
// started while etcd is down starts anyway, then refuses a shared key sealed with another
// cluster key and serves a good shared certificate once etcd is back.
import { X509Certificate, randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { type AddressInfo, type Socket, createServer } from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';

import { Etcd3 } from 'etcd3';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { sealKey } from '../../src/acme/sealed-key.js';
import { startEtcd } from '../discovery/support.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { CliProcess, type LogLine, ensureBuilt, killSpawnedAfterEach } from '../helpers/cli.js';
import { freePort } from '../helpers/free-port.js';
import { startHttpBackend } from '../helpers/http-backend.js';
import { createTlsFixtures } from '../helpers/tls-fixtures.js';
import { waitUntil } from '../helpers/wait.js';
import { pebbleHttps, startPebble } from './pebble.js';
import { domains, storageDir } from './support.js';

beforeAll(ensureBuilt, 150_000);
killSpawnedAfterEach();
afterEach(runCleanups);

const prefix = '/lb-test/acme';
// Pebble's certificates live 45 s: renewal (at two thirds) comes 30 s after issuance.
const validitySeconds = 45;

/** The serial of the certificate the TLS listener on `port` presents, or '' while it presents none. */
function servedSerial(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: domains[0], rejectUnauthorized: false }, () => {
      const serial = socket.getPeerX509Certificate()?.serialNumber ?? '';
      socket.destroy();
      resolve(serial);
    });
    socket.setTimeout(2_000, () => socket.destroy());
    socket.on('error', () => resolve(''));
    socket.on('close', () => resolve(''));
  });
}

interface Balancer {
  name: string;
  cli: CliProcess;
  plainPort: number;
  tlsPort: number;
  identity?: string;
}

const issued = (line: LogLine): boolean => line.source === 'issued';

describe('ACME cluster: two balancers, one etcd, pebble', () => {
  it('one orders, the other answers the challenge, both serve it; the orderer killed mid-renewal, the other takes over', async () => {
    const etcd = await startEtcd();
    const backend = await startHttpBackend('app');
    const folder = join(storageDir(), '..');
    const keyFile = join(folder, 'cluster.key');
    writeFileSync(keyFile, randomBytes(32));
    chmodSync(keyFile, 0o600);

    const client = new Etcd3({ hosts: etcd.endpoint });
    onCleanup(() => client.close());
    const namespace = client.namespace(`${prefix}/`);
    // The test campaigns first and holds the election: pebble's httpPort must be known before
    // the orderer can order, and which balancer is next in line is only known from etcd.
    const placeholder = namespace.election(`orderer/${domains[0]}`, 3).campaign('test placeholder');
    await placeholder.wait();

    const pebblePort = await freePort();
    // The balancers trust pebble's HTTPS CA from their start (NODE_EXTRA_CA_CERTS).
    const https = await pebbleHttps();
    const caFile = join(folder, 'pebble-https-ca.pem');
    writeFileSync(caFile, https.ca.certPem);
    const directory = `https://127.0.0.1:${pebblePort}/dir`;
    const start = async (name: string): Promise<Balancer> => {
      const plainPort = await freePort();
      const tlsPort = await freePort();
      const configFile = join(folder, `${name}.yaml`);
      writeFileSync(
        configFile,
        [
          'workers: 1',
          `backends: [${backend.address}]`,
          'listeners:',
          `  - listen: 127.0.0.1:${plainPort}`,
          `  - listen: 127.0.0.1:${tlsPort}`,
          '    tls:',
          '      acme:',
          '        email: ops@shop.test',
          `        directory: ${directory}`,
          `        domains: [${domains.join(', ')}]`,
          `        storage: ${join(folder, `${name}-storage`)}`,
          '        cluster:',
          `          etcd: { endpoints: [${etcd.endpoint}], prefix: ${prefix}, leaseTtlSeconds: 3 }`,
          `          keyFile: ${keyFile}`,
          '',
        ].join('\n'),
      );
      const cli = new CliProcess(['start', '--config', configFile], { NODE_EXTRA_CA_CERTS: caFile });
      return { name, cli, plainPort, tlsPort };
    };
    const balancers = [await start('a'), await start('b')];
    for (const b of balancers) await b.cli.waitForLog('acme-started', () => true, 20_000);

    // Both wait behind the placeholder; etcd's queue (by create revision) says who is next.
    const queue = await waitUntil(
      'both balancers to campaign',
      async () => {
        const found = await namespace.getAll().prefix(`election/orderer/${domains[0]}/`).sort('Create', 'Ascend').strings();
        const values = Object.values(found);
        const [, next, after] = values;
        return values.length === 3 && next && after ? { next, after } : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    if (!queue) throw new Error('no election queue');
    const byIdentity = (identity: string | undefined): Balancer => {
      const found = balancers.find((b) => identity?.endsWith(` pid ${b.cli.child.pid}`));
      if (!found) throw new Error(`no balancer is ${identity}`);
      return found;
    };
    const leader = byIdentity(queue.next);
    const follower = byIdentity(queue.after);

    // Pebble validates on the balancer that will NOT order.
    const pebble = await startPebble({ httpPort: follower.plainPort, validitySeconds, port: pebblePort, https });
    await placeholder.resign();
    expect(await namespace.election(`orderer/${domains[0]}`).leader()).toBe(queue.next);
    await leader.cli.waitForLog('acme-leader', (line) => line.won === true);

    const first = await leader.cli.waitForLog('certificate', issued, 30_000);
    const taken = await follower.cli.waitForLog('certificate', (line) => line.source === 'cluster', 10_000);
    expect(taken.notAfter).toBe(first.notAfter);
    // Exactly one ordered: the follower never won, ordered, or failed.
    expect(follower.cli.logsOf('acme-leader')).toEqual([]);
    expect(follower.cli.logsOf('certificate').filter(issued)).toEqual([]);
    for (const b of balancers) expect(b.cli.logsOf('certificate-failed')).toEqual([]);
    // Pebble asked the follower's port for the token: it answered from etcd.
    const validations = pebble.daemon.output().match(/Attempting to validate w\/ HTTP: \S+/g) ?? [];
    expect(validations.length).toBeGreaterThan(0);
    for (const url of validations)
      expect(url).toMatch(new RegExp(`^Attempting to validate w/ HTTP: http://[a-z.]+:${follower.plainPort}/`));
    expect(pebble.daemon.output().match(/set VALID by completed challenge/g)).toHaveLength(domains.length);
    expect(pebble.daemon.output().match(/Issued certificate serial/g)).toHaveLength(1);

    // Both serve it on their TLS listener.
    const sharedSerial = await waitUntil(
      'both TLS listeners to serve the same issued certificate',
      async () => {
        const [a, b] = await Promise.all([servedSerial(leader.tlsPort), servedSerial(follower.tlsPort)]);
        return a !== '' && a === b ? a : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    const inEtcd = JSON.parse((await namespace.get(`certificates/${domains[0]}`).string()) ?? '{}') as {
      certPem: string;
      keyCipher: string;
    };
    expect(new X509Certificate(inEtcd.certPem).serialNumber).toBe(sharedSerial);
    expect(inEtcd.keyCipher).not.toContain('PRIVATE KEY');

    // Renewal: kill the orderer once its challenge is in etcd (it then waits for the
    // others' watches before telling pebble to validate).
    const watcher = await namespace.watch().prefix('challenges/').create();
    onCleanup(() => watcher.cancel());
    const killedAt = new Promise<string>((resolve) => {
      watcher.once('put', (kv) => {
        process.kill(leader.cli.child.pid ?? 0, 'SIGKILL');
        resolve(kv.key.toString());
      });
    });
    const token = await Promise.race([
      killedAt,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no renewal challenge within 60 s')), 60_000)),
    ]);
    expect(token).toMatch(/^challenges\/[\w-]+$/);
    const killed = await leader.cli.waitForExit(10_000);
    expect(killed.signal).toBe('SIGKILL');
    expect(leader.cli.logsOf('certificate').filter(issued)).toHaveLength(1);

    // The follower takes over when the lease ends, orders, and serves the renewed one.
    await follower.cli.waitForLog('acme-leader', (line) => line.won === true, 20_000);
    expect(await namespace.election(`orderer/${domains[0]}`).leader()).toBe(queue.after);
    const renewed = await follower.cli.waitForLog('certificate', issued, 30_000);
    expect(renewed.notAfter).not.toBe(first.notAfter);
    // Logged right after 'certificate', but possibly in the next stdout chunk.
    await follower.cli.waitForLog('certificate-renewed', () => true, 5_000);
    expect(follower.cli.logsOf('certificate-renewed')).toHaveLength(1);
    const renewedSerial = await waitUntil(
      'the follower to serve the renewed certificate',
      async () => {
        const serial = await servedSerial(follower.tlsPort);
        return serial !== '' && serial !== sharedSerial ? serial : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    const renewedInEtcd = JSON.parse((await namespace.get(`certificates/${domains[0]}`).string()) ?? '{}') as {
      certPem: string;
    };
    expect(new X509Certificate(renewedInEtcd.certPem).serialNumber).toBe(renewedSerial);

    // A balancer that joins while etcd holds a good certificate takes it without ordering.
    const joiner = await start('c');
    const joined = await joiner.cli.waitForLog('certificate', () => true, 20_000);
    expect(joined).toMatchObject({ source: 'storage', notAfter: renewed.notAfter });
    await waitUntil(
      'the joiner to serve the renewed certificate',
      async () => (await servedSerial(joiner.tlsPort)) === renewedSerial,
      {
        timeoutMs: 10_000,
        intervalMs: 100,
      },
    );
    expect(joiner.cli.logsOf('acme-leader')).toEqual([]);
    expect(joiner.cli.logsOf('certificate').filter(issued)).toEqual([]);

    // Pebble issued twice in all (the killed order was never finalized), to one account:
    // the follower ordered with the account key the leader had shared.
    expect(pebble.daemon.output().match(/Issued certificate serial/g)).toHaveLength(2);
    expect(pebble.daemon.output()).not.toContain('There are now 2 accounts');

    follower.cli.signal('SIGTERM');
    expect(await follower.cli.waitForExit(10_000)).toMatchObject({ code: 0, signal: null });
    expect(follower.cli.logs().filter((line) => line.level === 'error' || line.level === 'fatal')).toEqual([]);
  }, 180_000);
  it('starts while etcd is down; once etcd is back, refuses a tampered shared key, and takes a good one even while its own order is under way (and then fails)', async () => {
    const etcd = await startEtcd();
    await etcd.kill();
    const backend = await startHttpBackend('app');
    const folder = join(storageDir(), '..');
    const keyFile = join(folder, 'cluster.key');
    const clusterKey = randomBytes(32);
    writeFileSync(keyFile, clusterKey);
    chmodSync(keyFile, 0o600);
    const tlsPort = await freePort();
    const configFile = join(folder, 'lb.yaml');
    // The "ACME server" holds every connection until the test lets go, then closes it: the
    // balancer's own order is under way while the shared certificate arrives, then fails.
    const held = new Set<Socket>();
    const directoryServer = createServer((socket) => {
      held.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => directoryServer.listen(0, '127.0.0.1', resolve));
    onCleanup(() => {
      for (const socket of held) socket.destroy();
      directoryServer.close();
    });
    const directoryPort = (directoryServer.address() as AddressInfo).port;
    writeFileSync(
      configFile,
      [
        'workers: 1',
        `backends: [${backend.address}]`,
        'listeners:',
        '  - listen: 127.0.0.1:0',
        `  - listen: 127.0.0.1:${tlsPort}`,
        '    tls:',
        '      acme:',
        '        email: ops@shop.test',
        `        directory: https://127.0.0.1:${directoryPort}/dir`,
        `        domains: [${domains.join(', ')}]`,
        `        storage: ${join(folder, 'storage')}`,
        '        cluster:',
        `          etcd: { endpoints: [${etcd.endpoint}], prefix: ${prefix}, timeoutMs: 1000, leaseTtlSeconds: 3 }`,
        `          keyFile: ${keyFile}`,
        '',
      ].join('\n'),
    );
    const cli = new CliProcess(['start', '--config', configFile]);
    await cli.waitForLog('listening', () => true, 20_000);
    expect(cli.logsOf('acme-cluster-error')[0]).toMatchObject({ level: 'warn', during: 'reading the shared certificate' });

    const fixtures = await createTlsFixtures({ names: domains });
    onCleanup(() => fixtures.cleanup());
    const leaf = fixtures.ecdsa;
    const shared = (keyCipher: string): string =>
      JSON.stringify({ domains, certPem: leaf.chainPem, keyCipher, notAfter: new Date(Date.now() + 86_400_000).toISOString() });
    await etcd.restart();
    const client = new Etcd3({ hosts: etcd.endpoint });
    onCleanup(() => client.close());
    const namespace = client.namespace(`${prefix}/`);
    const key = `certificates/${domains[0]}`;

    // Sealed with another cluster key: refused, said so, nothing served.
    await namespace
      .put(key)
      .value(shared(sealKey(leaf.keyPem, randomBytes(32), domains[0] ?? '')))
      .exec();
    const refused = await cli.waitForLog('acme-cluster-error', (line) => String(line.error).includes('does not open'), 20_000);
    expect(refused.error).toBe(
      `the sealed key for ${domains[0]} does not open: the cluster key differs from the one that sealed it, the data was changed, or it was sealed for another name`,
    );
    expect(await servedSerial(tlsPort)).toBe('');

    // Regression (a shared certificate that arrived during the orderer's own order was
    // dropped when that order failed): sealed with ours, put while the order is held.
    await cli.waitForLog('acme-leader', (line) => line.won === true, 30_000);
    await waitUntil('the balancer to order', () => held.size > 0, { timeoutMs: 10_000 });
    await namespace
      .put(key)
      .value(shared(sealKey(leaf.keyPem, clusterKey, domains[0] ?? '')))
      .exec();
    for (const socket of held) socket.destroy();
    await cli.waitForLog('certificate', (line) => line.source === 'cluster', 10_000);
    const msgs = cli.logs().map((line) => line.msg);
    expect(msgs.indexOf('certificate-failed')).toBeGreaterThan(-1);
    expect(msgs.indexOf('certificate-failed')).toBeLessThan(msgs.indexOf('certificate'));
    const expected = new X509Certificate(leaf.certPem).serialNumber;
    await waitUntil('the shared certificate to be served', async () => (await servedSerial(tlsPort)) === expected, {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    expect(readFileSync(join(folder, 'storage', 'certificates', domains[0] ?? '', 'private-key.pem'), 'utf8')).toBe(leaf.keyPem);

    cli.signal('SIGTERM');
    expect(await cli.waitForExit(10_000)).toMatchObject({ code: 0, signal: null });
  }, 120_000);
});
