// BackendSync: diffing a discovered set against a balancer's backends and applying it
// through the balancer's public live-control API.
import { afterEach, describe, expect, it } from 'vitest';

import { BackendSync, planSync } from '../../src/discovery/index.js';
import type { BackendStatus } from '../../src/index.js';
import { startBalancer } from '../helpers/balancer.js';
import { runCleanups } from '../helpers/cleanup.js';
import { waitUntil } from '../helpers/wait.js';
import { addressesOf, backendsSeen, get, startNamedBackend } from './support.js';

afterEach(runCleanups);

const status = (id: number, address: string, weight = 1, state: BackendStatus['state'] = 'ready'): BackendStatus => ({
  id,
  address,
  host: '',
  port: 0,
  weight,
  state,
  health: 'unchecked',
});

describe('planSync', () => {
  it('adds the new, removes the vanished, changes weight or state only when asked', () => {
    const current = [status(0, '127.0.0.1:1'), status(1, '127.0.0.1:2', 5), status(2, 'WEB.test.:80', 1, 'maint')];
    const plan = planSync(current, [
      { address: '127.0.0.1:2' }, // no weight given: keeps 5
      { address: 'web.test:80', state: 'ready', weight: 3 },
      { address: '127.0.0.1:3', weight: 2 },
      { address: '127.0.0.1:3', weight: 9 }, // listed twice: the first counts
    ]);
    expect(plan).toEqual({
      add: [{ address: '127.0.0.1:3', weight: 2 }],
      remove: [{ id: 0, address: '127.0.0.1:1' }],
      update: [{ id: 2, address: 'WEB.test.:80', weight: 3, state: 'ready' }],
    });
  });

  it('leaves alone backends it does not manage', () => {
    const current = [status(0, '127.0.0.1:1'), status(1, '127.0.0.1:2')];
    const plan = planSync(current, [{ address: '127.0.0.1:3' }], (b) => b.id !== 0);
    expect(plan.remove).toEqual([{ id: 1, address: '127.0.0.1:2' }]);
  });

  it('matches an address however it is spelled (config/address.ts addressKey)', () => {
    const current = [status(0, '[0:0::1]:80'), status(1, 'Web.Example.:8080', 2)];
    const plan = planSync(current, [{ address: '[::1]:80' }, { address: 'web.example:8080', weight: 2 }], () => true);
    expect(plan).toEqual({ add: [], remove: [], update: [] });
  });
});

describe('BackendSync on a running balancer', () => {
  it('applies adds, weight and state changes and removals; never empties the pool', async () => {
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n) => startNamedBackend('127.0.0.1', n)));
    const lb = await startBalancer({ backends: [a!.address] });
    const sync = new BackendSync(lb);

    let result = await sync.apply([
      { address: b!.address, weight: 4 },
      { address: c!.address, state: 'maint' },
    ]);
    expect(result).toMatchObject({ added: [b!.address, c!.address], removed: [a!.address], changed: [], errors: [] });
    await result.drained;
    expect(lb.backends().map((s) => [s.address, s.weight, s.state])).toEqual([
      [b!.address, 4, 'ready'],
      [c!.address, 1, 'maint'],
    ]);
    expect(await backendsSeen(lb.port, 6)).toEqual(new Set(['b']));

    result = await sync.apply([
      { address: b!.address, weight: 2 },
      { address: c!.address, state: 'ready' },
    ]);
    expect(result).toMatchObject({ added: [], removed: [], changed: [b!.address, c!.address], errors: [] });
    expect(await backendsSeen(lb.port, 6)).toEqual(new Set(['b', 'c']));

    // An empty set changes nothing.
    result = await sync.apply([]);
    expect(result.errors.map((e) => e.message)).toEqual(['the discovered set is empty; keeping the current backends']);
    expect(addressesOf(lb)).toEqual([b!.address, c!.address].sort());

    // Nothing that was asked for could be added (a port the balancer rejects): nothing is removed.
    result = await sync.apply([{ address: '127.0.0.1:70000' }]);
    expect(result.added).toEqual([]);
    expect(result.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/^cannot add 127\.0\.0\.1:70000: .*port/),
      'none of the discovered backends could be added; keeping the current ones',
    ]);
    expect(addressesOf(lb)).toEqual([b!.address, c!.address].sort());
  });

  it("owns: 'discovered' leaves the balancer's other backends alone", async () => {
    const [fixed, d1, d2] = await Promise.all(['fixed', 'd1', 'd2'].map((n) => startNamedBackend('127.0.0.1', n)));
    const lb = await startBalancer({ backends: [fixed!.address] });
    const sync = new BackendSync(lb, { owns: 'discovered' });
    await sync.apply([{ address: d1!.address }, { address: d2!.address }]);
    expect(addressesOf(lb)).toEqual([fixed!.address, d1!.address, d2!.address].sort());
    const result = await sync.apply([{ address: d2!.address }]);
    expect(result.removed).toEqual([d1!.address]);
    await result.drained;
    expect(addressesOf(lb)).toEqual([fixed!.address, d2!.address].sort());
    expect((await get(lb.port)).status).toBe(200);
  });

  it('applies sets one at a time, in order', async () => {
    const backends = await Promise.all(['p', 'q', 'r'].map((n) => startNamedBackend('127.0.0.1', n)));
    const lb = await startBalancer({ backends: [backends[0]!.address] });
    const sync = new BackendSync(lb);
    const sets = [[0, 1], [1, 2], [2], [0, 2]].map((ids) => ids.map((i) => ({ address: backends[i]!.address })));
    await Promise.all(sets.map((set) => sync.apply(set)));
    await waitUntil('the last set', () => addressesOf(lb).join() === [backends[0]!.address, backends[2]!.address].sort().join());
  });
});
