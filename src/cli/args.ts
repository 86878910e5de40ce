// Command-line parsing. Each flag is declared once (below): the parser, the help text and
// the mapping of option errors back to flags all read the same table. Values are only
// split and typed here; validating them is the schema's job (config/schema.ts), and its
// errors are turned back into flag names by `describeConfigIssue`.
import { parseAddress } from '../config/address.js';
import { type ConfigIssue, LbUsageError, formatIssue } from '../errors.js';
import { type LogFormat, logFormats } from '../config/log-formats.js';
import { type LogLevel, logLevels } from '../config/log-levels.js';

export { type LogFormat, type LogLevel, logFormats, logLevels };

export interface FlagSpec {
  /** `--listen`. */
  name: string;
  /** Placeholder for the value in help (`HOST:PORT`); absent for a boolean flag. */
  value?: string;
  /** Where the value goes in BalancerOptions (`timeouts.connectMs`), if it is an option. */
  path?: string;
  /** Parse the value as a number (it is passed on as text if it is not one). */
  numeric?: boolean;
  /** May be given more than once. */
  repeatable?: boolean;
  /** One line for --help. */
  help: string;
  /** Shown as `(default: ...)` in --help. */
  default?: string;
  /** The value is a secret: never quoted in messages. */
  secret?: boolean;
}

