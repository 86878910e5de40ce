// Several balancers in front of the same backends: with a hashing strategy, every
// balancer that sees the same backend set sends the same key to the same backend, whatever
// order the backends were given in and whatever ids they got (the data path hashes on
// the backend address: rendezvous hashing).
import { afterEach, describe, expect, it } from 'vitest';

import { BackendSync } from '../../src/discovery/index.js';
import { startBalancer } from '../helpers/balancer.js';
import { runCleanups } from '../helpers/cleanup.js';
import { get, startNamedBackend } from './support.js';

afterEach(runCleanups);

const KEYS = 200;

async function fourBackends() {
  return Promise.all(['h1', 'h2', 'h3', 'h4'].map((name) => startNamedBackend('127.0.0.1', name)));
}

/** Which backend each key reaches through the balancer on `port`. */
async function mapping(port: number, request: (port: number, key: number) => ReturnType<typeof get>): Promise<string[]> {
  const out: string[] = [];
  // A few at a time: bounded and quick.
  for (let start = 0; start < KEYS; start += 10) {
    const batch = await Promise.all(Array.from({ length: 10 }, (_, i) => request(port, start + i)));
    for (const { status, backend } of batch) {
      expect(status).toBe(200);
      out.push(backend);
    }
  }
  return out;
}

describe('consistent hashing across balancers', () => {
  it.each([
    ['uri-hash', (port: number, key: number) => get(port, `/objects/key-${key}`)],
    ['header-hash', (port: number, key: number) => get(port, '/', { 'x-session-id': `session-${key}` })],
  ] as const)(
    '%s: 200 keys reach the same backend through two balancers with the backends in different orders',
    async (strategy, request) => {
      const [h1, h2, h3, h4] = await fourBackends();
      const one = await startBalancer({ strategy, workers: 2, backends: [h1!.address, h2!.address, h3!.address, h4!.address] });
      const two = await startBalancer({ strategy, workers: 1, backends: [h4!.address, h2!.address, h1!.address, h3!.address] });
      const viaOne = await mapping(one.port, request);
      const viaTwo = await mapping(two.port, request);
      expect(viaTwo).toEqual(viaOne);
      // The keys really are spread (the test would prove little if all went to one backend).
      const spread = new Map<string, number>();
      for (const name of viaOne) spread.set(name, (spread.get(name) ?? 0) + 1);
      expect(spread.size).toBe(4);
      for (const count of spread.values()) expect(count).toBeGreaterThan(KEYS / 10);
      // And a key keeps its backend on repeated requests.
      expect(await mapping(one.port, request)).toEqual(viaOne);
    },
  );

  it('balancers whose sets came from discovery in different orders (different ids) agree', async () => {
    const [h1, h2, h3, h4] = await fourBackends();
    const one = await startBalancer({ strategy: 'uri-hash', backends: [h1!.address, h2!.address, h3!.address, h4!.address] });
    // The second starts elsewhere and gets the same set by discovery, in another order,
    // after churn: its backends have other ids than the first's.
    const two = await startBalancer({ strategy: 'uri-hash', backends: [h3!.address] });
    const sync = new BackendSync(two);
    await sync.apply([{ address: h2!.address }, { address: h4!.address }]);
    await sync.apply([{ address: h4!.address }, { address: h1!.address }, { address: h2!.address }, { address: h3!.address }]);
    expect(two.backends().map((b) => b.id)).not.toEqual(one.backends().map((b) => b.id));
    const request = (port: number, key: number) => get(port, `/objects/key-${key}`);
    expect(await mapping(two.port, request)).toEqual(await mapping(one.port, request));

    // When a backend leaves both, only its keys move, and they move the same way on both.
    const before = await mapping(one.port, request);
    await Promise.all([
      one.removeBackend(h2!.address),
      sync.apply([{ address: h1!.address }, { address: h3!.address }, { address: h4!.address }]),
    ]);
    const afterOne = await mapping(one.port, request);
    expect(await mapping(two.port, request)).toEqual(afterOne);
    afterOne.forEach((name, key) => {
      if (before[key] !== 'h2') expect(name).toBe(before[key]);
      else expect(name).not.toBe('h2');
    });
  });
});
