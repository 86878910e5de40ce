// keepalived in front of two lb-native hosts: the shipped example config and health-check
// script (scripts/keepalived/), run for real. Each "host" is a network namespace that the
// test creates and deletes itself (lbtest-<pid>-a/-b), linked through a third one
// (lbtest-<pid>-c, a bridge and the client). Addresses are from 192.0.2.0/24
// (TEST-NET-1) and exist only inside those namespaces. If this sandbox does not permit
// network namespaces, the failover test asserts the documented fallback instead: the
// example config passes `keepalived -t`.
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { externalProgramEnv } from '../helpers/external-env.js';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

import { startBalancer } from '../helpers/balancer.js';
import { tsRegisterPath } from '../helpers/child-node.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { waitUntil } from '../helpers/wait.js';
import { type Daemon, requireProgram, startDaemon, startNamedBackend, tempDir } from './support.js';

afterEach(runCleanups);

const root = fileURLToPath(new URL('../../', import.meta.url));
const exampleConfig = join(root, 'scripts/keepalived/keepalived.conf.example');
const checkScript = join(root, 'scripts/keepalived/check-lb-native.sh');
const hostFixture = fileURLToPath(new URL('./fixtures/lb-host.ts', import.meta.url));

const VIP = '192.0.2.100';

function run(program: string, args: string[], env: NodeJS.ProcessEnv = externalProgramEnv()): SpawnSyncReturns<string> {
  return spawnSync(program, args, { encoding: 'utf8', timeout: 15_000, env });
}

/** Runs the check script (optionally inside a namespace); resolves with its exit code and stderr. */
function check(url: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(checkScript, [], { env: externalProgramEnv({ LB_ADMIN_URL: url, LB_CHECK_TIMEOUT_MS: '1000' }) });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/** The example config, adapted to one test host: its interface, priority, router id and the script's real path. */
function configFor(host: 'a' | 'b', priority: number, iface = 'vrrp0'): string {
  let text = readFileSync(exampleConfig, 'utf8');
  const replace = (from: string | RegExp, to: string): void => {
    const found = typeof from === 'string' ? text.includes(from) : new RegExp(from.source).test(text);
    if (!found) throw new Error(`the example config no longer contains ${String(from)}`);
    text = text.replace(from, to);
  };
  replace('/opt/lb-native/scripts/keepalived/check-lb-native.sh', checkScript);
  replace(/\beth0\b/g, iface);
  replace(/priority 150\b/, `priority ${priority}`);
  replace(/router_id lb-native-1\b/, `router_id lbtest-${host}`);
  // The checkout may not be readable by 'nobody' (the example's choice); root is.
  replace(/script_user nobody/, 'script_user root');
  return text;
}

describe('check-lb-native.sh', () => {
  it('exits 0 with a usable backend, 1 with none, 2 when the admin API does not answer stats', async () => {
    const backend = await startNamedBackend('127.0.0.1', 'x');
    const lb = await startBalancer({ backends: [backend.address] });
    let answer: () => { status: number; body: string } = () => ({ status: 200, body: JSON.stringify(lb.stats()) });
    const admin = http.createServer((_req, res) => {
      const { status, body } = answer();
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(body);
    });
    await new Promise<void>((resolve) => admin.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => admin.close(() => resolve())));
    const url = `http://127.0.0.1:${(admin.address() as AddressInfo).port}/stats`;

    expect(await check(url)).toEqual({ code: 0, stderr: '' });
    lb.setBackendState(0, 'maint');
    expect(await check(url)).toEqual({ code: 1, stderr: 'check-lb-native: none of 1 backends is usable\n' });
    answer = () => ({
      status: 200,
      body: JSON.stringify({
        backends: [
          { state: 'ready', health: 'down' },
          { state: 'drain', health: 'up' },
        ],
      }),
    });
    expect((await check(url)).code).toBe(1);
    answer = () => ({
      status: 200,
      body: JSON.stringify({
        backends: [
          { state: 'ready', health: 'down' },
          { state: 'ready', health: 'unchecked' },
        ],
      }),
    });
    expect((await check(url)).code).toBe(0);
    answer = () => ({ status: 503, body: '{}' });
    expect(await check(url)).toMatchObject({ code: 2, stderr: expect.stringContaining('HTTP 503') });
    answer = () => ({ status: 200, body: '<html>' });
    expect(await check(url)).toMatchObject({ code: 2, stderr: expect.stringContaining('not JSON') });
    await new Promise<void>((resolve) => admin.close(() => resolve()));
    expect(await check(url)).toMatchObject({ code: 2, stderr: expect.stringContaining('ECONNREFUSED') });
  });
});

