// Debian's pebble (an ACME test server) and pebble-challtestsrv (its DNS: every name is
// 127.0.0.1) on loopback ports, started for a test and killed by PID after it. Pebble's own
// HTTPS certificate is made at test time by the TLS fixtures; its CA is trusted only by
// the AcmeManager of the test (`directoryCa`), never by the process.
import { writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';

import { type Daemon, freePort, requireProgram, startDaemon, tempDir } from '../discovery/support.js';
import { onCleanup } from '../helpers/cleanup.js';
import { createTlsFixtures } from '../helpers/tls-fixtures.js';
import { waitUntil } from '../helpers/wait.js';

export interface Pebble {
  /** The ACME directory URL. */
  directory: string;
  /** The CA of pebble's HTTPS certificate (not of the certificates it issues). */
  caPem: string;
  daemon: Daemon;
  kill(): Promise<void>;
  /** Starts pebble again on the same ports (a fresh pebble: accounts and orders are gone). */
  restart(): Promise<void>;
}

export interface PebbleOptions {
  /** The port pebble validates HTTP-01 on: the balancer's plain listener. */
  httpPort: number;
  /** The port pebble validates TLS-ALPN-01 on: the balancer's TLS listener (httpPort when left out). */
  tlsPort?: number;
  /** Lifetime of the certificates it issues, in seconds. */
  validitySeconds?: number;
  /** The port of its directory, when a configuration must name it before pebble starts; a free one otherwise. */
  port?: number;
  /** Pebble's own HTTPS certificate, when its CA must be known before pebble starts; made here otherwise. */
  https?: PebbleHttps;
}

export type PebbleHttps = Awaited<ReturnType<typeof createTlsFixtures>>;

/** An HTTPS certificate for pebble on 127.0.0.1, removed after the test. */
export async function pebbleHttps(): Promise<PebbleHttps> {
  const tls = await createTlsFixtures({ names: ['localhost'], ips: ['127.0.0.1'] });
  onCleanup(() => tls.cleanup());
  return tls;
}

async function startChallTestSrv(): Promise<string> {
  const dnsPort = await freePort('127.0.0.1', true);
  const managementPort = await freePort();
  const address = `127.0.0.1:${dnsPort}`;
  const daemon = startDaemon(
    requireProgram('pebble-challtestsrv'),
    // DNS only, A records only: every name resolves to 127.0.0.1, where the balancer is.
    [
      '-dns01',
      address,
      '-http01',
      '',
      '-https01',
      '',
      '-tlsalpn01',
      '',
      '-defaultIPv6',
      '',
      '-management',
      `127.0.0.1:${managementPort}`,
    ],
    'pebble-challtestsrv',
  );
  await waitUntil(
    'pebble-challtestsrv to listen',
    () => {
      if (daemon.exited) throw new Error(`pebble-challtestsrv exited: ${daemon.output()}`);
      return daemon.output().includes('Starting management server');
    },
    { timeoutMs: 10_000, intervalMs: 50 },
  );
  return address;
}

function directoryAnswers(url: string, caPem: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { ca: caPem, agent: false, timeout: 1_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export async function startPebble(options: PebbleOptions): Promise<Pebble> {
  const program = requireProgram('pebble');
  const dir = tempDir('pebble');
  const tls = options.https ?? (await pebbleHttps());
  const dns = await startChallTestSrv();
  const port = options.port ?? (await freePort());
  const managementPort = await freePort();
  const configFile = join(dir, 'pebble.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${port}`,
        managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: tls.ecdsa.chainFile,
        privateKey: tls.ecdsa.keyFile,
        httpPort: options.httpPort,
        tlsPort: options.tlsPort ?? options.httpPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
        ...(options.validitySeconds === undefined ? {} : { certificateValidityPeriod: options.validitySeconds }),
      },
    }),
  );
  const directory = `https://127.0.0.1:${port}/dir`;
  const launch = async (): Promise<Daemon> => {
    // No random sleep before validating, no randomly refused nonces, and no reuse of a
    // valid authorization: every order asks the balancer for its challenge again.
    const env = { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' };
    const daemon = startDaemon(program, ['-config', configFile, '-dnsserver', dns], 'pebble', env);
    await waitUntil(
      `pebble at ${directory}`,
      async () => {
        if (daemon.exited) throw new Error(`pebble exited: ${daemon.output()}`);
        return directoryAnswers(directory, tls.ca.certPem);
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    return daemon;
  };
  const pebble: Pebble = {
    directory,
    caPem: tls.ca.certPem,
    daemon: await launch(),
    kill: () => pebble.daemon.kill(),
    restart: async () => {
      await pebble.daemon.kill();
      pebble.daemon = await launch();
    },
  };
  return pebble;
}