export const startFlags: readonly FlagSpec[] = [
  {
    name: '--config',
    value: 'FILE',
    help: 'read the configuration from FILE (YAML or JSON); the other flags override its values; SIGHUP re-reads it',
  },
  {
    name: '--listen',
    value: 'HOST:PORT',
    path: 'listen',
    help: 'address to listen on; [::1]:8080 for IPv6, port 0 for any free port',
  },
  {
    name: '--backend',
    value: 'HOST:PORT[,OPTION=VALUE...]',
    repeatable: true,
    help: 'a backend (repeat for more); options weight=1-256, state=ready|drain|maint, public-url=URL (redirect mode), tls (verify against the system CAs), tls-ca=FILE, tls-sni=NAME, tls-verify=false; host names are resolved at start',
  },
  {
    name: '--tls-cert',
    value: 'FILE',
    repeatable: true,
    help: 'serve HTTPS: PEM certificate chain (leaf first); repeat with --tls-key for more certificates, chosen by SNI (the first is the default); re-read on SIGHUP and when the file changes',
  },
  {
    name: '--tls-key',
    value: 'FILE',
    repeatable: true,
    help: 'the PEM private key of the --tls-cert given in the same position',
  },
  {
    name: '--hsts',
    value: 'SECONDS',
    path: 'tls.hsts.maxAgeSeconds',
    numeric: true,
    help: 'with --tls-cert: add Strict-Transport-Security: max-age=SECONDS to responses (unless the backend sends its own)',
  },
  {
    name: '--redirect-https',
    path: 'httpsRedirect',
    help: 'a plain listener: answer every request with 308 to the same host over HTTPS (port 443; httpsRedirect in a config file sets status and port)',
  },
  {
    name: '--h2c',
    path: 'http2c',
    help: 'a plain listener also speaks HTTP/2 with prior knowledge (h2c); HTTP/1.1 keeps working on the same port',
  },
  { name: '--no-http2', path: 'http2', help: 'a TLS listener offers only HTTP/1.1 (ALPN); HTTP/2 is offered by default' },
  { name: '--demo', help: 'also start three demo backends on 127.0.0.1:9001-9003 (free ports if busy) and use them' },
  {
    name: '--mode',
    value: 'MODE',
    path: 'mode',
    help: 'http (reverse proxy), redirect (answer with a redirect to a backend) or tcp (relay bytes)',
  },
  { name: '--strategy', value: 'NAME', path: 'strategy', help: 'load-balancing strategy (see Strategies below)' },
  {
    name: '--hash-header',
    value: 'NAME',
    path: 'hashHeader',
    help: 'header-hash: the request header whose value picks the backend',
  },
  { name: '--cookie-name', value: 'NAME', path: 'cookieName', help: "cookie: the sticky cookie's name" },
  {
    name: '--redirect-status',
    value: 'CODE',
    path: 'redirectStatus',
    numeric: true,
    help: 'redirect mode: 301, 302, 303, 307 or 308',
  },
  {
    name: '--proxy-protocol',
    value: 'VERSION',
    path: 'proxyProtocol',
    help: 'tcp mode: PROXY protocol header sent to backends: none, v1 or v2',
  },
  {
    name: '--workers',
    value: 'N',
    path: 'workers',
    numeric: true,
    help: 'worker threads',
    default: 'number of CPUs; 1 with --demo',
  },
  { name: '--backlog', value: 'N', path: 'backlog', numeric: true, help: 'listen backlog; 0 uses the kernel limit (somaxconn)' },
  {
    name: '--connect-timeout',
    value: 'MS',
    path: 'timeouts.connectMs',
    numeric: true,
    help: 'backend connect timeout, then 502 (or the next backend)',
  },
  {
    name: '--response-timeout',
    value: 'MS',
    path: 'timeouts.responseMs',
    numeric: true,
    help: 'wait for the first response byte, then 504',
  },
  {
    name: '--client-head-timeout',
    value: 'MS',
    path: 'timeouts.clientHeadMs',
    numeric: true,
    help: 'a client must send its request head within this, then 408',
  },
  {
    name: '--client-body-timeout',
    value: 'MS',
    path: 'timeouts.clientBodyMs',
    numeric: true,
    help: 'longest wait for the next byte of a request body, then 408',
  },
  {
    name: '--client-body-total-timeout',
    value: 'MS',
    path: 'timeouts.clientBodyTotalMs',
    numeric: true,
    help: 'a whole request body must arrive within this (from the end of the head), then 408; 0 for no limit',
  },
  {
    name: '--keep-alive-timeout',
    value: 'MS',
    path: 'timeouts.keepAliveMs',
    numeric: true,
    help: 'idle keep-alive client connections are closed after this',
  },
  {
    name: '--backend-idle-timeout',
    value: 'MS',
    path: 'timeouts.backendIdleMs',
    numeric: true,
    help: "idle pooled backend connections are closed after this (keep it below the backends')",
  },
  {
    name: '--pool-max-idle',
    value: 'N',
    path: 'pool.maxIdlePerBackend',
    numeric: true,
    help: 'idle keep-alive connections kept per backend and worker for --backend-idle-timeout',
  },
  {
    name: '--pool-surplus-idle',
    value: 'MS',
    path: 'pool.surplusIdleMs',
    numeric: true,
    help: 'idle connections beyond --pool-max-idle (left by a burst) close after this; 0 at once',
  },
  {
    name: '--splice-min-bytes',
    value: 'N',
    path: 'bodies.spliceMinBytes',
    numeric: true,
    help: 'Content-Length bodies with at least N bytes left move by splice(2) between plain sockets; 0 never',
  },
  {
    name: '--tunnel-idle-timeout',
    value: 'MS',
    path: 'timeouts.tunnelIdleMs',
    numeric: true,
    help: 'upgraded (WebSocket) connections idle both ways are closed after this',
  },
  {
    name: '--max-connections',
    value: 'N',
    path: 'limits.maxClientConnections',
    numeric: true,
    help: 'most client connections, 0 for unlimited',
  },
  {
    name: '--max-body',
    value: 'BYTES',
    path: 'limits.maxBodyBytes',
    numeric: true,
    help: 'largest request body (larger get 413), 0 for unlimited',
  },
  {
    name: '--max-start-line',
    value: 'BYTES',
    path: 'limits.maxStartLine',
    numeric: true,
    help: 'longest request line (longer get 414)',
  },
  {
    name: '--max-head-bytes',
    value: 'BYTES',
    path: 'limits.maxHeadBytes',
    numeric: true,
    help: 'largest request head (larger get 431)',
  },
  {
    name: '--max-header-count',
    value: 'N',
    path: 'limits.maxHeaderCount',
    numeric: true,
    help: 'most request headers (more get 431)',
  },
  {
    name: '--forwarded',
    value: 'MODE',
    path: 'forwarded.mode',
    help: 'client-identity headers: x-forwarded (X-Forwarded-For/-Proto/-Host), forwarded (RFC 7239) or none',
  },
  {
    name: '--trust-forwarded',
    path: 'forwarded.trustIncoming',
    help: "append to the client's own forwarded headers (a proxy you run is in front) instead of replacing them",
  },
  {
    name: '--underscore-headers',
    value: 'MODE',
    path: 'headers.underscores',
    help: "client header names with '_': drop (forward none), keep, or reject (400); identity look-alikes are always dropped",
    default: 'drop',
  },
  {
    name: '--health-check',
    value: 'PATH|tcp',
    help: 'active health checks: GET PATH (e.g. /healthz) or a TCP connect, for every backend',
    default: 'none',
  },
  {
    name: '--health-interval',
    value: 'MS',
    path: 'healthCheck.intervalMs',
    numeric: true,
    help: 'time between two checks of a backend',
  },
  {
    name: '--health-timeout',
    value: 'MS',
    path: 'healthCheck.timeoutMs',
    numeric: true,
    help: 'a check not done within this fails',
  },
  {
    name: '--health-rise',
    value: 'N',
    path: 'healthCheck.rise',
    numeric: true,
    help: 'passed checks in a row that bring a backend back',
  },
  {
    name: '--health-fall',
    value: 'N',
    path: 'healthCheck.fall',
    numeric: true,
    help: 'failed checks in a row that take a backend out',
  },
  {
    name: '--health-expect',
    value: 'STATUSES',
    path: 'healthCheck.expectStatus',
    help: 'passing statuses of http checks, e.g. 200-399 or 200,204',
  },
  {
    name: '--health-host',
    value: 'HOST',
    path: 'healthCheck.host',
    help: 'Host header of http checks',
    default: "the backend's address",
  },
  {
    name: '--outlier-failures',
    value: 'N',
    path: 'outlierDetection.consecutiveFailures',
    numeric: true,
    help: 'consecutive failures that eject a backend from a worker for a while, 0 never',
  },
  {
    name: '--outlier-ejection-time',
    value: 'MS',
    path: 'outlierDetection.baseEjectionMs',
    numeric: true,
    help: 'first ejection time (the n-th lasts n times as long)',
  },
  {
    name: '--outlier-max-percent',
    value: 'N',
    path: 'outlierDetection.maxEjectionPercent',
    numeric: true,
    help: 'most backends ejected at once, in percent',
  },
  {
    name: '--slow-start',
    value: 'MS',
    path: 'outlierDetection.slowStartMs',
    numeric: true,
    help: 'a recovered or added backend ramps up its share over this long, 0 for off',
  },
  {
    name: '--max-tries',
    value: 'N',
    path: 'retries.maxTries',
    numeric: true,
    help: 'attempts per request on different backends, the first included (1-4)',
  },
  {
    name: '--retry-budget',
    value: 'PERCENT',
    path: 'retries.budgetPercent',
    numeric: true,
    help: 'retries may add at most this share of requests',
  },
  {
    name: '--retry-min-per-second',
    value: 'N',
    path: 'retries.minPerSecond',
    numeric: true,
    help: 'retries per second per worker always allowed',
  },
  {
    name: '--admin',
    value: 'HOST:PORT',
    path: 'admin.listen',
    help: 'also start the admin API (stats, metrics, dashboard, live control, POST /reload) here; a non-loopback address needs --admin-token',
  },
  {
    name: '--admin-token',
    value: 'TOKEN',
    path: 'admin.token',
    secret: true,
    help: 'bearer token the admin API requires (better: admin.token: ${LB_ADMIN_TOKEN} in the configuration file)',
  },
  {
    name: '--access-log-sample-rate',
    value: 'R',
    path: 'logging.access.sampleRate',
    numeric: true,
    help: 'log this share of requests (0-1) as access-log lines',
    default: '0',
  },
  { name: '--log-level', value: 'LEVEL', path: 'logging.level', help: `one of ${logLevels.join(', ')}`, default: 'info' },
  {
    name: '--log-format',
    value: 'FORMAT',
    path: 'logging.format',
    help: 'json (one JSON object per line) or pretty (one readable line per event)',
    default: 'pretty on a terminal, json otherwise',
  },
  { name: '--help', help: 'show this help (also -h)' },
  { name: '--version', help: 'show the version (also -v)' },
];

