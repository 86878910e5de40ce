// Bad command lines: exactly one line on stderr naming the flag and what was expected,
// nothing on stdout, exit status 2 (1 for failures only found at run time).
import { beforeAll, describe, expect, it } from 'vitest';

import { ensureBuilt, runCli, usageError } from '../helpers/cli.js';

beforeAll(ensureBuilt, 150_000);

const ok = '127.0.0.1:9001';

const usageErrors: ReadonlyArray<readonly [string, readonly string[], string]> = [
  ['no command', [], 'no command given; expected start, validate, reload, top, certs (see lb-native --help)'],
  ['unknown command', ['serve'], "unknown command 'serve'; expected start, validate, reload, top, certs"],
  [
    'flags without a command',
    ['--backend', ok],
    'no command given before --backend; expected start, validate, reload, top, certs, e.g. lb-native start --backend',
  ],
  ['no backends', ['start'], 'no backends: give at least one --backend (or --config FILE, or --demo)'],
  ['unknown flag, with a suggestion', ['start', '--backnd', ok], 'unknown flag --backnd; did you mean --backend?'],
  ['unknown flag', ['start', '--frobnicate', '1'], 'unknown flag --frobnicate (see lb-native start --help)'],
  ['missing value', ['start', '--backend', ok, '--listen'], '--listen: expected a value (HOST:PORT)'],
  ['a flag where a value belongs', ['start', '--listen', '--backend', ok], '--listen: expected a value (HOST:PORT)'],
  ['stray argument', ['start', ok], `unexpected argument '${ok}' (flags start with --)`],
  ['a flag given twice', ['start', '--backend', ok, '--workers', '1', '--workers', '2'], '--workers: given more than once'],
  [
    'port out of range',
    ['start', '--backend', '127.0.0.1:70000'],
    "--backend '127.0.0.1:70000': port must be 1-65535, got 70000",
  ],
  ['port zero for a backend', ['start', '--backend', '127.0.0.1:0'], "--backend '127.0.0.1:0': port must be 1-65535, got 0"],
  ['unbracketed IPv6', ['start', '--backend', '::1:9001'], "--backend '::1:9001': IPv6 addresses need brackets, e.g. [::1]:8080"],
  [
    'malformed address',
    ['start', '--backend', 'localhost'],
    "--backend 'localhost': missing port; expected host:port, e.g. 127.0.0.1:9001",
  ],
  [
    'third backend bad',
    ['start', '--backend', ok, '--backend', '127.0.0.1:9002', '--backend', '127.0.0.1:x'],
    "--backend '127.0.0.1:x': port must be a number 1-65535, got 'x'",
  ],
  [
    'bad weight',
    ['start', '--backend', `${ok},weight=0`],
    `--backend '${ok},weight=0': weight: expected an integer from 1 to 256, got 0`,
  ],
  [
    'non-numeric weight',
    ['start', '--backend', `${ok},weight=heavy`],
    `--backend '${ok},weight=heavy': weight: expected an integer from 1 to 256, got 'heavy'`,
  ],
  [
    'bad state',
    ['start', '--backend', `${ok},state=down`],
    `--backend '${ok},state=down': state: expected one of ready, drain, maint, got 'down'`,
  ],
  [
    'unknown backend option',
    ['start', '--backend', `${ok},max=3`],
    `--backend '${ok},max=3': unknown option 'max'; expected weight=N, state=ready|drain|maint, public-url=URL, tls, tls-ca=FILE, tls-sni=NAME or tls-verify=true|false`,
  ],
  [
    'bad tls-verify',
    ['start', '--backend', `${ok},tls-verify=maybe`],
    `--backend '${ok},tls-verify=maybe': tls-verify: expected true or false, got 'maybe'`,
  ],
  [
    'unreadable tls-ca',
    ['start', '--backend', `${ok},tls,tls-ca=no-such-ca.pem`],
    `--backend '${ok},tls,tls-ca=no-such-ca.pem': tls-ca: no-such-ca.pem: cannot be read (ENOENT)`,
  ],
  ['duplicate backend', ['start', '--backend', ok, '--backend', ok], `--backend '${ok}': same address as --backend #1`],
  [
    'unknown strategy',
    ['start', '--backend', ok, '--strategy', 'fastest'],
    "--strategy: expected one of round-robin, weighted-round-robin, least-connections, random, p2c, peak-ewma, ip-hash, header-hash, uri-hash, cookie, got 'fastest'",
  ],
  [
    'listen port out of range',
    ['start', '--backend', ok, '--listen', '127.0.0.1:65536'],
    "--listen '127.0.0.1:65536': port must be 0-65535, got 65536",
  ],
  ['zero workers', ['start', '--backend', ok, '--workers', '0'], '--workers: expected an integer from 1 to 1024, got 0'],
  [
    'non-numeric workers',
    ['start', '--backend', ok, '--workers', 'many'],
    "--workers: expected an integer from 1 to 1024, got 'many'",
  ],
  [
    'timeout with a unit',
    ['start', '--backend', ok, '--connect-timeout', '5s'],
    "--connect-timeout: expected an integer from 1 to 2147483647, got '5s'",
  ],
  ['negative body limit', ['start', '--backend', ok, '--max-body', '-1'], '--max-body: expected an integer >= 0, got -1'],
  ['bad log format', ['start', '--backend', ok, '--log-format', 'xml'], "--log-format 'xml': expected one of json, pretty"],
  [
    'bad log level',
    ['start', '--backend', ok, '--log-level', 'loud'],
    "--log-level 'loud': expected one of error, warn, info, debug",
  ],
  [
    'value for a boolean flag',
    ['start', '--backend', ok, '--trust-forwarded=yes'],
    "--trust-forwarded: takes no value, got 'yes'",
  ],
  [
    'the removed --no-x-forwarded-for',
    ['start', '--backend', ok, '--no-x-forwarded-for'],
    'unknown flag --no-x-forwarded-for (see lb-native start --help)',
  ],
  [
    '--demo with a bad option',
    ['start', '--demo', '--strategy', 'fastest'],
    "--strategy: expected one of round-robin, weighted-round-robin, least-connections, random, p2c, peak-ewma, ip-hash, header-hash, uri-hash, cookie, got 'fastest'",
  ],
  // The flags of modes, strategies, forwarded headers, limits, health checks, outliers and retries.
  ['bad mode', ['start', '--backend', ok, '--mode', 'udp'], "--mode: expected one of http, redirect, tcp, got 'udp'"],
  [
    'bad redirect status',
    ['start', '--backend', ok, '--mode', 'redirect', '--redirect-status', '200'],
    '--redirect-status: expected one of 301, 302, 303, 307, 308, got 200',
  ],
  [
    'redirect status outside redirect mode',
    ['start', '--backend', ok, '--redirect-status', '301'],
    "--redirect-status '301': only applies in redirect mode; mode is 'http'",
  ],
  [
    'bad proxy protocol',
    ['start', '--backend', ok, '--mode', 'tcp', '--proxy-protocol', 'v3'],
    "--proxy-protocol: expected one of none, v1, v2, got 'v3'",
  ],
  [
    'proxy protocol outside tcp mode',
    ['start', '--backend', ok, '--proxy-protocol', 'v1'],
    "--proxy-protocol 'v1': only applies in tcp mode; mode is 'http'",
  ],
  [
    'strategy the mode cannot run',
    ['start', '--backend', ok, '--mode', 'tcp', '--strategy', 'cookie'],
    "--strategy: 'cookie' needs a cookie set on a proxied response, which tcp mode does not have",
  ],
  [
    'bad hash header',
    ['start', '--backend', ok, '--hash-header', 'x:y'],
    "--hash-header: expected a header name (letters, digits, '-', ...), got 'x:y'",
  ],
  [
    'bad cookie name',
    ['start', '--backend', ok, '--cookie-name', 'a=b'],
    "--cookie-name: expected 1-64 letters, digits, '_', '-' or '.', got 'a=b'",
  ],
  [
    'bad forwarded mode',
    ['start', '--backend', ok, '--forwarded', 'xff'],
    "--forwarded: expected one of x-forwarded, forwarded, none, got 'xff'",
  ],
  [
    'bad client body timeout',
    ['start', '--backend', ok, '--client-body-timeout', '0'],
    '--client-body-timeout: expected an integer from 1 to 2147483647, got 0',
  ],
  [
    'bad tunnel idle timeout',
    ['start', '--backend', ok, '--tunnel-idle-timeout', '1h'],
    "--tunnel-idle-timeout: expected an integer from 1 to 2147483647, got '1h'",
  ],
  [
    'bad header count',
    ['start', '--backend', ok, '--max-header-count', '1000'],
    '--max-header-count: expected an integer from 1 to 256, got 1000',
  ],
  [
    'bad head size',
    ['start', '--backend', ok, '--max-head-bytes', '10'],
    '--max-head-bytes: expected an integer from 64 to 1048576, got 10',
  ],
  [
    'bad start line',
    ['start', '--backend', ok, '--max-start-line', '100000'],
    '--max-start-line: expected an integer from 16 to 65536, got 100000',
  ],
  [
    'start line over the head size',
    ['start', '--backend', ok, '--max-start-line', '2048', '--max-head-bytes', '1024'],
    '--max-start-line: must not exceed limits.maxHeadBytes (1024), got 2048',
  ],
  [
    'bad health check',
    ['start', '--backend', ok, '--health-check', 'healthz'],
    "--health-check 'healthz': expected a path starting with / (e.g. /healthz) or tcp",
  ],
  [
    'health check path with a space',
    ['start', '--backend', ok, '--health-check', '/a b'],
    "--health-check: expected a path starting with '/' (no spaces, at most 2048 characters), got '/a b'",
  ],
  [
    'health flag without --health-check',
    ['start', '--backend', ok, '--health-interval', '100'],
    '--health-interval: needs --health-check PATH|tcp to turn health checks on',
  ],
  [
    'bad health interval',
    ['start', '--backend', ok, '--health-check', '/', '--health-interval', '1'],
    '--health-interval: expected an integer from 10 to 86400000, got 1',
  ],
  [
    'bad health rise',
    ['start', '--backend', ok, '--health-check', '/', '--health-rise', '0'],
    '--health-rise: expected an integer from 1 to 1000, got 0',
  ],
  [
    'bad health expect',
    ['start', '--backend', ok, '--health-check', '/', '--health-expect', '2xx'],
    "--health-expect: '2xx' is not a status code or range; expected codes 100-599, e.g. '200-399' or '200,204'",
  ],
  [
    'health expect with a tcp check',
    ['start', '--backend', ok, '--health-check', 'tcp', '--health-expect', '200'],
    "--health-expect '200': only applies to http checks; type is 'tcp'",
  ],
  [
    'bad health host',
    ['start', '--backend', ok, '--health-check', '/', '--health-host', 'a/b'],
    "--health-host: expected a host name (or host:port), got 'a/b'",
  ],
  [
    'bad outlier percent',
    ['start', '--backend', ok, '--outlier-max-percent', '150'],
    '--outlier-max-percent: expected an integer from 0 to 100, got 150',
  ],
  [
    'bad slow start',
    ['start', '--backend', ok, '--slow-start', '-1'],
    '--slow-start: expected an integer from 0 to 2147483647, got -1',
  ],
  ['bad max tries', ['start', '--backend', ok, '--max-tries', '9'], '--max-tries: expected an integer from 1 to 4, got 9'],
  [
    'bad retry budget',
    ['start', '--backend', ok, '--retry-budget', 'lots'],
    "--retry-budget: expected an integer from 0 to 1000, got 'lots'",
  ],
  [
    'bad public url',
    ['start', '--mode', 'redirect', '--backend', `${ok},public-url=https://a.example/app`],
    `--backend '${ok},public-url=https://a.example/app': public-url: 'https://a.example/app' has a path; expected an absolute http(s) URL with no path, e.g. https://web1.example.com (the request's path is appended)`,
  ],
  [
    'public url outside redirect mode',
    ['start', '--backend', `${ok},public-url=https://a.example`],
    `--backend '${ok},public-url=https://a.example': public-url: only applies in redirect mode; mode is 'http'`,
  ],
  [
    '--demo with --backend',
    ['start', '--demo', '--backend', ok],
    '--demo starts its own backends; give either --demo or --backend, not both',
  ],
  // Configuration files, the admin server, access logs, and the other commands.
  [
    '--demo with --config',
    ['start', '--demo', '--config', 'lb.yaml'],
    '--demo starts its own backends; give either --demo or --config, not both',
  ],
  [
    'a configuration file that does not exist',
    ['start', '--config', '/nonexistent/lb.yaml'],
    '/nonexistent/lb.yaml: cannot read the configuration file: no such file',
  ],
  [
    '--admin-token without an admin address',
    ['start', '--backend', ok, '--admin-token', 'secret-token'],
    '--admin-token: needs --admin HOST:PORT (or admin.listen in a --config file)',
  ],
  [
    'bad admin address',
    ['start', '--backend', ok, '--admin', '127.0.0.1:99999'],
    "--admin '127.0.0.1:99999': port must be 0-65535, got 99999",
  ],
  [
    'admin on a public address without a token',
    ['start', '--backend', ok, '--admin', '0.0.0.0:9100'],
    'admin.token: required when the admin API listens on a non-loopback address (0.0.0.0:9100): set admin.token (or --admin-token), or listen on 127.0.0.1',
  ],
  [
    'bad access-log sample rate',
    ['start', '--backend', ok, '--access-log-sample-rate', '2'],
    '--access-log-sample-rate: expected a number from 0 to 1, got 2',
  ],
  [
    'validate without a file',
    ['validate'],
    'validate: expected the configuration file, e.g. lb-native validate /etc/lb-native/lb.yaml',
  ],
  ['validate with two files', ['validate', 'a.yaml', 'b.yaml'], 'validate: expected one file, got 2 arguments'],
  [
    'reload with a flag of top',
    ['reload', '--interval', '500'],
    'reload: unknown flag --interval; expected --admin, --token, --config',
  ],
  [
    'reload with a bad admin address',
    ['reload', '--admin', 'localhost'],
    "--admin 'localhost': missing port; expected host:port, e.g. 127.0.0.1:9001",
  ],
  ['top with a bad interval', ['top', '--interval', '5'], "--interval '5': expected milliseconds from 100 to 3600000"],
];

describe.concurrent('usage errors exit 2 with one line naming the flag', () => {
  it.for(usageErrors)('%s', async ([, args, expected], { expect }) => {
    expect(await runCli(args)).toMatchObject(usageError(expected));
  });

  it('accepts --flag=value as well as --flag value', async ({ expect }) => {
    expect(await runCli(['start', `--backend=${ok}`, '--workers=0'])).toMatchObject(
      usageError('--workers: expected an integer from 1 to 1024, got 0'),
    );
  });
});

describe('failures found at run time exit 1', () => {
  it('a backend host name that does not resolve', async () => {
    const result = await runCli(['start', '--backend', ok, '--backend', 'no-such-backend.invalid:9002']);
    expect(result.stderr).toMatch(
      /^lb-native: --backend 'no-such-backend\.invalid:9002': cannot resolve 'no-such-backend\.invalid' \(E[A-Z_]+\)\n$/,
    );
    expect(result.code).toBe(1);
  });
});
