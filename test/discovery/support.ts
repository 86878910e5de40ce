// Real servers for the discovery tests, all on loopback and all stopped by PID after each
// test: dnsmasq (DNS), etcd, and named backends (test/helpers' scripted backend) on
// 127.0.0.x addresses that share a port, so that A records can tell them apart by address
// alone.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { externalProgramEnv } from '../helpers/external-env.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { queryDns } from '../../src/discovery/dns-query.js';
import { onCleanup } from '../helpers/cleanup.js';
import { freePort } from '../helpers/free-port.js';
import { buildResponse, type HttpMessage } from '../helpers/http-message.js';
import { type Reply, ScriptedBackend } from '../helpers/scripted-backend.js';
import { waitUntil } from '../helpers/wait.js';
export { freePort };

/** Finds a program on PATH (as root, that includes the sbin directories daemons install to); undefined if absent. */
export function findProgram(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', name], {
    encoding: 'utf8',
    env: externalProgramEnv(),
  }).stdout.trim();
  return found || undefined;
}

/** Requires a program the discovery tests need; scripts/install-discovery-deps.sh installs them. */
export function requireProgram(name: string): string {
  const path = findProgram(name);
  if (!path) throw new Error(`'${name}' not found: run scripts/install-discovery-deps.sh`);
  return path;
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `lb-discovery-${prefix}-`));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A TCP port free on `host` (and, with `udp`, free for UDP too). */

/** A child process, killed by its PID (SIGKILL if SIGTERM is not enough) after the test. */
export interface Daemon {
  readonly pid: number;
  readonly child: ChildProcess;
  output(): string;
  /** Sends SIGTERM, then SIGKILL after 3 s; resolves once it has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  readonly exited: boolean;
}

export function startDaemon(program: string, args: string[], name: string, env: NodeJS.ProcessEnv = {}): Daemon {
  const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'], env: externalProgramEnv(env) });
  let output = '';
  let exited = false;
  const closed = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (output = (output + d).slice(-20_000)));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (output = (output + d).slice(-20_000)));
  child.once('error', (error) => (output += `\n[spawn error] ${error.message}`));
  if (child.pid === undefined) throw new Error(`cannot start ${name} (${program})`);
  const pid = child.pid;
  const daemon: Daemon = {
    pid,
    child,
    output: () => output,
    get exited() {
      return exited;
    },
    kill: async (signal = 'SIGTERM') => {
      if (exited) return;
      process.kill(pid, signal);
      const timer = setTimeout(() => {
        if (!exited) process.kill(pid, 'SIGKILL');
      }, 3_000);
      await closed;
      clearTimeout(timer);
    },
  };
  onCleanup(() => daemon.kill());
  return daemon;
}

// ---- dnsmasq -----------------------------------------------------------------------------

export interface Dnsmasq {
  port: number;
  /** `127.0.0.1:port`, for the `resolver` option. */
  resolver: string;
  daemon: Daemon;
  /** Rewrites the hosts file and sends SIGHUP (dnsmasq re-reads it). */
  setHosts(lines: string[]): Promise<void>;
  /** Stops this dnsmasq. */
  kill(): Promise<void>;
  /** Starts it again on the same port, with `extraArgs` replacing the previous ones if given. */
  restart(extraArgs?: string[]): Promise<void>;
}

/**
 * Starts dnsmasq on 127.0.0.1:<free port>, answering only from a hosts file (and any
 * --srv-host/--host-record in `extraArgs`), with `ttl` seconds on every local answer.
 * Waits until it answers `ready.test`.
 */
