// etcd discovery against a real etcd on loopback ports: keys under a prefix are the pool;
// puts and deletes apply live; losing etcd keeps the last good set and reports errors;
// once etcd is back the watch reconnects and applies what changes next.
import { Etcd3 } from 'etcd3';
import { afterEach, describe, expect, it } from 'vitest';

import { DiscoveryError, type DiscoveryUpdate, parseEtcdValue, startEtcdDiscovery } from '../../src/discovery/index.js';
import { LbConfigError } from '../../src/index.js';
import { startBalancer } from '../helpers/balancer.js';
import { onCleanup, runCleanups } from '../helpers/cleanup.js';
import { expectQuietFor, waitUntil, withTimeout } from '../helpers/wait.js';
import { addressesOf, backendsSeen, get, startEtcd, startNamedBackend } from './support.js';

afterEach(runCleanups);

function client(endpoint: string): Etcd3 {
  const etcd = new Etcd3({ hosts: endpoint, dialTimeout: 3_000 });
  onCleanup(() => etcd.close());
  return etcd;
}

type Handle = ReturnType<typeof startEtcdDiscovery>;

function follow(handle: Handle): { errors: DiscoveryError[]; updates: DiscoveryUpdate[] } {
  const seen = { errors: [] as DiscoveryError[], updates: [] as DiscoveryUpdate[] };
  handle.on('error', (e) => seen.errors.push(e));
  handle.on('update', (u) => seen.updates.push(u));
  onCleanup(() => withTimeout('etcd discovery stop', handle.stop(), 5_000));
  return seen;
}

describe('etcd values', () => {
  it('parses host:port and JSON {address, weight, state}', () => {
    expect(parseEtcdValue(' 127.0.0.1:8080\n')).toEqual({ address: '127.0.0.1:8080', weight: 1, state: 'ready' });
    expect(parseEtcdValue('[::1]:80')).toEqual({ address: '[::1]:80', weight: 1, state: 'ready' });
    expect(parseEtcdValue('{"address":"web1.internal:80","weight":3,"state":"drain"}')).toEqual({
      address: 'web1.internal:80',
      weight: 3,
      state: 'drain',
    });
    expect(() => parseEtcdValue('127.0.0.1')).toThrow(/not host:port/);
    expect(() => parseEtcdValue('127.0.0.1:0')).toThrow(/port 1-65535/);
    expect(() => parseEtcdValue('{"address":"a:1","weight":0}')).toThrow(/^weight: /);
    expect(() => parseEtcdValue('{"address":"a:1","state":"up"}')).toThrow(/^state: /);
    expect(() => parseEtcdValue('{nope')).toThrow(/not valid JSON/);
  });

  it('rejects invalid options with LbConfigError', async () => {
    const lb = await startBalancer({ backends: ['127.0.0.1:1'] });
    expect(() => startEtcdDiscovery(lb, { endpoints: [], prefix: '/lb/' })).toThrow(LbConfigError);
    expect(() => startEtcdDiscovery(lb, { endpoints: ['127.0.0.1:2379'], prefix: '' })).toThrow(/discovery\.etcd\.prefix/);
    expect(() =>
      startEtcdDiscovery(lb, { endpoints: ['127.0.0.1:2379'], prefix: '/x/', retryMinMs: 900, retryMaxMs: 100 }),
    ).toThrow(/discovery\.etcd\.retryMaxMs: must be >= retryMinMs/);
  });
});