describe('keepalived.conf.example', () => {
  it('passes keepalived -t', () => {
    const keepalived = requireProgram('keepalived');
    const dir = tempDir('keepalived-t');
    const file = join(dir, 'keepalived.conf');
    // keepalived -t checks that the script exists: point it at the real one. (With a
    // non-root script_user, keepalived 2.2's config test kills itself with SIGTERM, so
    // the same substitution as the failover test is used.)
    // keepalived -t also wants the interface to exist: use one of this machine's.
    const iface = existingInterface();
    writeFileSync(file, configFor('a', 150, iface));
    const result = run('setsid', ['-w', keepalived, '-t', '-f', file]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    // And a broken copy fails, so the check above means something.
    writeFileSync(file, configFor('a', 150, iface).replace('priority 150', 'priority 999'));
    expect(run('setsid', ['-w', keepalived, '-t', '-f', file]).status).not.toBe(0);
  });
});

/** A network interface of this machine that VRRP could use (not loopback). */
function existingInterface(): string {
  const names = readdirSync('/sys/class/net')
    .filter((name) => name !== 'lo')
    .sort();
  if (names.length === 0) throw new Error('no network interface other than lo');
  return names.includes('eth0') ? 'eth0' : names[0]!;
}

/** Whether this sandbox lets us create network namespaces (root with CAP_SYS_ADMIN). */
function namespacesPermitted(ip: string): boolean {
  const probe = `lbtest-${process.pid}-probe`;
  const added = run(ip, ['netns', 'add', probe]);
  if (added.status !== 0) return false;
  run(ip, ['netns', 'del', probe]);
  return true;
}

describe('active/passive failover in network namespaces', () => {
  it(
    'moves the floating address (and the traffic) when the active host fails its check or its keepalived is killed',
    { timeout: 120_000 },
    async () => {
      const ip = requireProgram('ip');
      const keepalived = requireProgram('keepalived');
      if (!namespacesPermitted(ip)) {
        // Documented fallback (docs/deployment-ha.md): without namespaces only the
        // configuration can be checked here.
        const file = join(tempDir('keepalived-fallback'), 'keepalived.conf');
        writeFileSync(file, configFor('a', 150, existingInterface()));
        expect(run('setsid', ['-w', keepalived, '-t', '-f', file]).status).toBe(0);
        return;
      }

      const ns = (name: string): string => `lbtest-${process.pid}-${name}`;
      const sh = (...args: string[]): void => {
        const result = run(ip, args);
        if (result.status !== 0) throw new Error(`ip ${args.join(' ')}: ${result.stderr}`);
      };
      for (const name of ['a', 'b', 'c']) {
        sh('netns', 'add', ns(name));
        onCleanup(() => run(ip, ['netns', 'del', ns(name)]));
      }
      // c holds a bridge joining a and b, and is the client.
      sh('-n', ns('c'), 'link', 'add', 'br0', 'type', 'bridge');
      for (const [host, address] of [
        ['a', '192.0.2.1'],
        ['b', '192.0.2.2'],
      ] as const) {
        sh('-n', ns(host), 'link', 'add', 'vrrp0', 'type', 'veth', 'peer', 'name', `to-${host}`, 'netns', ns('c'));
        sh('-n', ns('c'), 'link', 'set', `to-${host}`, 'master', 'br0');
        sh('-n', ns('c'), 'link', 'set', `to-${host}`, 'up');
        sh('-n', ns(host), 'addr', 'add', `${address}/24`, 'dev', 'vrrp0');
        sh('-n', ns(host), 'link', 'set', 'vrrp0', 'up');
        sh('-n', ns(host), 'link', 'set', 'lo', 'up');
      }
      sh('-n', ns('c'), 'addr', 'add', '192.0.2.3/24', 'dev', 'br0');
      sh('-n', ns('c'), 'link', 'set', 'br0', 'up');
      sh('-n', ns('c'), 'link', 'set', 'lo', 'up');

      // An lb-native host in each of a and b: balancer on :8080, admin stand-in on 127.0.0.1:9100.
      const hosts: Record<'a' | 'b', Daemon> = {
        a: startDaemon(
          ip,
          ['netns', 'exec', ns('a'), process.execPath, '--import', tsRegisterPath, hostFixture, 'lb-a', '8080', '9100'],
          'lb-a',
        ),
        b: startDaemon(
          ip,
          ['netns', 'exec', ns('b'), process.execPath, '--import', tsRegisterPath, hostFixture, 'lb-b', '8080', '9100'],
          'lb-b',
        ),
      };
      for (const host of ['a', 'b'] as const) {
        await waitUntil(
          `lb-${host} to start (${hosts[host].output()})`,
          () => {
            if (hosts[host].exited) throw new Error(`lb-${host} exited: ${hosts[host].output()}`);
            return hosts[host].output().includes('ready');
          },
          { timeoutMs: 60_000 },
        );
      }

      const dir = tempDir('keepalived');
      const daemons: Partial<Record<'a' | 'b', Daemon>> = {};
      for (const [host, priority] of [
        ['a', 150],
        ['b', 100],
      ] as const) {
        const file = join(dir, `${host}.conf`);
        writeFileSync(file, configFor(host, priority));
        daemons[host] = startDaemon(
          ip,
          [
            'netns',
            'exec',
            ns(host),
            keepalived,
            '--dont-fork',
            '--log-console',
            '--log-detail',
            '--no-syslog',
            '--vrrp',
            '--dont-respawn',
            '-f',
            file,
            '-p',
            join(dir, `${host}.pid`),
            '-r',
            join(dir, `${host}.vrrp.pid`),
          ],
          `keepalived-${host}`,
        );
      }

      const holds = (host: 'a' | 'b'): boolean =>
        run(ip, ['-n', ns(host), '-o', 'addr', 'show', 'dev', 'vrrp0']).stdout.includes(`${VIP}/24`);
      const owner = (): string => `a: ${holds('a')}, b: ${holds('b')}`;
      /** Which lb answers on the floating address, asked from c. */
      const answerer = (): string =>
        run(ip, [
          'netns',
          'exec',
          ns('c'),
          process.execPath,
          '-e',
          `require('http').get('http://${VIP}:8080/', { timeout: 1000 }, (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => console.log(b)); }).on('error', () => console.log('unreachable')).on('timeout', function () { this.destroy(); })`,
        ]).stdout.trim();
      const logs = (): string =>
        `\n--- keepalived a ---\n${daemons.a?.output().slice(-3000)}\n--- keepalived b ---\n${daemons.b?.output().slice(-3000)}`;

      // a (priority 150) becomes active once its check passes.
      await waitUntil(`a to hold ${VIP}${logs()}`, () => holds('a') && !holds('b'), { timeoutMs: 20_000, intervalMs: 200 });
      await waitUntil('lb-a to answer on the floating address', () => answerer() === 'lb-a', {
        timeoutMs: 10_000,
        intervalMs: 200,
      });

      // a's only backend goes into maintenance: the check fails (fall 2 x interval 2 s), a
      // goes to FAULT and gives the address up; b takes it and the traffic.
      process.kill(hosts.a.pid, 'SIGUSR1');
      await waitUntil(`b to take ${VIP} (${owner()})${logs()}`, () => holds('b') && !holds('a'), {
        timeoutMs: 15_000,
        intervalMs: 200,
      });
      await waitUntil('lb-b to answer on the floating address', () => answerer() === 'lb-b', {
        timeoutMs: 10_000,
        intervalMs: 200,
      });

      // a is healthy again (rise 2): it is preferred, and takes the address back.
      process.kill(hosts.a.pid, 'SIGUSR2');
      await waitUntil(`a to take ${VIP} back (${owner()})${logs()}`, () => holds('a') && !holds('b'), {
        timeoutMs: 15_000,
        intervalMs: 200,
      });
      await waitUntil('lb-a to answer again', () => answerer() === 'lb-a', { timeoutMs: 10_000, intervalMs: 200 });

      // a's keepalived is killed (SIGKILL to its VRRP process; the parent, told not to
      // respawn it, exits): a stops advertising, b takes over after the master-down interval
      // (about 3 x advert_int). a's copy of the address stays, as after any crash of
      // keepalived alone, but clients follow b's gratuitous ARP.
      const vrrpPid = Number(readFileSync(join(dir, 'a.vrrp.pid'), 'utf8').trim());
      expect(vrrpPid).toBeGreaterThan(1);
      process.kill(vrrpPid, 'SIGKILL');
      await waitUntil(`b to take ${VIP} after a's keepalived died (${owner()})${logs()}`, () => holds('b'), {
        timeoutMs: 15_000,
        intervalMs: 200,
      });
      await waitUntil('lb-b to answer after the crash', () => answerer() === 'lb-b', { timeoutMs: 10_000, intervalMs: 200 });
      await waitUntil("a's keepalived to exit", () => daemons.a!.exited, { timeoutMs: 10_000 });
    },
  );
});