export async function startDnsmasq(hosts: string[], extraArgs: string[] = [], ttl = 1): Promise<Dnsmasq> {
  const program = requireProgram('dnsmasq');
  const dir = tempDir('dnsmasq');
  const hostsFile = join(dir, 'hosts');
  const write = (lines: string[]): void => writeFileSync(hostsFile, `127.0.0.1 ready.test\n${lines.join('\n')}\n`);
  write(hosts);
  const port = await freePort('127.0.0.1', true);
  let args = extraArgs;
  const launch = async (): Promise<Daemon> => {
    const daemon = startDaemon(
      program,
      [
        '--no-daemon',
        '--no-resolv',
        '--no-hosts',
        '--no-poll',
        `--addn-hosts=${hostsFile}`,
        '--listen-address=127.0.0.1',
        '--bind-interfaces',
        `--port=${port}`,
        `--local-ttl=${ttl}`,
        `--auth-ttl=${ttl}`,
        '--local=/test/',
        '--cache-size=0',
        // As root, dnsmasq would switch to user 'dnsmasq', who cannot read a 0700 temp dir.
        ...(process.getuid?.() === 0 ? ['--user=root'] : []),
        '--pid-file=',
        '--log-facility=-',
        ...args,
      ],
      'dnsmasq',
    );
    await waitUntil(
      `dnsmasq on port ${port} to answer (output: ${daemon.output()})`,
      async () => {
        if (daemon.exited) throw new Error(`dnsmasq exited: ${daemon.output()}`);
        await queryDns({ host: '127.0.0.1', port }, 'ready.test', 'A', { timeoutMs: 200, tries: 1 });
        return true;
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    return daemon;
  };
  const dns: Dnsmasq = {
    port,
    resolver: `127.0.0.1:${port}`,
    daemon: await launch(),
    setHosts: async (lines) => {
      write(lines);
      process.kill(dns.daemon.pid, 'SIGHUP');
      // dnsmasq logs the re-read; wait for it so the change is in force.
      const before = dns.daemon.output().split('read ').length;
      await waitUntil('dnsmasq to re-read its hosts file', () => dns.daemon.output().split('read ').length > before, {
        timeoutMs: 5_000,
      });
    },
    kill: () => dns.daemon.kill(),
    restart: async (extra) => {
      await dns.daemon.kill();
      if (extra) args = extra;
      dns.daemon = await launch();
    },
  };
  return dns;
}

// ---- etcd --------------------------------------------------------------------------------

export interface EtcdServer {
  /** `http://127.0.0.1:P` */
  endpoint: string;
  daemon: Daemon;
  kill(): Promise<void>;
  /** Starts it again with the same data directory and ports. */
  restart(): Promise<void>;
}

/** Starts a single-member etcd on loopback ports with its data in a temp dir; waits until healthy. */
export async function startEtcd(): Promise<EtcdServer> {
  const program = requireProgram('etcd');
  const dir = tempDir('etcd');
  const clientPort = await freePort();
  let peerPort = await freePort();
  while (peerPort === clientPort) peerPort = await freePort();
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const launch = async (): Promise<Daemon> => {
    const daemon = startDaemon(
      program,
      [
        '--name=lbtest',
        `--data-dir=${join(dir, 'data')}`,
        `--listen-client-urls=${endpoint}`,
        `--advertise-client-urls=${endpoint}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=lbtest=${peer}`,
        '--initial-cluster-state=new',
        '--log-level=warn',
        '--logger=zap',
      ],
      'etcd',
    );
    await waitUntil(
      `etcd at ${endpoint} to be healthy`,
      async () => {
        if (daemon.exited) throw new Error(`etcd exited: ${daemon.output()}`);
        const body = await httpGet(`${endpoint}/health`, 500);
        return body.includes('"health":"true"');
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    return daemon;
  };
  const etcd: EtcdServer = {
    endpoint,
    daemon: await launch(),
    kill: () => etcd.daemon.kill(),
    restart: async () => {
      await etcd.daemon.kill();
      etcd.daemon = await launch();
    },
  };
  return etcd;
}

function httpGet(url: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

// ---- backends ----------------------------------------------------------------------------

export interface NamedBackend {
  name: string;
  host: string;
  port: number;
  address: string;
  /** Requests received so far. */
  readonly requests: number;
}

/** Answers every request with its name (body and X-Backend); `/slow` after `slowMs`. */
function answerWithName(name: string, slowMs: number): (request: HttpMessage) => Reply {
  const bytes = buildResponse(200, name, { reason: 'OK', headers: { 'Content-Type': 'text/plain', 'X-Backend': name } });
  return (request) => ({ bytes, ...(request.target === '/slow' ? { delayMs: slowMs } : {}) });
}

function named(backend: ScriptedBackend, name: string, host: string): NamedBackend {
  return {
    name,
    host,
    port: backend.port,
    address: backend.address,
    get requests() {
      return backend.requests().length;
    },
  };
}

/**
 * Starts one backend per host (e.g. 127.0.0.2, 127.0.0.3), all on the same port. Each
 * answers with its name (and X-Backend); `/slow` takes `slowMs`. Closed after the test.
 */
export async function startBackendsOnePort(hosts: string[], slowMs = 800): Promise<NamedBackend[]> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePort(hosts[0]);
    const started: Array<{ backend: ScriptedBackend; host: string; name: string }> = [];
    try {
      for (const host of hosts) {
        const name = `b-${host}`;
        started.push({ backend: await ScriptedBackend.start(answerWithName(name, slowMs), { host, port, name }), host, name });
      }
      return started.map(({ backend, host, name }) => named(backend, name, host));
    } catch (error) {
      for (const { backend } of started) await backend.close();
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
  }
  throw new Error(`no port free on all of ${hosts.join(', ')}`);
}

/** One backend on `host`, on a free port, answering with `name`. Closed after the test. */
export async function startNamedBackend(host: string, name: string, slowMs = 800): Promise<NamedBackend> {
  const backend = await ScriptedBackend.start(answerWithName(name, slowMs), { host, name });
  return named(backend, name, host);
}

/** GET through the balancer; resolves with the status and the backend that answered. */
export function get(
  port: number,
  path = '/',
  headers: Record<string, string> = {},
): Promise<{ status: number; backend: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, backend: String(res.headers['x-backend'] ?? '') }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
  });
}

/** Which backends answer `count` requests through the balancer. */
export async function backendsSeen(port: number, count: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) {
    const { status, backend } = await get(port, `/n${i}`);
    if (status === 200) seen.add(backend);
  }
  return seen;
}

/** Addresses of the balancer's backends, sorted. */
export function addressesOf(lb: { backends(): Array<{ address: string }> }): string[] {
  return lb
    .backends()
    .map((b) => b.address)
    .sort();
}
