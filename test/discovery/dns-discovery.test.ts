// DNS discovery against a real dnsmasq on loopback: A, AAAA and SRV pools follow the
// records as they change, within the TTL bounds; vanished backends drain before they go;
// a failing resolver keeps the last good set and reports errors.
import { Writable } from 'node:stream';

import { afterEach, describe, expect, it } from 'vitest';

import { parseConfigText } from '../../src/config/file.js';
import { DiscoveryError, type DiscoveryUpdate, startDnsDiscovery } from '../../src/discovery/index.js';
import { LbConfigError } from '../../src/index.js';
import { createLogger } from '../../src/logging/logger.js';
import { LbService } from '../../src/service/service.js';
import { settingsFrom } from '../../src/service/settings.js';
import { startBalancer } from '../helpers/balancer.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { expectQuietFor, waitUntil, withTimeout } from '../helpers/wait.js';
import { addressesOf, backendsSeen, get, startBackendsOnePort, startDnsmasq, startNamedBackend } from './support.js';

afterEach(runCleanups);

type Handle = ReturnType<typeof startDnsDiscovery>;

function follow(handle: Handle): { errors: DiscoveryError[]; updates: DiscoveryUpdate[] } {
  const seen = { errors: [] as DiscoveryError[], updates: [] as DiscoveryUpdate[] };
  handle.on('error', (e) => seen.errors.push(e));
  handle.on('update', (u) => seen.updates.push(u));
  onCleanup(() => handle.stop());
  return seen;
}

