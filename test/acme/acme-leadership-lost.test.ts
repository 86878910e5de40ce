// Regression (acme-order-backoff-after-leadership-lost): a cluster orderer whose lease
// lapsed in the middle of an order (seen under load in the two-balancer test) counted it
// as a failed order and waited its backoff (52 s there) even when it won the election again
// a moment later. Losing the leadership is no fault of the CA's: no backoff, and the order
// runs at once when this balancer may order again. Real pebble; the coordinator is the
// manager's own interface, answered here the way acme-cluster.ts answers it.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { OrderCoordinator } from '../../src/acme/order-coordinator.js';
import { ensureBuilt } from '../helpers/cli.js';
import { runCleanups } from '../helpers/cleanup.js';
import { waitUntil } from '../helpers/wait.js';
import { startPebble } from './pebble.js';
import { domains, managerFor, startEdge, storageDir } from './support.js';

beforeAll(ensureBuilt, 150_000);
afterEach(runCleanups);

describe('an orderer that loses its lease mid-order', () => {
  it('acme-order-backoff-after-leadership-lost: no backoff, and orders at once when it leads again', async () => {
    const { lb } = await startEdge();
    const pebble = await startPebble({ httpPort: lb.port });
    let leader = true;
    let firstAttempt = true;
    const answers = new Map<string, string>();
    const coordinator: OrderCoordinator = {
      mayOrder: () => leader,
      publishChallenge: async (token, keyAuthorization) => {
        // The first challenge of the first order finds the lease gone, as AcmeCluster does.
        if (firstAttempt) {
          firstAttempt = false;
          leader = false;
          throw new Error('no longer the orderer of the cluster');
        }
        answers.set(token, keyAuthorization);
        lb.setAcmeChallenges(Object.fromEntries(answers));
      },
      withdrawChallenge: async (token) => {
        answers.delete(token);
        lb.setAcmeChallenges(Object.fromEntries(answers));
      },
      shareCertificate: async () => {},
      accountKey: (_directory, local) => local(),
      close: () => {},
    };
    const { manager, recorded } = managerFor(lb, {
      config: { email: 'ops@shop.test', directory: pebble.directory, domains, storage: storageDir(), challenge: 'http-01' },
      directoryCa: pebble.caPem,
      coordinator,
    });
    await manager.start();
    await waitUntil('the failed order', () => recorded.of('certificate-failed')[0], { timeoutMs: 30_000 });
    const [failed] = recorded.of('certificate-failed');
    expect(failed?.error.message).toBe('no longer the orderer of the cluster');
    expect(failed?.retryInMs).toBe(0);
    expect(failed?.failures).toBe(0);
    expect(manager.status().failures).toBe(0);
    expect(recorded.of('certificate')).toEqual([]);

    // The lease is won again: the order runs now, not after a backoff.
    leader = true;
    manager.reconsider();
    await waitUntil('the certificate', () => recorded.of('certificate')[0], { timeoutMs: 30_000 });
    expect(recorded.of('certificate')[0]?.source).toBe('issued');
    expect(recorded.of('certificate-failed')).toHaveLength(1);
  }, 90_000);
});
