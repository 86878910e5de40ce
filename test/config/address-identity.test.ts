// One address, many spellings: the balancer's duplicate checks, its lookups by address
// and reconfigure's matching all go by config/address.ts's addressKey, so `[0:0::1]:9001`
// is `[::1]:9001`, `localhost.:9001` is `localhost:9001`, and case does not matter.
import { afterEach, describe, expect, it } from 'vitest';

import { LbConfigError, createBalancer } from '../../src/index.js';
import { startBalancer } from '../helpers/balancer.js';
import { runCleanups } from '../helpers/cleanup.js';

afterEach(runCleanups);

/** The LbConfigError `attempt` rejects or throws with. */
async function refusal(attempt: () => unknown): Promise<LbConfigError> {
  let error: unknown;
  try {
    await attempt();
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeInstanceOf(LbConfigError);
  return error as LbConfigError;
}

// Nothing needs to listen on these: no request is sent and no health check runs.
const spellings: Array<[what: string, first: string, again: string]> = [
  ['IPv6 written another way', '[::1]:9001', '[0:0::1]:9001'],
  ['IPv6 in full, upper case', '[::1]:9001', '[0:0:0:0:0:0:0:0001]:9001'],
  ['a host name with a trailing dot', 'localhost:9001', 'localhost.:9001'],
  ['a host name in another case', 'localhost:9001', 'LocalHost:9001'],
];

describe('addBackend refuses an address that is already a backend, however it is spelled', () => {
  for (const [what, first, again] of spellings) {
    it(`${what}: ${again} while ${first} exists`, async () => {
      const lb = await startBalancer({ backends: [first], workers: 1 });
      const error = await refusal(() => lb.addBackend(again));
      expect(error.issues).toEqual([{ path: 'address', message: `same address as backend #0 (${first})` }]);
      expect(lb.backends().map((b) => b.address)).toEqual([first]);
    });
  }
});

describe('the options refuse the same address twice, however it is spelled', () => {
  for (const [what, first, again] of spellings) {
    it(what, async () => {
      const error = await refusal(() => createBalancer({ backends: [first, again] }));
      expect(error.issues).toEqual([{ path: 'backends[1].address', message: 'same address as backends[0]' }]);
    });
  }
});

describe('a backend is found by any spelling of its address', () => {
  it('setWeight, setBackendState and removeBackend', async () => {
    const lb = await startBalancer({ backends: ['[::1]:9001', 'localhost:9002', '127.0.0.1:9003'], workers: 1 });
    expect(lb.setWeight('[0:0::1]:9001', 3)).toMatchObject({ id: 0, weight: 3 });
    expect(lb.setBackendState('LOCALHOST.:9002', 'maint')).toMatchObject({ id: 1, state: 'maint' });
    expect(await lb.removeBackend('127.0.0.1:09003')).toMatchObject({ id: 2 });
    expect(lb.backends().map((b) => b.address)).toEqual(['[::1]:9001', 'localhost:9002']);
  });

  it('reconfigure matches backends by address: another spelling is the same backend, kept with its id', async () => {
    const lb = await startBalancer({ backends: ['[::1]:9001', 'localhost:9002'], workers: 1 });
    const result = await lb.reconfigure({
      listen: lb.config.listeners[0]!.listen.text,
      workers: 1,
      backends: [{ address: '[0:0::1]:9001', weight: 2 }, 'LocalHost.:9002'],
    });
    expect(result).toMatchObject({ added: [], removed: [], changed: ['[::1]:9001 (weight 1 -> 2)'] });
    expect(lb.backends().map((b) => [b.id, b.weight])).toEqual([
      [0, 2],
      [1, 1],
    ]);
  });
});