const aliases: Readonly<Record<string, string>> = { '-h': '--help', '-v': '--version' };

/** Where a value in the options came from on the command line. */
export interface FlagSource {
  /** Options path the flag set, e.g. `backends[2]` or `timeouts.connectMs`. */
  path: string;
  flag: string;
  /** The value as typed; undefined for a boolean flag. */
  value: string | undefined;
}

export interface StartArgs {
  command: 'start';
  /**
   * Values set by flags, shaped like a configuration file (`admin.listen`,
   * `logging.level` besides the balancer's options), not yet validated.
   */
  options: Record<string, unknown>;
  /** --config FILE, if given. */
  configFile: string | undefined;
  demo: boolean;
  /** True when --listen was given (the demo may then not move to a free port). */
  listenGiven: boolean;
  logLevel: LogLevel;
  /** --log-format, if given. */
  logFormat: LogFormat | undefined;
  sources: FlagSource[];
}

export interface ValidateArgs {
  command: 'validate';
  file: string;
}

/** `lb-native certs FILE`: the certificates in FILE's tls.acme storage. */
export interface CertsArgs {
  command: 'certs';
  file: string;
}

/** Where the admin API is, for `reload` and `top`. */
export interface AdminTarget {
  /** `host:port` as given. */
  admin: string;
  token: string | undefined;
}