describe('A records', () => {
  it('adds backends that appear and drains then removes those that vanish, within the TTL bounds', async () => {
    const [b2, b3, b4] = await startBackendsOnePort(['127.0.0.2', '127.0.0.3', '127.0.0.4'], 800);
    const port = b2!.port;
    const dns = await startDnsmasq(['127.0.0.2 web.test', '127.0.0.3 web.test'], [], 1);
    // The balancer starts with a placeholder; discovery owns the pool and replaces it.
    const lb = await startBalancer({ backends: [`127.0.0.2:${port}`] });
    const removed: string[] = [];
    lb.on('backend-removed', (e) => removed.push(e.backend.address));
    const minTtlMs = 200;
    const maxTtlMs = 1_500;
    const discovery = startDnsDiscovery(lb, { name: 'web.test', type: 'A', port, resolver: dns.resolver, minTtlMs, maxTtlMs });
    const seen = follow(discovery);
    await withTimeout('first resolution', discovery.ready, 5_000);
    expect(seen.errors).toEqual([]);
    expect(addressesOf(lb)).toEqual([`127.0.0.2:${port}`, `127.0.0.3:${port}`]);
    expect(
      discovery
        .current()
        .map((b) => b.address)
        .sort(),
    ).toEqual([`127.0.0.2:${port}`, `127.0.0.3:${port}`]);
    // TTL 1 s is within 200..1500 ms: re-resolved every second.
    expect(discovery.nextDelayMs).toBe(1_000);
    expect(await backendsSeen(lb.port, 10)).toEqual(new Set([b2!.name, b3!.name]));

    // A third address appears: added within one TTL (plus slack), and takes traffic.
    let changedAt = Date.now();
    await dns.setHosts(['127.0.0.2 web.test', '127.0.0.3 web.test', '127.0.0.4 web.test']);
    await waitUntil('127.0.0.4 to be added', () => addressesOf(lb).includes(`127.0.0.4:${port}`), {
      timeoutMs: maxTtlMs + 2_000,
    });
    expect(Date.now() - changedAt).toBeLessThanOrEqual(maxTtlMs + 1_000);
    expect(seen.updates.at(-1)?.added).toEqual([`127.0.0.4:${port}`]);
    expect(await backendsSeen(lb.port, 12)).toEqual(new Set([b2!.name, b3!.name, b4!.name]));

    // 127.0.0.3 vanishes while requests are in flight on every backend: they finish (the
    // backend drains), then it is removed, exactly as removeBackend does.
    const total = (): number => b2!.requests + b3!.requests + b4!.requests;
    const before = total();
    const inFlight = Array.from({ length: 6 }, () => get(lb.port, '/slow'));
    await waitUntil('slow requests to reach the backends', () => total() >= before + 6, {
      timeoutMs: 3_000,
    });
    const b3Before = b3!.requests;
    changedAt = Date.now();
    await dns.setHosts(['127.0.0.2 web.test', '127.0.0.4 web.test']);
    await waitUntil('127.0.0.3 to leave the pool', () => !addressesOf(lb).includes(`127.0.0.3:${port}`), {
      timeoutMs: maxTtlMs + 2_000,
    });
    expect(Date.now() - changedAt).toBeLessThanOrEqual(maxTtlMs + 1_000);
    expect(seen.updates.at(-1)?.removed).toEqual([`127.0.0.3:${port}`]);
    const answers = await Promise.all(inFlight);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(answers.some((a) => a.backend === b3!.name)).toBe(true);
    await waitUntil('backend-removed for 127.0.0.3', () => removed.includes(`127.0.0.3:${port}`), { timeoutMs: 5_000 });
    expect(await backendsSeen(lb.port, 10)).toEqual(new Set([b2!.name, b4!.name]));
    expect(b3!.requests).toBe(b3Before);
    expect(seen.errors).toEqual([]);
  });

  it('keeps the last good set and reports errors while resolution fails, then recovers', async () => {
    const [b2, b3] = await startBackendsOnePort(['127.0.0.2', '127.0.0.3']);
    const port = b2!.port;
    const dns = await startDnsmasq(['127.0.0.2 web.test', '127.0.0.3 web.test'], [], 1);
    const lb = await startBalancer({ backends: [`127.0.0.2:${port}`] });
    const discovery = startDnsDiscovery(lb, {
      name: 'web.test',
      type: 'A',
      port,
      resolver: dns.resolver,
      minTtlMs: 200,
      maxTtlMs: 800,
      timeoutMs: 300,
      tries: 1,
    });
    const seen = follow(discovery);
    await discovery.ready;
    const good = [`127.0.0.2:${port}`, `127.0.0.3:${port}`];
    expect(addressesOf(lb)).toEqual(good);

    // The resolver goes away: errors are emitted, the pool is left as it was.
    await dns.kill();
    await waitUntil('an error event', () => seen.errors.length >= 2, { timeoutMs: 5_000 });
    expect(seen.errors[0]).toBeInstanceOf(DiscoveryError);
    expect(seen.errors[0]).toMatchObject({ source: 'dns', kind: 'resolve', code: 'LB_ERR_DISCOVERY' });
    expect(seen.errors[0]!.message).toMatch(/web\.test A: .*keeping the last good backends/);
    await expectQuietFor(
      'a change to the pool while DNS is down',
      1_000,
      () => addressesOf(lb).join() !== good.join() && addressesOf(lb).join(', '),
    );
    expect(
      discovery
        .current()
        .map((b) => b.address)
        .sort(),
    ).toEqual(good);
    expect(await backendsSeen(lb.port, 6)).toEqual(new Set([b2!.name, b3!.name]));
    // Retries back off (200, 400, 800 ms at most).
    expect(discovery.nextDelayMs).toBeLessThanOrEqual(800);

    // The name exists but has no address any more: also an error, the pool is kept.
    await dns.restart();
    await dns.setHosts(['127.0.0.9 other.test']);
    const errorsBefore = seen.errors.length;
    await waitUntil('an error for the empty answer', () => seen.errors.length > errorsBefore, { timeoutMs: 5_000 });
    expect(addressesOf(lb)).toEqual(good);

    // Back: a change made meanwhile is applied.
    await dns.setHosts(['127.0.0.3 web.test']);
    await waitUntil('the pool to follow the resolver again', () => addressesOf(lb).join() === `127.0.0.3:${port}`, {
      timeoutMs: 5_000,
    });
    expect(await backendsSeen(lb.port, 4)).toEqual(new Set([b3!.name]));
  });

  it('re-resolves on the TTL, clamped to minTtlMs and maxTtlMs', async () => {
    const [b2] = await startBackendsOnePort(['127.0.0.2']);
    const port = b2!.port;
    const long = await startDnsmasq(['127.0.0.2 web.test'], [], 30);
    const zero = await startDnsmasq(['127.0.0.2 web.test'], [], 0);
    // One balancer each: a discovery owns its balancer's whole pool.
    const lbLong = await startBalancer({ backends: [`127.0.0.2:${port}`] });
    const lbZero = await startBalancer({ backends: [`127.0.0.2:${port}`] });
    const capped = startDnsDiscovery(lbLong, {
      name: 'web.test',
      type: 'A',
      port,
      resolver: long.resolver,
      minTtlMs: 100,
      maxTtlMs: 700,
    });
    const floored = startDnsDiscovery(lbZero, {
      name: 'web.test',
      type: 'A',
      port,
      resolver: zero.resolver,
      minTtlMs: 600,
      maxTtlMs: 5_000,
    });
    follow(capped);
    follow(floored);
    await Promise.all([capped.ready, floored.ready]);
    expect(capped.nextDelayMs).toBe(700); // TTL 30 s, capped
    expect(floored.nextDelayMs).toBe(600); // TTL 0, raised to the minimum
    // Capped: a change shows up within maxTtlMs although the record says 30 s.
    await long.setHosts(['127.0.0.2 web.test', '127.0.0.3 web.test']);
    const start = Date.now();
    await waitUntil('the capped discovery to see the change', () => addressesOf(lbLong).length === 2, { timeoutMs: 3_000 });
    expect(Date.now() - start).toBeLessThanOrEqual(700 + 500);
  });

  it('follows AAAA records', async () => {
    const backend = await startNamedBackend('::1', 'v6');
    const dns = await startDnsmasq([`::1 web6.test`], [], 1);
    const lb = await startBalancer({ backends: ['127.0.0.1:1'] });
    const discovery = startDnsDiscovery(lb, {
      name: 'web6.test',
      type: 'AAAA',
      port: backend.port,
      resolver: dns.resolver,
      weight: 7,
    });
    const seen = follow(discovery);
    await discovery.ready;
    expect(seen.errors).toEqual([]);
    expect(lb.backends()).toMatchObject([{ address: `[::1]:${backend.port}`, weight: 7, host: '::1' }]);
    expect((await get(lb.port)).backend).toBe('v6');
  });
});

