// Every test file must close every file descriptor it opens: sockets, servers, balancers
// (their worker threads' epoll and event fds and all their connections), child processes'
// pipes, browser and gRPC connections. This setup file (vitest.config.ts `setupFiles`) runs
// in each test file's process (pool 'forks': the balancer's worker threads run in it too)
// before the file's tests, and checks the file as a whole:
//
// - Its top-level beforeAll warms up the fds that Node/libuv create lazily once per
//   process and then keep for the life of the process, and takes the baseline. It runs
//   after the test file has been imported (vitest collects a file's tests first), so
//   whatever a test file opened at module top level would be in the baseline: tests open
//   things in hooks and tests, never at import.
// - The check is the cleanup function that beforeAll returns, not an afterAll. Vitest 4
//   runs a suite's afterAll hooks first (with the default sequence.hooks 'stack': newest
//   first, so the file's own afterAll hooks before any afterAll registered here; nested
//   describe blocks have finished before that), then the cleanups returned by its
//   beforeAll hooks (also newest first). This setup file's beforeAll is registered before
//   anything in the test file, so its cleanup runs after every afterAll and every other
//   returned cleanup of the file: the last thing that runs for it. A plain afterAll here
//   would run before the file's own beforeAll-returned cleanups and blame them.
//   vitest.config.ts pins sequence.hooks to 'stack' because this depends on it.
// - The check waits (closing is asynchronous: the balancer's workers close sockets on
//   their own threads, child processes' pipes close when they exit) until every fd open is
//   one that was open at the baseline, and otherwise fails the file with the new fds by
//   kind, each with what it points to (for a socket: protocol, ports, TCP state).
//
// No fd kind is tolerated. The process-lifetime fds are all created before the baseline:
// Node's own (stdio and the IPC channel to vitest, each libuv loop's epoll fd and eventfd,
// the signal pipes) exist when this runs, and the lazy ones are warmed up below.
// Tests with finer-grained fd expectations (a count at one point of a test) keep their own
// assertions next to what they test.
import { spawn } from 'node:child_process';
import { beforeAll } from 'vitest';
import { expectFdsBackToBaseline, fdSnapshot } from '../helpers/fd-count.js';

/** Generous: a balancer stopping with thousands of connections, or chromium exiting, on a busy machine. */
const SETTLE_TIMEOUT_MS = 10_000;

/**
 * Opens, once, the fds that libuv keeps for the life of the process (or of its main loop)
 * after the first use of a feature, so that a test that is the first to use it is not
 * blamed for them:
 *
 * - The first child process: libuv installs its SIGCHLD handler, which needs its signal
 *   pipes (one process-wide pipe pair guarding the signal handlers, one per loop that
 *   watches signals), and the first stream (pipe) created on a loop opens the loop's
 *   reserve fd, /dev/null held open to handle EMFILE on accept (`loop->emfile_fd`).
 * - The first `process.on('SIGxxx')`: the same signal pipes, reached without a child.
 *
 * In Node 20 under vitest's fork pool these already exist when a test file starts (the IPC
 * channel to vitest is a stream, and Node watches signals from startup), so this usually
 * opens nothing new; it makes the baseline independent of that. Per-thread resources (a
 * worker_threads Worker's own loop fds) are closed when the thread exits and are not warmed.
 */
async function warmUpProcessLifetimeFds(): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`warm-up child exited with ${code}`))));
  });
  const ignore = (): void => undefined;
  process.on('SIGUSR2', ignore);
  process.off('SIGUSR2', ignore);
}

beforeAll(async () => {
  await warmUpProcessLifetimeFds();
  const baseline = fdSnapshot();
  return async () => {
    await expectFdsBackToBaseline(baseline, { timeoutMs: SETTLE_TIMEOUT_MS });
  };
}, SETTLE_TIMEOUT_MS + 20_000);