export interface ReloadArgs extends AdminTarget {
  command: 'reload';
  /** --config FILE: the admin API and token come from the file's admin section. */
  configFile: string | undefined;
}

export interface TopArgs extends AdminTarget {
  command: 'top';
  intervalMs: number;
  once: boolean;
}

export const commands = ['start', 'validate', 'reload', 'top', 'certs'] as const;
export type Command = (typeof commands)[number];

/** `--help`: the whole help, or one command's (`lb-native top --help`). */
export interface HelpArgs {
  command: 'help';
  topic: Command | undefined;
}

export type ParsedArgs = HelpArgs | { command: 'version' } | StartArgs | ValidateArgs | ReloadArgs | TopArgs | CertsArgs;

/** The admin API address `reload` and `top` use unless --admin says otherwise. */
export const defaultAdmin = '127.0.0.1:9100';

/** Flags of `reload` and `top`. */
export const clientFlags: readonly FlagSpec[] = [
  {
    name: '--admin',
    value: 'HOST:PORT',
    help: 'the admin API of the running lb-native (its --admin or admin.listen)',
    default: defaultAdmin,
  },
  { name: '--token', value: 'TOKEN', secret: true, help: 'its bearer token', default: 'the LB_ADMIN_TOKEN environment variable' },
  { name: '--config', value: 'FILE', help: "reload: take the admin API's address and token from FILE's admin section" },
  {
    name: '--interval',
    value: 'MS',
    help: 'top: time between two refreshes (and, with --once, between its two samples)',
    default: '1000',
  },
  { name: '--once', help: 'top: print one screen with rates and exit, without clearing the terminal' },
];

