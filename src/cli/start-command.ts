// `lb-native start`: builds the configuration (a --config file with the flags over it, or
// the flags alone), starts the balancer with its admin server and discovery, logs on
// stdout (readable lines on a terminal, JSON lines otherwise), reloads on SIGHUP, and
// stops gracefully on SIGINT/SIGTERM.
//
// Problems found before anything starts (a bad flag, an invalid file) are printed on
// stderr, one line each, exit 2; failures while starting (address in use, a host name
// that does not resolve) one line on stderr, exit 1.
import { formatAddress } from '../config/address.js';
import { ConfigFileError, type LoadedConfig, loadConfigFile, validateConfigObject } from '../config/file.js';
import { type DemoBackends, startDemoBackends } from '../demo/demo-backends.js';
import { LbConfigError, LbError, LbListenError, LbResolveError, formatIssue } from '../errors.js';
import { LogOutput } from '../logging/log-output.js';
import { type Logger, createLogger } from '../logging/logger.js';
import { AdminStartError, LbService } from '../service/service.js';
import { type ServiceSettings, settingsFrom } from '../service/settings.js';
import { type FlagSource, type StartArgs, describeConfigIssue, flagIssueMessage } from './args.js';

import { exitCodes } from './exit-codes.js';

export { exitCodes };

const exitCodeOnForcedStop: Readonly<Record<string, number>> = { SIGINT: 130, SIGTERM: 143 };

/** Prints `lb-native: line` on stderr for each line and returns the exit status. */
function fail(lines: string | readonly string[], code: number): number {
  for (const line of typeof lines === 'string' ? [lines] : lines) process.stderr.write(`lb-native: ${line}\n`);
  return code;
}

/** Reads and validates the configuration the flags describe. Throws ConfigFileError or LbConfigError. */
async function loadSettings(
  args: StartArgs,
  demo: DemoBackends | undefined,
): Promise<{ settings: ServiceSettings; load?: () => Promise<LoadedConfig> }> {
  const configFile = args.configFile;
  if (configFile !== undefined) {
    const load = () =>
      loadConfigFile(configFile, {
        overrides: { values: args.options, describe: (issue) => flagIssueMessage(issue, args.sources) },
      });
    return { settings: settingsFrom(await load()), load };
  }
  let values = args.options;
  if (demo) {
    // One worker unless told otherwise: each worker rotates on its own, so with one the
    // printed `for i in 1 2 3` loop visibly hits demo-backend-1, 2, 3 in turn.
    values = { workers: 1, ...values, backends: demo.backends.map((b) => b.address) };
  }
  return { settings: settingsFrom(validateConfigObject(values, 'command line')) };
}

/** Runs `start` until a signal stops it; resolves to the exit status. */
export async function runStart(args: StartArgs): Promise<number> {
  const output = new LogOutput(1, args.logFormat);
  const log = createLogger({ level: args.logLevel, destination: output });
  // Watch for signals from the start: one that arrives while starting stops the balancer
  // as soon as it is up, instead of killing the process half-started. SIGHUP (whose
  // default would end the process) reloads, once running.
  const signals = watchSignals(log);
  let demo: DemoBackends | undefined;
  let service: LbService | undefined;
  let lineOf: ((path: string) => number | undefined) | undefined;
  try {
    if (args.demo) demo = await startDemoBackends();
    let loaded: Awaited<ReturnType<typeof loadSettings>>;
    try {
      loaded = await loadSettings(args, demo);
    } catch (error) {
      if (error instanceof ConfigFileError) return fail(error.lines, exitCodes.usage);
      // Flags alone: one line, the first problem (fix it, then the next shows).
      if (error instanceof LbConfigError) {
        const first = error.issues[0];
        return fail(first ? describeConfigIssue(first, args.sources) : error.message, exitCodes.usage);
      }
      throw error;
    }
    let { settings } = loaded;
    lineOf = settings.lineOf;
    const options = { log, output, ...(loaded.load ? { load: loaded.load } : {}) };
    try {
      service = await LbService.start(settings, options);
    } catch (error) {
      const demoMayMove = args.demo && !args.listenGiven;
      if (!(demoMayMove && error instanceof LbListenError && error.reason === 'address in use')) throw error;
      log.info({ address: error.address }, 'address in use; the demo balancer takes a free port instead');
      // The demo runs the one-listener form: that listener moves to port 0.
      const listeners = settings.balancer.listeners.map((listener) => ({
        ...listener,
        listen: { ...listener.listen, text: formatAddress(listener.listen.host, 0), port: 0 },
      }));
      settings = { ...settings, balancer: { ...settings.balancer, listeners } };
      service = await LbService.start(settings, options);
    }
    for (const b of demo?.backends ?? []) log.info({ name: b.name, address: b.address }, 'demo-backend');
    if (args.demo) printDemoHints(service);
    signals.onReload(() => {
      void service?.reload();
    });

    const signal = await signals.first;
    log.info({ signal }, 'stopping');
    await service.stop();
    log.info({ requests: service.balancer.stats().requests }, 'stopped');
    return exitCodes.ok;
  } catch (error) {
    return fail(startFailure(error, args.configFile ?? 'command line', args.sources, lineOf), exitCodes.failure);
  } finally {
    await demo?.close();
    signals.dispose();
  }
}

