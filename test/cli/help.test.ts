import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

import { clientFlags, startFlags } from '../../src/cli/args.js';
import { defaults } from '../../src/config/defaults.js';
import { ensureBuilt, packageRoot, runCli } from './spawn-cli.js';

beforeAll(ensureBuilt, 150_000);

const version = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

describe('--help', () => {
  it('lists every flag, with defaults from defaults.ts, and exits 0', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    for (const flag of startFlags) {
      expect(result.stdout).toMatch(new RegExp(`^  ${flag.name}\\b`, 'm'));
    }
    for (const name of ['--listen', '--backend', '--demo', '--strategy', '--workers', '--backlog', '--connect-timeout',
      '--response-timeout', '--client-head-timeout', '--keep-alive-timeout', '--backend-idle-timeout',
      '--max-connections', '--max-body', '--log-level', '--help', '--version',
      '--mode', '--redirect-status', '--proxy-protocol', '--hash-header', '--cookie-name', '--forwarded', '--trust-forwarded',
      '--client-body-timeout', '--tunnel-idle-timeout', '--max-header-count', '--max-head-bytes', '--max-start-line',
      '--health-check', '--health-interval', '--health-timeout', '--health-rise', '--health-fall', '--health-expect',
      '--health-host', '--outlier-failures', '--outlier-ejection-time', '--outlier-max-percent', '--slow-start',
      '--max-tries', '--retry-budget', '--retry-min-per-second']) {
      expect(startFlags.map((f) => f.name)).toContain(name);
    }
    expect(startFlags.map((f) => f.name)).not.toContain('--no-x-forwarded-for');
    expect(result.stdout).toContain(`(default: ${defaults.timeouts.connectMs})`);
    expect(result.stdout).toContain(`(default: ${defaults.listen})`);
    expect(result.stdout).toMatch(/^  --redirect-status CODE .*\(default: 307\)$/m);
    expect(result.stdout).toMatch(/^  --forwarded MODE .*\(default: x-forwarded\)$/m);
    expect(result.stdout).toMatch(/^  --tunnel-idle-timeout MS .*\(default: 3600000\)$/m);
    expect(result.stdout).toMatch(/^  --health-fall N .*\(default: 3\)$/m);
    expect(result.stdout).toContain('public-url=URL');
    expect(result.stdout).toContain(
      'Strategies: round-robin, weighted-round-robin, least-connections, random, p2c, peak-ewma, ip-hash, header-hash, uri-hash, cookie\n',
    );
    expect(result.stdout).not.toContain('coming');
    // The other commands and their flags.
    for (const line of ['lb-native start --config FILE', 'lb-native validate FILE', 'lb-native reload [--admin HOST:PORT] [--token TOKEN]', 'lb-native top [--admin HOST:PORT]']) {
      expect(result.stdout).toContain(line);
    }
    for (const flag of clientFlags) expect(result.stdout).toMatch(new RegExp(`^  ${flag.name}\\b`, 'm'));
    expect(result.stdout).toMatch(/^ {2}--admin HOST:PORT .*\(default: 127\.0\.0\.1:9100\)$/m);
    expect(result.stdout).toMatch(/^ {2}--access-log-sample-rate R .*\(default: 0\)$/m);
    expect(result.stdout.startsWith(`lb-native ${version}:`)).toBe(true);
  });

  it('is the same for -h and for start --help', async () => {
    const [long, short, start] = await Promise.all([runCli(['--help']), runCli(['-h']), runCli(['start', '--backend', 'x', '--help'])]);
    expect(short.stdout).toBe(long.stdout);
    expect(start.stdout).toBe(long.stdout);
    expect(start.code).toBe(0);
  });
});

describe('--version', () => {
  it("prints package.json's version", async () => {
    for (const flag of ['--version', '-v']) {
      const result = await runCli([flag]);
      expect(result.stdout).toBe(`${version}\n`);
      expect(result.code).toBe(0);
    }
  });
});