const flagsNamed = (...names: string[]): FlagSpec[] => clientFlags.filter((f) => names.includes(f.name));
export const reloadFlags: readonly FlagSpec[] = flagsNamed('--admin', '--token', '--config');
export const topFlags: readonly FlagSpec[] = flagsNamed('--admin', '--token', '--interval', '--once');

/** Parses `argv` (without node and the script). Throws LbUsageError naming the flag. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  if (argv.includes('--help') || argv.includes('-h')) {
    const first = argv[0] ?? '';
    return { command: 'help', topic: (commands as readonly string[]).includes(first) ? (first as Command) : undefined };
  }
  if (argv.includes('--version') || argv.includes('-v')) return { command: 'version' };
  const [command, ...rest] = argv;
  if (command === undefined) {
    throw new LbUsageError(`no command given; expected ${commands.join(', ')} (see lb-native --help)`);
  }
  if (command.startsWith('-')) {
    throw new LbUsageError(
      `no command given before ${command}; expected ${commands.join(', ')}, e.g. lb-native start ${command}`,
    );
  }
  switch (command) {
    case 'start':
      return parseStart(rest);
    case 'validate':
    case 'certs':
      return { command, file: parseFileArgument(command, rest) };
    case 'reload':
    case 'top':
      return parseClient(command, rest);
    default:
      throw new LbUsageError(`unknown command '${command}'; expected ${commands.join(', ')}`);
  }
}

/** The one argument of `validate FILE` and `certs FILE`. */
function parseFileArgument(command: 'validate' | 'certs', argv: readonly string[]): string {
  const flag = argv.find((a) => a.startsWith('-'));
  if (flag !== undefined) throw new LbUsageError(`${command}: unknown flag ${flag}; usage: lb-native ${command} FILE`);
  if (argv.length !== 1 || argv[0] === '') {
    throw new LbUsageError(
      argv.length === 0
        ? `${command}: expected the configuration file, e.g. lb-native ${command} /etc/lb-native/lb.yaml`
        : `${command}: expected one file, got ${argv.length} arguments`,
    );
  }
  return argv[0] ?? '';
}

function parseClient(command: 'reload' | 'top', argv: readonly string[]): ReloadArgs | TopArgs {
  const allowed = command === 'top' ? topFlags : reloadFlags;
  const values = new Map<string, string | undefined>();
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('-')) throw new LbUsageError(`${command}: unexpected argument '${arg}' (flags start with --)`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const spec = allowed.find((f) => f.name === name);
    if (!spec) {
      const known = allowed.map((f) => f.name).join(', ');
      throw new LbUsageError(`${command}: unknown flag ${name}; expected ${known}`);
    }
    if (values.has(name)) throw new LbUsageError(`${name}: given more than once`);
    if (spec.value === undefined) {
      if (eq !== -1) throw new LbUsageError(`${name}: takes no value, got '${arg.slice(eq + 1)}'`);
      values.set(name, undefined);
      continue;
    }
    const value: string | undefined = eq === -1 ? argv[i + 1] : arg.slice(eq + 1);
    if (eq === -1) {
      if (value === undefined || value.startsWith('--')) throw new LbUsageError(`${name}: expected a value (${spec.value})`);
      i += 1;
    }
    values.set(name, value);
  }
  const configFile = values.get('--config');
  if (configFile !== undefined && (values.has('--admin') || values.has('--token'))) {
    throw new LbUsageError(
      'reload: --config takes the admin API and token from the file; give either --config or --admin/--token',
    );
  }
  if (configFile === '') throw new LbUsageError('--config: expected a value (FILE)');
  const admin = values.get('--admin') ?? defaultAdmin;
  const parsed = parseAddress(admin);
  if (!parsed.ok) throw new LbUsageError(`--admin '${admin}': ${parsed.message}`);
  const token = values.get('--token') ?? (process.env.LB_ADMIN_TOKEN || undefined);
  if (command === 'reload') return { command, admin, token, configFile };
  const interval = values.get('--interval') ?? '1000';
  const intervalMs = Number(interval);
  if (!/^[0-9]+$/.test(interval) || intervalMs < 100 || intervalMs > 3_600_000) {
    throw new LbUsageError(`--interval '${interval}': expected milliseconds from 100 to 3600000`);
  }
  return { command, admin, token, intervalMs, once: values.has('--once') };
}

