// The text of `lb-native --help` (every command and flag) and of `lb-native COMMAND --help`
// (that command alone), built from the flag tables so that every flag is listed.
import { defaults } from '../config/defaults.js';
import { proxyModes } from '../config/schema.js';
import { strategies } from '../config/strategies.js';
import { type Command, type FlagSpec, clientFlags, reloadFlags, startFlags, topFlags } from './args.js';

/** The default of an option path ('timeouts.connectMs'), read from config/defaults.ts. */
function optionDefault(path: string): string | undefined {
  let node: unknown = defaults;
  for (const key of path.split('.')) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return typeof node === 'string' || typeof node === 'number' ? String(node) : undefined;
}

function flagDefault(flag: FlagSpec): string | undefined {
  if (flag.default !== undefined) return flag.default;
  // A boolean flag turns something on; its default is 'off', which goes without saying.
  if (flag.path === undefined || flag.value === undefined) return undefined;
  return optionDefault(flag.path);
}

/** Flag rows, aligned on one column across every table shown together. */
function flagTables(tables: ReadonlyArray<readonly [title: string, flags: readonly FlagSpec[]]>): string[] {
  const row = (flag: FlagSpec) => {
    const left = flag.value === undefined ? flag.name : `${flag.name} ${flag.value}`;
    const fallback = flagDefault(flag);
    return [left, fallback === undefined ? flag.help : `${flag.help} (default: ${fallback})`] as const;
  };
  const rows = tables.map(([title, flags]) => [title, flags.map(row)] as const);
  const width = Math.max(...rows.flatMap(([, r]) => r.map(([left]) => left.length))) + 2;
  return rows.flatMap(([title, r], i) => [
    ...(i > 0 ? [''] : []),
    title,
    ...r.map(([left, right]) => `  ${left.padEnd(width)}${right}`),
  ]);
}

const usage: Readonly<Record<Command, readonly string[]>> = {
  start: [
    '  lb-native start --backend HOST:PORT [--backend HOST:PORT ...] [flags]',
    '  lb-native start --config FILE [flags]       flags override the file; SIGHUP re-reads it',
    '  lb-native start --demo [flags]',
  ],
  validate: ['  lb-native validate FILE                     check a configuration file; exit 0 (ok) or 2'],
  reload: [
    '  lb-native reload [--admin HOST:PORT] [--token TOKEN]',
    '  lb-native reload --config FILE              the admin API and token named in FILE',
    '                                              make a running lb-native re-read its file',
  ],
  top: [
    '  lb-native top [--admin HOST:PORT] [--token TOKEN] [--interval MS] [--once]',
    '                                              live per-backend numbers from the admin API',
  ],
  certs: ["  lb-native certs FILE                        list the ACME certificates in FILE's tls.acme storage"],
};

const startNotes = (): string[] => [
  `Strategies: ${strategies.join(', ')}`,
  '  (header-hash, uri-hash and cookie need http mode; header-hash and uri-hash also work in redirect mode)',
  `Modes: ${proxyModes.join(', ')}`,
  'Addresses: 127.0.0.1:8080, [::1]:8080, or host.name:8080 for backends and --listen.',
  'Workers: each worker thread balances on its own, so with 2 workers round robin over b1, b2 can answer b1 b1 b2 b2.',
  `SIGINT or SIGTERM stops gracefully (in-flight requests get ${defaults.stopDeadlineMs / 1000} s); a second one exits at once.`,
  'SIGHUP (or lb-native reload, or POST /reload) re-reads --config and applies it live; an invalid file is refused.',
  'Logs go to stdout: readable lines on a terminal, JSON lines (pino) otherwise (--log-format);',
  'errors before starting are one line each on stderr. The process is named lb-native (pidof lb-native).',
];

const startExamples = [
  '  lb-native start --listen 127.0.0.1:8080 --backend 127.0.0.1:9001 --backend 127.0.0.1:9002,weight=3',
  '  lb-native start --strategy least-connections --health-check /healthz --backend 10.0.0.5:8080 --backend 10.0.0.6:8080',
  '  lb-native start --mode redirect --backend 10.0.0.5:8080,public-url=https://web1.example.com',
  '  lb-native start --mode tcp --proxy-protocol v2 --backend 10.0.0.5:5432',
  '  lb-native start --demo',
  '  lb-native start --config /etc/lb-native/lb.yaml --log-level debug',
];

const exitStatus =
  'Exit status: 0 after a graceful stop, 2 for a usage error or an invalid configuration, 1 for any other failure.';

/** `lb-native --help`: every command, every flag. */
export function helpText(version: string): string {
  return [
    `lb-native ${version}: an HTTP load balancer with a native data path`,
    '',
    'Usage:',
    ...usage.start,
    ...usage.validate,
    ...usage.reload,
    ...usage.top,
    ...usage.certs,
    '  lb-native COMMAND --help                    the help of one command',
    '',
    ...flagTables([
      ['Flags of start:', startFlags],
      ['Flags of reload and top:', clientFlags],
    ]),
    '',
    ...startNotes(),
    '',
    'Examples:',
    ...startExamples,
    '  lb-native validate /etc/lb-native/lb.yaml',
    '',
    exitStatus,
    '',
  ].join('\n');
}

/** `lb-native COMMAND --help`: that command's usage and flags. */
export function commandHelpText(command: Command, version: string): string {
  const head = [`lb-native ${version}`, '', 'Usage:', ...usage[command], ''];
  switch (command) {
    case 'start':
      return [
        ...head,
        ...flagTables([['Flags:', startFlags]]),
        '',
        ...startNotes(),
        '',
        'Examples:',
        ...startExamples,
        '',
        exitStatus,
        '',
      ].join('\n');
    case 'validate':
      return [
        ...head,
        'Reads FILE (YAML, or JSON for a .json file), substitutes ${VAR} values and validates it as start would,',
        'and resolves the host names of its backends and listen address. Prints "ok: N backends, mode M" and exits 0;',
        'or one line per problem (FILE:LINE: path: what was expected) on stderr and exits 2. A host name that does',
        'not resolve is a problem: start would refuse the file too.',
        '',
      ].join('\n');
    case 'reload':
      return [
        ...head,
        ...flagTables([['Flags:', reloadFlags]]),
        '',
        'Asks the running lb-native (POST /reload on its admin API) to re-read its configuration file, and waits',
        'for the outcome: exit 0 with the changes applied, or exit 1 with why it was refused (the running',
        'configuration is then unchanged) or why the admin API could not be asked. With --config, the admin',
        "API's address and token are those of the file (admin.listen, admin.token), as systemctl reload uses it.",
        '',
      ].join('\n');
    case 'top':
      return [
        ...head,
        ...flagTables([['Flags:', topFlags]]),
        '',
        'Shows per-backend request rates, latencies, errors and connections from the admin API, refreshed',
        'every --interval; q or Ctrl-C quits. --once waits one interval between two samples, prints one',
        'screen with rates, and exits (0, or 1 if the admin API cannot be asked).',
        '',
      ].join('\n');
    case 'certs':
      return [
        ...head,
        "Reads FILE's tls.acme section and lists the certificates stored in its storage folder, one line each:",
        'names, issuer, expiry and days left. Exit 0; 2 if FILE is not valid or has no tls.acme section.',
        '',
      ].join('\n');
  }
}
