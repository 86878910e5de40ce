// The text of `lb-native --help`, built from the flag table so that every flag is listed.
import { defaults } from '../config/defaults.js';
import { proxyModes } from '../config/schema.js';
import { strategies } from '../config/strategies.js';
import { type FlagSpec, clientFlags, startFlags } from './args.js';

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

export function helpText(version: string): string {
  const row = (flag: FlagSpec) => {
    const left = flag.value === undefined ? flag.name : `${flag.name} ${flag.value}`;
    const fallback = flagDefault(flag);
    return [left, fallback === undefined ? flag.help : `${flag.help} (default: ${fallback})`] as const;
  };
  const rows = startFlags.map(row);
  const client = clientFlags.map(row);
  const width = Math.max(...[...rows, ...client].map(([left]) => left.length)) + 2;
  return [
    `lb-native ${version}: an HTTP load balancer with a native data path`,
    '',
    'Usage:',
    '  lb-native start --backend HOST:PORT [--backend HOST:PORT ...] [flags]',
    '  lb-native start --config FILE [flags]       flags override the file; SIGHUP re-reads it',
    '  lb-native start --demo [flags]',
    '  lb-native validate FILE                     check a configuration file; exit 0 (ok) or 2',
    '  lb-native reload [--admin HOST:PORT] [--token TOKEN]',
    '                                              make a running lb-native re-read its file',
    '  lb-native top [--admin HOST:PORT] [--token TOKEN] [--interval MS] [--once]',
    '                                              live per-backend numbers from the admin API',
    '',
    'Flags of start:',
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`),
    '',
    'Flags of reload and top:',
    ...client.map(([left, right]) => `  ${left.padEnd(width)}${right}`),
    '',
    `Strategies: ${strategies.join(', ')}`,
    '  (header-hash, uri-hash and cookie need http mode; header-hash and uri-hash also work in redirect mode)',
    `Modes: ${proxyModes.join(', ')}`,
    'Addresses: 127.0.0.1:8080, [::1]:8080, or host.name:8080 for backends and --listen.',
    `SIGINT or SIGTERM stops gracefully (in-flight requests get ${defaults.stopDeadlineMs / 1000} s); a second one exits at once.`,
    'SIGHUP (or lb-native reload, or POST /reload) re-reads --config and applies it live; an invalid file is refused.',
    'Logs are JSON lines on stdout (pino); errors before starting are one line each on stderr.',
    '',
    'Examples:',
    '  lb-native start --listen 127.0.0.1:8080 --backend 127.0.0.1:9001 --backend 127.0.0.1:9002,weight=3',
    '  lb-native start --strategy least-connections --health-check /healthz --backend 10.0.0.5:8080 --backend 10.0.0.6:8080',
    '  lb-native start --mode redirect --backend 10.0.0.5:8080,public-url=https://web1.example.com',
    '  lb-native start --mode tcp --proxy-protocol v2 --backend 10.0.0.5:5432',
    '  lb-native start --demo',
    '  lb-native start --config /etc/lb-native/lb.yaml --log-level debug',
    '  lb-native validate /etc/lb-native/lb.yaml',
    '',
    'Exit status: 0 after a graceful stop, 2 for a usage error or an invalid configuration, 1 for any other failure.',
    '',
  ].join('\n');
}