describe('following a prefix', () => {
  it('applies puts and deletes live, with weights and states from JSON values', async () => {
    const etcd = await startEtcd();
    const kv = client(etcd.endpoint);
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n) => startNamedBackend('127.0.0.1', n)));
    await kv.put('/lb/web/a').value(a!.address);
    await kv.put('/lb/web/b').value(JSON.stringify({ address: b!.address, weight: 3 }));
    await kv.put('/lb/other/x').value('127.0.0.1:9'); // another prefix: not ours
    const lb = await startBalancer({ backends: [c!.address] });
    const removed: string[] = [];
    lb.on('backend-removed', (e) => removed.push(e.backend.address));
    const discovery = startEtcdDiscovery(lb, { endpoints: [etcd.endpoint], prefix: '/lb/web/' });
    const seen = follow(discovery);
    await withTimeout('first read', discovery.ready, 10_000);
    expect(seen.errors).toEqual([]);
    expect(
      lb
        .backends()
        .map((s) => [s.address, s.weight, s.state])
        .sort(),
    ).toEqual(
      [
        [a!.address, 1, 'ready'],
        [b!.address, 3, 'ready'],
      ].sort(),
    );
    await waitUntil('the initial backend to be removed', () => removed.includes(c!.address));

    // A put adds; a JSON put changes weight and state; a delete drains and removes.
    await kv.put('/lb/web/c').value(c!.address);
    await waitUntil('c to be added', () => addressesOf(lb).includes(c!.address), { timeoutMs: 5_000 });
    expect(await backendsSeen(lb.port, 10)).toEqual(new Set(['a', 'b', 'c']));
    await kv.put('/lb/web/b').value(JSON.stringify({ address: b!.address, weight: 7, state: 'maint' }));
    await waitUntil(
      'b in maint with weight 7',
      () => lb.backends().some((s) => s.address === b!.address && s.state === 'maint' && s.weight === 7),
      {
        timeoutMs: 5_000,
      },
    );
    expect(await backendsSeen(lb.port, 10)).toEqual(new Set(['a', 'c']));
    await kv.put('/lb/web/b').value(b!.address); // plain again: weight 1, ready
    await waitUntil(
      'b ready again',
      () => lb.backends().some((s) => s.address === b!.address && s.state === 'ready' && s.weight === 1),
      {
        timeoutMs: 5_000,
      },
    );
    await kv.delete().key('/lb/web/a');
    await waitUntil('a to be removed', () => removed.includes(a!.address), { timeoutMs: 5_000 });
    expect(addressesOf(lb)).toEqual([b!.address, c!.address].sort());

    // Several changes in one transaction are applied together, in one update (emitted
    // once c's drain has finished, which can be just after the backend list changed).
    const updatesBefore = seen.updates.length;
    await kv
      .if('/lb/web/b', 'Version', '>', 0)
      .then(kv.put('/lb/web/a').value(a!.address), kv.delete().key('/lb/web/c'))
      .commit();
    await waitUntil('a back and c gone', () => addressesOf(lb).join() === [a!.address, b!.address].sort().join(), {
      timeoutMs: 5_000,
    });
    const transactionUpdate = () => seen.updates.slice(updatesBefore).find((u) => u.removed.includes(c!.address));
    await waitUntil('the update for the transaction', () => transactionUpdate() !== undefined, { timeoutMs: 5_000 });
    expect(transactionUpdate()!.added).toEqual([a!.address]);
    expect(transactionUpdate()!.removed).toEqual([c!.address]);

    // A value that is not a backend is reported and ignored; the rest still applies.
    await kv.put('/lb/web/bad').value('not-an-address');
    await waitUntil('an error for the bad value', () => seen.errors.some((e) => e.kind === 'value'), { timeoutMs: 5_000 });
    expect(seen.errors.find((e) => e.kind === 'value')?.message).toMatch(
      /key '\/lb\/web\/bad': 'not-an-address' is not host:port/,
    );
    expect(addressesOf(lb)).toEqual([a!.address, b!.address].sort());

    // Deleting every key does not empty the pool.
    await kv.delete().prefix('/lb/web/');
    await waitUntil('an error for the empty prefix', () => seen.errors.some((e) => e.kind === 'empty'), { timeoutMs: 5_000 });
    expect(addressesOf(lb)).toEqual([a!.address, b!.address].sort());
    expect((await get(lb.port)).status).toBe(200);
  });

  it('keeps the last good set while etcd is down, then reconnects and applies changes', async () => {
    const etcd = await startEtcd();
    const kv = client(etcd.endpoint);
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n) => startNamedBackend('127.0.0.1', n)));
    await kv.put('/lb/web/a').value(a!.address);
    await kv.put('/lb/web/b').value(b!.address);
    const lb = await startBalancer({ backends: [a!.address] });
    const discovery = startEtcdDiscovery(lb, {
      endpoints: [etcd.endpoint],
      prefix: '/lb/web/',
      retryMinMs: 100,
      retryMaxMs: 500,
      timeoutMs: 1_000,
    });
    const seen = follow(discovery);
    await discovery.ready;
    const good = [a!.address, b!.address].sort();
    expect(addressesOf(lb)).toEqual(good);
    expect(discovery.connected).toBe(true);

    await etcd.kill();
    await waitUntil('a connection error', () => seen.errors.some((e) => e.kind === 'connection'), { timeoutMs: 10_000 });
    expect(discovery.connected).toBe(false);
    expect(seen.errors[0]).toMatchObject({ source: 'etcd', kind: 'connection' });
    expect(seen.errors[0]!.message).toMatch(/watch lost .*keeping the last good backends/);
    await expectQuietFor(
      'a change to the pool while etcd is down',
      1_500,
      () => addressesOf(lb).join() !== good.join() && addressesOf(lb).join(', '),
    );
    // Still retrying (errors keep coming, backed off), and nothing changed.
    expect(seen.errors.length).toBeGreaterThan(1);
    expect(
      discovery
        .current()
        .map((x) => x.address)
        .sort(),
    ).toEqual(good);
    expect(await backendsSeen(lb.port, 6)).toEqual(new Set(['a', 'b']));

    await etcd.restart();
    // Written at once, often before the watch is back: the etcd3 watcher reconnects by
    // itself and resumes from the last revision it saw (the prefix is not read again), so
    // this change still arrives.
    await kv.put('/lb/web/c').value(c!.address);
    await waitUntil('the watch to reconnect', () => discovery.connected && discovery.reconnects >= 1, {
      timeoutMs: 15_000,
      intervalMs: 50,
    });
    await kv.delete().key('/lb/web/a');
    await waitUntil(
      'the changes made after the restart',
      () => addressesOf(lb).join() === [b!.address, c!.address].sort().join(),
      {
        timeoutMs: 10_000,
      },
    );
    expect(await backendsSeen(lb.port, 6)).toEqual(new Set(['b', 'c']));
  });

  it('starts with etcd unreachable: reports errors, keeps the configured backends, then follows it', async () => {
    const etcd = await startEtcd();
    await etcd.kill();
    const [a, b] = await Promise.all(['a', 'b'].map((n) => startNamedBackend('127.0.0.1', n)));
    const lb = await startBalancer({ backends: [a!.address] });
    const discovery = startEtcdDiscovery(lb, {
      endpoints: [etcd.endpoint],
      prefix: '/lb/web/',
      retryMinMs: 100,
      retryMaxMs: 400,
      timeoutMs: 1_000,
    });
    const seen = follow(discovery);
    await discovery.ready;
    expect(seen.errors[0]).toMatchObject({ kind: 'connection' });
    expect(seen.errors[0]!.message).toMatch(/cannot read the prefix/);
    expect(addressesOf(lb)).toEqual([a!.address]);
    await etcd.restart();
    await client(etcd.endpoint).put('/lb/web/b').value(b!.address);
    await waitUntil('b from etcd', () => addressesOf(lb).join() === b!.address, { timeoutMs: 15_000 });
  });
});
