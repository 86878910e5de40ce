// One list of things to undo after each test: balancers to stop, servers to close, sockets
// to destroy. Helpers register what they create; each test file calls
// `afterEach(runCleanups)`. Cleanups run newest first, and all of them run even if one fails.

type Cleanup = () => unknown;

const cleanups: Cleanup[] = [];

/** Registers `fn` to run after the current test. */
export function onCleanup(fn: Cleanup): void {
  cleanups.push(fn);
}

/** Runs and forgets every registered cleanup, newest first; rethrows the first failure. */
export async function runCleanups(): Promise<void> {
  let first: unknown;
  while (cleanups.length > 0) {
    const fn = cleanups.pop()!;
    try {
      await fn();
    } catch (err) {
      first ??= err;
    }
  }
  if (first !== undefined) throw first;
}