describe('fixed backends from a configuration file beside DNS discovery', () => {
  it('an address both in the file and in an AAAA answer is one backend, however the file spells it', async () => {
    const backend = await startNamedBackend('::1', 'v6');
    const dns = await startDnsmasq(['::1 web6.test'], [], 1);
    const loaded = parseConfigText(
      'lb.yaml',
      [
        'listen: 127.0.0.1:0',
        'workers: 1',
        'backends:',
        `  - "[0:0::1]:${backend.port}"`,
        'discovery:',
        '  dns:',
        '    name: web6.test',
        '    type: AAAA',
        `    port: ${backend.port}`,
        `    resolver: "${dns.resolver}"`,
        '    minTtlMs: 100',
        '    maxTtlMs: 200',
      ].join('\n'),
    );
    const logs: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    });
    const log = createLogger({ level: 'info', destination: sink });
    const service = await LbService.start(settingsFrom(loaded), { log });
    onCleanup(() => service.stop(0));
    const addresses = (): string[] => service.balancer.backends().map((b) => b.address);
    // Started with the file's entry only: the AAAA answer ([::1]) is the same address.
    expect(addresses()).toEqual([`[0:0::1]:${backend.port}`]);
    expect((await get(service.balancer.port)).backend).toBe('v6');
    // Nor does discovery add it while it follows the name (it re-resolves every 100-200 ms).
    await expectQuietFor(
      'a second backend for the same address',
      1_000,
      () => addresses().length !== 1 && addresses().join(', '),
    );
    expect(logs.filter((line) => line.includes('discovery-'))).toEqual([]);
  });
});

