import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

import { clientFlags, startFlags } from '../../src/cli/args.js';
import { defaults } from '../../src/config/defaults.js';
import { ensureBuilt, packageRoot, runCli } from '../helpers/cli.js';

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
    for (const name of [
      '--listen',
      '--backend',
      '--demo',
      '--strategy',
      '--workers',
      '--backlog',
      '--connect-timeout',
      '--response-timeout',
      '--client-head-timeout',
      '--keep-alive-timeout',
      '--backend-idle-timeout',
      '--max-connections',
      '--max-body',
      '--log-level',
      '--help',
      '--version',
      '--mode',
      '--redirect-status',
      '--proxy-protocol',
      '--hash-header',
      '--cookie-name',
      '--forwarded',
      '--trust-forwarded',
      '--client-body-timeout',
      '--tunnel-idle-timeout',
      '--max-header-count',
      '--max-head-bytes',
      '--max-start-line',
      '--health-check',
      '--health-interval',
      '--health-timeout',
      '--health-rise',
      '--health-fall',
      '--health-expect',
      '--health-host',
      '--outlier-failures',
      '--outlier-ejection-time',
      '--outlier-max-percent',
      '--slow-start',
      '--max-tries',
      '--retry-budget',
      '--retry-min-per-second',
    ]) {
      expect(startFlags.map((f) => f.name)).toContain(name);
    }
    expect(startFlags.map((f) => f.name)).not.toContain('--no-x-forwarded-for');
    expect(result.stdout).toContain(`(default: ${defaults.timeouts.connectMs})`);
    expect(result.stdout).toContain(`(default: ${defaults.listen})`);
    expect(result.stdout).toMatch(/^ {2}--redirect-status CODE .*\(default: 307\)$/m);
    expect(result.stdout).toMatch(/^ {2}--forwarded MODE .*\(default: x-forwarded\)$/m);
    expect(result.stdout).toMatch(/^ {2}--tunnel-idle-timeout MS .*\(default: 3600000\)$/m);
    expect(result.stdout).toMatch(/^ {2}--health-fall N .*\(default: 3\)$/m);
    expect(result.stdout).toContain('public-url=URL');
    expect(result.stdout).toContain(
      'Strategies: round-robin, weighted-round-robin, least-connections, random, p2c, peak-ewma, ip-hash, header-hash, uri-hash, cookie\n',
    );
    expect(result.stdout).not.toContain('coming');
    // The other commands and their flags.
    for (const line of [
      'lb-native start --config FILE',
      'lb-native validate FILE',
      'lb-native reload [--admin HOST:PORT] [--token TOKEN]',
      'lb-native top [--admin HOST:PORT]',
    ]) {
      expect(result.stdout).toContain(line);
    }
    for (const flag of clientFlags) expect(result.stdout).toMatch(new RegExp(`^  ${flag.name}\\b`, 'm'));
    expect(result.stdout).toMatch(/^ {2}--admin HOST:PORT .*\(default: 127\.0\.0\.1:9100\)$/m);
    expect(result.stdout).toMatch(/^ {2}--access-log-sample-rate R .*\(default: 0\)$/m);
    expect(result.stdout.startsWith(`lb-native ${version}:`)).toBe(true);
  });

  it('is the same for -h', async () => {
    const [long, short] = await Promise.all([runCli(['--help']), runCli(['-h'])]);
    expect(short.stdout).toBe(long.stdout);
    expect(long.stdout).toContain('lb-native COMMAND --help');
  });
});

// Issue 16: `start --help` and `top --help` printed the global help.
describe("COMMAND --help prints that command's own help", () => {
  it('start: its usage and every flag of start, none of the other commands', async () => {
    const [start, startWithFlags, short] = await Promise.all([
      runCli(['start', '--help']),
      runCli(['start', '--backend', 'x', '--help']),
      runCli(['start', '-h']),
    ]);
    expect(start).toMatchObject({ code: 0, stderr: '' });
    expect(startWithFlags.stdout).toBe(start.stdout);
    expect(short.stdout).toBe(start.stdout);
    expect(start.stdout).toContain('lb-native start --config FILE');
    for (const flag of startFlags) expect(start.stdout).toMatch(new RegExp(`^  ${flag.name}\\b`, 'm'));
    expect(start.stdout).toMatch(/^ {2}--log-format FORMAT .*\(default: pretty on a terminal, json otherwise\)$/m);
    expect(start.stdout).toContain('b1 b1 b2 b2');
    for (const other of ['lb-native top [', 'lb-native reload [', 'lb-native validate FILE', '--interval', '--once'])
      expect(start.stdout).not.toContain(other);
  });

  it('top: its usage, its flags and its keys, not those of start', async () => {
    const top = await runCli(['top', '--help']);
    expect(top).toMatchObject({ code: 0, stderr: '' });
    expect(top.stdout).toContain('lb-native top [--admin HOST:PORT]');
    for (const flag of ['--admin', '--token', '--interval', '--once'])
      expect(top.stdout).toMatch(new RegExp(`^  ${flag}\\b`, 'm'));
    expect(top.stdout).toContain('q or Ctrl-C quits');
    for (const other of ['--backend', 'lb-native start', '--config']) expect(top.stdout).not.toContain(other);
  });

  it('reload and validate', async () => {
    const [reload, validate] = await Promise.all([runCli(['reload', '--help']), runCli(['validate', '--help'])]);
    expect(reload).toMatchObject({ code: 0, stderr: '' });
    expect(reload.stdout).toContain('lb-native reload --config FILE');
    for (const flag of ['--admin', '--token', '--config']) expect(reload.stdout).toMatch(new RegExp(`^  ${flag}\\b`, 'm'));
    expect(reload.stdout).not.toContain('--interval');
    expect(validate).toMatchObject({ code: 0, stderr: '' });
    expect(validate.stdout).toContain('lb-native validate FILE');
    expect(validate.stdout).toContain('resolves the host names');
    expect(validate.stdout).not.toContain('--backend');
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