/** One line for a failure while starting, naming the flag, or the file, line and path, that caused it. */
function startFailure(
  error: unknown,
  origin: string,
  sources: readonly FlagSource[],
  lineOf: ((path: string) => number | undefined) | undefined,
): string[] {
  const where = (path: string): string => {
    const line = lineOf?.(path);
    return line === undefined ? origin : `${origin}:${line}`;
  };
  const byFlagOrFile = (path: string, message: string): string =>
    flagIssueMessage({ path, message }, sources) ??
    (origin === 'command line' ? formatIssue({ path, message }) : `${where(path)}: ${path}: ${message}`);
  if (error instanceof AdminStartError) return [byFlagOrFile(error.path, error.reason)];
  if (error instanceof LbListenError) {
    const flag = sources.find((s) => s.path === 'listen');
    return [
      flag || origin === 'command line'
        ? `--listen ${error.address}: ${error.reason}`
        : `${where('listen')}: listen ${error.address}: ${error.reason}`,
    ];
  }
  if (error instanceof LbResolveError) return [byFlagOrFile(error.path, `cannot resolve '${error.hostname}' (${error.reason})`)];
  if (error instanceof LbConfigError) return error.issues.map((issue) => byFlagOrFile(issue.path, issue.message));
  if (error instanceof LbError) return [error.message];
  return [error instanceof Error ? error.message : String(error)];
}

/** The address curl should use: loopback for a wildcard listener. */
function curlTarget(service: LbService): string {
  const lb = service.balancer;
  const host = lb.address === '0.0.0.0' ? '127.0.0.1' : lb.address === '::' ? '::1' : lb.address;
  return `${lb.config.listeners[0]?.tls ? 'https' : 'http'}://${formatAddress(host, lb.port)}/`;
}

/** Demo hints are for a person at a terminal: stderr, so stdout stays JSON lines. */
function printDemoHints(service: LbService): void {
  const url = curlTarget(service);
  const curl = url.includes('[') ? 'curl -g' : 'curl';
  process.stderr.write(
    [
      '',
      `lb-native demo: balancing ${service.balancer.backends().length} demo backends on ${url}`,
      'Try it:',
      `  ${curl} ${url}`,
      `  for i in 1 2 3; do ${curl} -s ${url}; done`,
      '',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
}

interface Signals {
  /** Resolves on the first SIGINT or SIGTERM. */
  first: Promise<NodeJS.Signals>;
  /** What SIGHUP does from now on; one received before is delivered now. */
  onReload(handler: () => void): void;
  dispose(): void;
}

/**
 * `first` resolves on the first SIGINT or SIGTERM; a second one exits at once (130 or 143)
 * without waiting for in-flight requests. SIGHUP calls the reload handler.
 */
function watchSignals(log: Logger): Signals {
  let received = 0;
  let resolveFirst!: (signal: NodeJS.Signals) => void;
  const first = new Promise<NodeJS.Signals>((resolve) => (resolveFirst = resolve));
  let reload: (() => void) | undefined;
  let pendingReload = false;
  const onSignal = (signal: NodeJS.Signals) => {
    received += 1;
    if (received === 1) {
      resolveFirst(signal);
      return;
    }
    log.warn({ signal }, 'forced-exit: exiting without waiting for in-flight requests');
    process.exit(exitCodeOnForcedStop[signal] ?? exitCodes.failure);
  };
  const onHangup = () => {
    if (received > 0) return;
    log.info({ signal: 'SIGHUP' }, 'reload-requested');
    if (reload) reload();
    else pendingReload = true;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onHangup);
  return {
    first,
    onReload(handler) {
      reload = handler;
      if (pendingReload) {
        pendingReload = false;
        handler();
      }
    },
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // SIGHUP stays handled (ignored) until the process exits.
      reload = undefined;
    },
  };
}
