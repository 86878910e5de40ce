// `lb-native start`: builds the options from the flags, starts the balancer (and the demo
// backends with --demo), logs its events, and stops it gracefully on SIGINT/SIGTERM.
import { type Balancer, createBalancer } from '../balancer.js';
import { formatAddress } from '../config/address.js';
import type { BalancerOptions } from '../config/schema.js';
import { type DemoBackends, startDemoBackends } from '../demo/demo-backends.js';
import { LbConfigError, LbListenError, LbResolveError } from '../errors.js';
import { type LogLevel, type StartArgs, describeConfigIssue, logLevels } from './args.js';

/** Exit statuses: 0 after a graceful stop, 2 for usage errors, 1 for runtime failures. */
export const exitCodes = { ok: 0, failure: 1, usage: 2 } as const;

const exitCodeOnForcedStop: Readonly<Record<string, number>> = { SIGINT: 130, SIGTERM: 143 };

/** Lines at or above the chosen level are printed: info and debug to stdout, the rest to stderr. */
export function createLogger(level: LogLevel) {
  const threshold = logLevels.indexOf(level);
  const at = (lineLevel: LogLevel, line: string) => {
    if (logLevels.indexOf(lineLevel) > threshold) return;
    const stream = lineLevel === 'error' || lineLevel === 'warn' ? process.stderr : process.stdout;
    stream.write(`lb-native: ${line}\n`);
  };
  return {
    error: (line: string) => at('error', line),
    warn: (line: string) => at('warn', line),
    info: (line: string) => at('info', line),
    debug: (line: string) => at('debug', line),
  };
}

type Logger = ReturnType<typeof createLogger>;

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Prints `lb-native: message` on stderr and returns the exit status. */
function fail(message: string, code: number): number {
  process.stderr.write(`lb-native: ${message}\n`);
  return code;
}

/** Runs `start` until a signal stops it; resolves to the exit status. */
export async function runStart(args: StartArgs): Promise<number> {
  const log = createLogger(args.logLevel);
  // Watch for signals from the start: one that arrives while starting stops the balancer
  // as soon as it is up, instead of killing the process half-started.
  const signals = watchSignals(log);
  let demo: DemoBackends | undefined;
  try {
    let options = args.options as unknown as BalancerOptions;
    if (args.demo) {
      demo = await startDemoBackends();
      // One worker unless told otherwise: each worker rotates on its own, so with one the
      // printed `for i in 1 2 3` loop visibly hits demo-backend-1, 2, 3 in turn.
      options = { workers: 1, ...options, backends: demo.backends.map((b) => b.address) };
    }

    let lb: Balancer = createBalancer(options);
    attachLogging(lb, log);

    try {
      await lb.start();
    } catch (error) {
      const demoMayMove = args.demo && !args.listenGiven;
      if (demoMayMove && error instanceof LbListenError && error.reason === 'address in use') {
        log.info(`${error.address} is in use; the demo balancer takes a free port instead`);
        lb = createBalancer({ ...options, listen: formatAddress(lb.config.listen.host, 0) });
        attachLogging(lb, log);
        await lb.start();
      } else {
        throw error;
      }
    }

    for (const b of demo?.backends ?? []) log.info(`${b.name} listening on ${b.address}`);
    const { workers } = lb.stats();
    const { strategy, backends, mode } = lb.config;
    const where = mode === 'tcp' ? `tcp ${formatAddress(lb.address, lb.port)}` : lb.url;
    const how = mode === 'http' ? '' : `${mode} mode, `;
    log.info(`listening on ${where} (${plural(workers, 'worker')}, ${how}${strategy} over ${plural(backends.length, 'backend')})`);
    log.debug(`options: ${JSON.stringify(lb.config)}`);
    if (args.demo) printDemoHints(lb);

    const signal = await signals.first;
    log.info(`${signal}: stopping; in-flight requests may finish (a second signal exits at once)`);
    await lb.stop();
    log.info(`stopped after ${plural(lb.stats().requests, 'request')}`);
    return exitCodes.ok;
  } catch (error) {
    return failForError(error, args);
  } finally {
    await demo?.close();
    signals.dispose();
  }
}

function failForError(error: unknown, args: StartArgs): number {
  if (error instanceof LbListenError) {
    return fail(`--listen ${error.address}: ${error.reason}`, exitCodes.failure);
  }
  if (error instanceof LbResolveError) {
    const message = `cannot resolve '${error.hostname}' (${error.reason})`;
    return fail(describeConfigIssue({ path: error.path, message }, args.sources), exitCodes.failure);
  }
  if (error instanceof LbConfigError) {
    const first = error.issues[0];
    return fail(first ? describeConfigIssue(first, args.sources) : error.message, exitCodes.usage);
  }
  const message = error instanceof Error ? error.message : String(error);
  return fail(message, exitCodes.failure);
}

function attachLogging(lb: Balancer, log: Logger): void {
  lb.on('backend-down', ({ backend, reason }) => log.warn(`backend ${backend.address} down: ${reason}`));
  lb.on('backend-up', ({ backend }) => log.info(`backend ${backend.address} up`));
  lb.on('backend-ejected', ({ backend, worker, reason, ejectionMs }) => {
    log.warn(`backend ${backend.address} ejected by worker ${worker} for ${ejectionMs} ms: ${reason}`);
  });
  lb.on('backend-recovered', ({ backend, worker }) => log.info(`backend ${backend.address} recovered (worker ${worker})`));
  lb.on('backend-drained', ({ backend, state }) => log.info(`backend ${backend.address} drained (${state})`));
  lb.on('backend-removed', ({ backend }) => log.info(`backend ${backend.address} removed`));
  lb.on('error', (error) => log.error(error.message));
}

/** The address curl should use: loopback for a wildcard listener. */
function curlTarget(lb: Balancer): string {
  const host = lb.address === '0.0.0.0' ? '127.0.0.1' : lb.address === '::' ? '::1' : lb.address;
  return `http://${formatAddress(host, lb.port)}/`;
}

function printDemoHints(lb: Balancer): void {
  const url = curlTarget(lb);
  const curl = url.includes('[') ? 'curl -g' : 'curl';
  process.stdout.write(
    [
      '',
      'Try it:',
      `  ${curl} ${url}`,
      `  for i in 1 2 3; do ${curl} -s ${url}; done`,
      '',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
}

/**
 * `first` resolves on the first SIGINT or SIGTERM; a second one exits at once (130 or 143)
 * without waiting for in-flight requests.
 */
function watchSignals(log: Logger): { first: Promise<NodeJS.Signals>; dispose(): void } {
  let received = 0;
  let resolveFirst!: (signal: NodeJS.Signals) => void;
  const first = new Promise<NodeJS.Signals>((resolve) => (resolveFirst = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    received += 1;
    if (received === 1) {
      resolveFirst(signal);
      return;
    }
    log.warn(`${signal} again: exiting without waiting for in-flight requests`);
    process.exit(exitCodeOnForcedStop[signal] ?? exitCodes.failure);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    first,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