describe('SRV records', () => {
  it('uses the lowest priority group, maps weights (clamped to 1-256) and follows changes', async () => {
    const [b2, b3, b4] = await startBackendsOnePort(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    const port = b2!.port;
    const records = (entries: Array<[string, number, number]>): string[] =>
      entries.map(([target, priority, weight]) => `--srv-host=_http._tcp.web.test,${target},${port},${priority},${weight}`);
    const hosts = ['--host-record=t2.test,127.0.0.2', '--host-record=t3.test,127.0.0.3', '--host-record=t4.test,127.0.0.4'];
    const dns = await startDnsmasq(
      [],
      [
        ...hosts,
        ...records([
          ['t2.test', 10, 1000],
          ['t3.test', 10, 0],
          ['t4.test', 20, 50],
        ]),
      ],
      1,
    );
    const lb = await startBalancer({ backends: [`127.0.0.2:${port}`] });
    const discovery = startDnsDiscovery(lb, {
      name: '_http._tcp.web.test',
      type: 'SRV',
      resolver: dns.resolver,
      minTtlMs: 200,
      maxTtlMs: 1_000,
    });
    const seen = follow(discovery);
    await discovery.ready;
    expect(seen.errors).toEqual([]);
    // Priority 10 only; SRV weight 1000 -> 256, 0 -> 1. 127.0.0.4 (priority 20) is standby.
    expect(
      lb
        .backends()
        .map((b) => [b.address, b.weight])
        .sort(),
    ).toEqual([
      [`127.0.0.2:${port}`, 256],
      [`127.0.0.3:${port}`, 1],
    ]);
    expect(discovery.nextDelayMs).toBe(1_000);

    // New records (dnsmasq reads --srv-host only at start: restarted on the same port).
    await dns.restart([
      ...hosts,
      ...records([
        ['t3.test', 5, 30],
        ['t4.test', 5, 70],
        ['t2.test', 9, 10],
      ]),
    ]);
    await waitUntil('the new SRV set', () => addressesOf(lb).join() === [`127.0.0.3:${port}`, `127.0.0.4:${port}`].join(), {
      timeoutMs: 5_000,
    });
    expect(
      lb
        .backends()
        .map((b) => [b.address, b.weight])
        .sort(),
    ).toEqual([
      [`127.0.0.3:${port}`, 30],
      [`127.0.0.4:${port}`, 70],
    ]);
    expect(await backendsSeen(lb.port, 20)).toEqual(new Set([b3!.name, b4!.name]));

    // The lowest group's only target no longer resolves: the next group is used.
    await dns.restart([
      ...hosts.slice(1),
      ...records([
        ['t2.test', 1, 10],
        ['t4.test', 2, 10],
      ]),
    ]);
    await waitUntil('fallback to the priority 2 group', () => addressesOf(lb).join() === `127.0.0.4:${port}`, {
      timeoutMs: 5_000,
    });
    expect(lb.backends()[0]?.weight).toBe(10);
  });
});

describe('options', () => {
  it('rejects invalid options with LbConfigError naming each path', async () => {
    const lb = await startBalancer({ backends: ['127.0.0.1:1'] });
    const attempt = (options: Record<string, unknown>): LbConfigError => {
      try {
        startDnsDiscovery(lb, options as never);
      } catch (error) {
        expect(error).toBeInstanceOf(LbConfigError);
        return error as LbConfigError;
      }
      throw new Error('expected LbConfigError');
    };
    expect(attempt({ name: 'web.test', type: 'A' }).issues).toEqual([
      { path: 'discovery.dns.port', message: "an A pool needs the backends' port" },
    ]);
    expect(attempt({ name: 'web.test', type: 'MX', port: 80 }).issues[0]?.path).toBe('discovery.dns.type');
    expect(attempt({ name: 'web.test', type: 'A', port: 80, resolver: 'dns.example:53' }).issues[0]?.message).toMatch(
      /numeric IP/,
    );
    expect(attempt({ name: 'web.test', type: 'A', port: 80, minTtlMs: 5_000, maxTtlMs: 1_000 }).issues[0]).toEqual({
      path: 'discovery.dns.maxTtlMs',
      message: 'must be >= minTtlMs (5000), got 1000',
    });
    expect(attempt({ name: 'web.test', type: 'A', port: 80, weight: 300 }).issues[0]?.path).toBe('discovery.dns.weight');
  });
});
