// Starts a balancer on 127.0.0.1 port 0 and stops it after the test.
import { createBalancer } from '../../src/index.js';
import { onCleanup } from './cleanup.js';
import { withTimeout } from './wait.js';

export type BalancerConfig = Parameters<typeof createBalancer>[0];
export type Balancer = ReturnType<typeof createBalancer>;

/**
 * Creates and starts a balancer listening on 127.0.0.1:0 (the kernel picks the port;
 * read it from `lb.port`), round-robin over `config.backends`, 2 workers unless the
 * config says otherwise. It is stopped by the cleanup after each test.
 */
export async function startBalancer(config: Partial<BalancerConfig> & Pick<BalancerConfig, 'backends'>): Promise<Balancer> {
  const lb = createBalancer({
    listen: '127.0.0.1:0',
    strategy: 'round-robin',
    workers: 2,
    ...config,
  } as BalancerConfig);
  // Bounded: a stop() that overstays its own deadline fails the test instead of hanging it.
  onCleanup(() => withTimeout('lb.stop({ deadlineMs: 2000 }) in cleanup', lb.stop({ deadlineMs: 2_000 }), 10_000));
  await lb.start();
  return lb;
}