function parseStart(argv: readonly string[]): StartArgs {
  const options: Record<string, unknown> = {};
  const backends: unknown[] = [];
  const tlsCerts: string[] = [];
  const tlsKeys: string[] = [];
  const sources: FlagSource[] = [];
  const seen = new Set<string>();
  let demo = false;
  let logLevel: LogLevel = 'info';
  let logFormat: LogFormat | undefined;
  let configFile: string | undefined;

  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('-')) throw new LbUsageError(`unexpected argument '${arg}' (flags start with --)`);
    const eq = arg.indexOf('=');
    const name = aliases[arg] ?? (eq === -1 ? arg : arg.slice(0, eq));
    const spec = startFlags.find((f) => f.name === name);
    if (!spec) throw new LbUsageError(unknownFlagMessage(name));
    if (!spec.repeatable && seen.has(name)) throw new LbUsageError(`${name}: given more than once`);
    seen.add(name);

    let value: string | undefined;
    if (spec.value === undefined) {
      if (eq !== -1) throw new LbUsageError(`${name}: takes no value, got '${arg.slice(eq + 1)}'`);
    } else if (eq !== -1) {
      value = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        throw new LbUsageError(`${name}: expected a value (${spec.value})`);
      }
      value = next;
      i += 1;
    }

    switch (name) {
      case '--backend': {
        const path = `backends[${backends.length}]`;
        backends.push(parseBackend(value ?? ''));
        sources.push({ path, flag: name, value });
        break;
      }
      case '--tls-cert':
      case '--tls-key': {
        const list = name === '--tls-cert' ? tlsCerts : tlsKeys;
        sources.push({ path: `tls.certificates[${list.length}].${name === '--tls-cert' ? 'cert' : 'key'}`, flag: name, value });
        list.push(value ?? '');
        break;
      }
      case '--demo':
        demo = true;
        break;
      case '--config':
        if (!value) throw new LbUsageError('--config: expected a value (FILE)');
        configFile = value;
        break;
      case '--redirect-https':
        setPath(options, 'httpsRedirect', {});
        sources.push({ path: 'httpsRedirect', flag: name, value: undefined });
        break;
      case '--h2c':
        setPath(options, 'http2c', true);
        sources.push({ path: 'http2c', flag: name, value: undefined });
        break;
      case '--no-http2':
        setPath(options, 'http2', false);
        sources.push({ path: 'http2', flag: name, value: undefined });
        break;
      case '--trust-forwarded':
        setPath(options, 'forwarded.trustIncoming', true);
        sources.push({ path: 'forwarded.trustIncoming', flag: name, value: undefined });
        break;
      case '--health-check': {
        const check = value ?? '';
        if (check === 'tcp') {
          setPath(options, 'healthCheck.type', 'tcp');
          sources.push({ path: 'healthCheck.type', flag: name, value });
        } else if (check.startsWith('/')) {
          setPath(options, 'healthCheck.type', 'http');
          setPath(options, 'healthCheck.path', check);
          sources.push({ path: 'healthCheck.path', flag: name, value });
        } else {
          throw new LbUsageError(`--health-check '${check}': expected a path starting with / (e.g. /healthz) or tcp`);
        }
        break;
      }
      case '--log-level':
        if (!(logLevels as readonly string[]).includes(value ?? '')) {
          throw new LbUsageError(`--log-level '${value ?? ''}': expected one of ${logLevels.join(', ')}`);
        }
        logLevel = value as LogLevel;
        setPath(options, 'logging.level', logLevel);
        sources.push({ path: 'logging.level', flag: name, value });
        break;
      case '--log-format':
        if (!(logFormats as readonly string[]).includes(value ?? '')) {
          throw new LbUsageError(`--log-format '${value ?? ''}': expected one of ${logFormats.join(', ')}`);
        }
        logFormat = value as LogFormat;
        setPath(options, 'logging.format', logFormat);
        sources.push({ path: 'logging.format', flag: name, value });
        break;
      default: {
        if (!spec.path || value === undefined) throw new Error(`flag ${name} has no handler`);
        setPath(options, spec.path, spec.numeric ? toNumber(value) : value);
        sources.push({ path: spec.path, flag: name, value: spec.secret ? undefined : value });
      }
    }
  }

  if (demo && backends.length > 0) {
    throw new LbUsageError('--demo starts its own backends; give either --demo or --backend, not both');
  }
  if (demo && configFile !== undefined) {
    throw new LbUsageError('--demo starts its own backends; give either --demo or --config, not both');
  }
  if (!demo && backends.length === 0 && configFile === undefined) {
    throw new LbUsageError('no backends: give at least one --backend (or --config FILE, or --demo)');
  }
  if (seen.has('--admin-token') && !seen.has('--admin') && configFile === undefined) {
    throw new LbUsageError('--admin-token: needs --admin HOST:PORT (or admin.listen in a --config file)');
  }
  const healthFlag = [...seen].find((flag) => flag.startsWith('--health-') && flag !== '--health-check');
  if (healthFlag && !seen.has('--health-check')) {
    throw new LbUsageError(`${healthFlag}: needs --health-check PATH|tcp to turn health checks on`);
  }
  if (tlsCerts.length !== tlsKeys.length) {
    throw new LbUsageError(
      `--tls-cert and --tls-key come in pairs: got ${tlsCerts.length} --tls-cert and ${tlsKeys.length} --tls-key`,
    );
  }
  if (seen.has('--hsts') && tlsCerts.length === 0) {
    throw new LbUsageError('--hsts: needs --tls-cert FILE --tls-key FILE (HSTS is sent over HTTPS only)');
  }
  if (tlsCerts.length > 0) {
    const tls = (options.tls ?? {}) as Record<string, unknown>;
    tls.certificates = tlsCerts.map((cert, i) => ({ cert, key: tlsKeys[i] ?? '' }));
    options.tls = tls;
  }
  if (backends.length > 0) options.backends = backends;
  return { command: 'start', options, configFile, demo, listenGiven: seen.has('--listen'), logLevel, logFormat, sources };
}

/** Backend options after the address, and the option each sets (`tls.*`: inside the backend's `tls`). */
const backendKeys: Readonly<Record<string, string>> = {
  weight: 'weight',
  state: 'state',
  'public-url': 'publicUrl',
  tls: 'tls',
  'tls-ca': 'tls.ca',
  'tls-sni': 'tls.sni',
  'tls-verify': 'tls.verify',
};
const backendKeysHelp =
  'weight=N, state=ready|drain|maint, public-url=URL, tls, tls-ca=FILE, tls-sni=NAME or tls-verify=true|false';

/**
 * `127.0.0.1:9003,weight=3,state=drain,public-url=URL` to `{ address, weight, state, publicUrl }`;
 * `backend.example:443,tls,tls-ca=ca.pem` to `{ address, tls: { ca } }` (any tls-* option implies tls).
 */
function parseBackend(text: string): string | Record<string, unknown> {
  const [address = '', ...parts] = text.split(',');
  if (parts.length === 0) return address;
  const backend: Record<string, unknown> = { address };
  const tls: Record<string, unknown> = {};
  let wantsTls = false;
  for (const part of parts) {
    const eq = part.indexOf('=');
    const key = eq === -1 ? part : part.slice(0, eq);
    const option = Object.hasOwn(backendKeys, key) ? backendKeys[key] : undefined;
    if (option === undefined) throw new LbUsageError(`--backend '${text}': unknown option '${key}'; expected ${backendKeysHelp}`);
    if (option === 'tls') {
      if (eq !== -1) throw new LbUsageError(`--backend '${text}': tls takes no value (use tls-ca=, tls-sni=, tls-verify=)`);
      if (wantsTls) throw new LbUsageError(`--backend '${text}': tls given more than once`);
      wantsTls = true;
      continue;
    }
    if (eq === -1) throw new LbUsageError(`--backend '${text}': ${key}: expected ${key}=VALUE`);
    const value = part.slice(eq + 1);
    if (option.startsWith('tls.')) {
      const field = option.slice(4);
      if (field in tls) throw new LbUsageError(`--backend '${text}': ${key} given more than once`);
      tls[field] = field === 'verify' ? toBoolean(value) : value;
      continue;
    }
    if (option in backend) throw new LbUsageError(`--backend '${text}': ${key} given more than once`);
    backend[option] = key === 'weight' ? toNumber(value) : value;
  }
  if (wantsTls || Object.keys(tls).length > 0) backend['tls'] = tls;
  return backend;
}

/** `true`/`false` as a boolean; anything else stays text for the schema to reject by name. */
function toBoolean(text: string): boolean | string {
  return text === 'true' ? true : text === 'false' ? false : text;
}

/** A decimal number as a number; anything else stays text for the schema to reject by name. */
function toNumber(text: string): number | string {
  return /^-?[0-9]+(\.[0-9]+)?$/.test(text) ? Number(text) : text;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  const last = keys.pop() as string;
  let node = target;
  for (const key of keys) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  node[last] = value;
}

function unknownFlagMessage(name: string): string {
  const known = [...startFlags.map((f) => f.name)];
  const close = known
    .map((candidate) => ({ candidate, distance: editDistance(name, candidate) }))
    .filter((c) => c.distance <= 2)
    .sort((a, b) => a.distance - b.distance)[0];
  const hint = close ? `; did you mean ${close.candidate}?` : ' (see lb-native start --help)';
  return `unknown flag ${name}${hint}`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * One line for an option error, naming the flag that set the value:
 * `--backend '127.0.0.1:70000': port must be 1-65535, got 70000`. Issues about values no
 * flag set fall back to `path: message`.
 */
export function describeConfigIssue(issue: ConfigIssue, sources: readonly FlagSource[]): string {
  return flagIssueMessage(issue, sources) ?? formatIssue(issue);
}

/** As `describeConfigIssue`, for issues about a value a flag set; undefined for any other. */
export function flagIssueMessage(issue: ConfigIssue, sources: readonly FlagSource[]): string | undefined {
  const source = sources
    .filter((s) => issue.path === s.path || issue.path.startsWith(`${s.path}.`) || issue.path.startsWith(`${s.path}[`))
    .sort((a, b) => b.path.length - a.path.length)[0];
  if (!source) return undefined;
  const rest = issue.path.slice(source.path.length).replace(/^\./, '');
  // The address is the flag's main value; other parts (weight, state) are named.
  const backendKey = Object.entries(backendKeys).find(([, option]) => option === rest)?.[0];
  const label = rest === '' || rest === 'address' ? '' : `${source.flag === '--backend' ? (backendKey ?? rest) : rest}: `;
  // Other backends are referred to as the flags were given: backend #1 is the first --backend.
  const message = issue.message.replace(/\bbackends\[(\d+)\]/g, (_, i: string) => `--backend #${Number(i) + 1}`);
  // Quote the value after the flag unless the message already shows it.
  const { value } = source;
  if (value === undefined || message.includes(`'${value}'`) || message.endsWith(`got ${value}`)) {
    return `${source.flag}: ${label}${message}`;
  }
  return `${source.flag} '${value}': ${label}${message}`;
}
