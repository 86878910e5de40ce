// The global setup that provisions the suites' peers (provision.ts) and its table
// (test-peers.txt): every row names suites that exist; a run whose suites need a missing
// program stops before any test file runs, one line per program with the command that
// installs it; a run whose programs are all here goes on. The runs are real vitest
// processes on a table of the test's own.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { describeMissing, missingPeers, parsePeerTable, peersFor, readPeerTable, repoRoot } from './test-peers.js';

const dir = mkdtempSync(join(tmpdir(), 'lb-provision-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `vitest run file` in a child process with `table` as the peer table. */
function runVitest(table: string, file: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, LB_TEST_PEERS_TABLE: table, NO_COLOR: '1', ...env };
  delete childEnv.FORCE_COLOR;
  // The child is a vitest of its own, not a worker of this one.
  for (const key of Object.keys(childEnv)) if (key.startsWith('VITEST')) delete childEnv[key];
  const child = spawn(process.execPath, [join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs'), 'run', file], {
    cwd: repoRoot,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), 60_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function table(name: string, rows: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `# program packages suites\n${rows.join('\n')}\n`);
  return path;
}

// A quick test file with no peers of its own, as the selected suite.
const quickFile = 'test/config/address.test.ts';

describe('the peer table', () => {
  it('names suites that exist, and packages for every row', () => {
    const peers = readPeerTable();
    expect(peers.length).toBeGreaterThan(0);
    for (const peer of peers) {
      expect(
        peer.packages.every((p) => /^[a-z0-9][a-z0-9+.-]+$/.test(p)),
        peer.program,
      ).toBe(true);
      for (const suite of peer.suites) {
        if (suite === 'bench') continue;
        expect(existsSync(join(repoRoot, suite)), `${peer.program}: ${suite} does not exist`).toBe(true);
      }
    }
  });

  it('picks the rows of the selected files: a folder covers its files, bench rows no test file', () => {
    const peers = parsePeerTable(
      ['a a test/discovery', 'b b test/discovery/keepalived.test.ts', 'c c bench', 'd d test/cli/x.test.ts test/deploy'].join(
        '\n',
      ),
    );
    const names = (files: string[]) => peersFor(peers, files).map((p) => p.program);
    expect(names([join(repoRoot, 'test/discovery/dns-discovery.test.ts')])).toEqual(['a']);
    expect(names(['test/discovery/keepalived.test.ts'])).toEqual(['a', 'b']);
    expect(names(['test/deploy/deploy-files.test.ts', 'test/cli/y.test.ts'])).toEqual(['d']);
    expect(names(['test/config/file.test.ts'])).toEqual([]);
  });

  it('refuses a malformed row, naming its line', () => {
    expect(() => parsePeerTable('# c\nonly-a-program\n', 'peers.txt')).toThrow(
      'peers.txt:2: expected "program packages suite...", got \'only-a-program\'',
    );
  });

  it('says when a program is installed in a folder that is not on PATH', () => {
    const name = readdirSync('/usr/sbin').find((entry) => statSync(join('/usr/sbin', entry)).isFile());
    expect(name).toBeDefined();
    const missing = missingPeers([{ program: name!, packages: ['pkg'], suites: ['test/x'] }], '/nonexistent-dir');
    expect(describeMissing(missing)).toEqual([
      `${name}: installed in /usr/sbin, which is not on PATH (needed by test/x): PATH="$PATH:/usr/sbin" npm test`,
    ]);
  });
});

describe('npm test provisions its peers first', () => {
  it('a missing program that cannot be installed stops the run before any test, one line per program with its install command', async () => {
    const path = table('missing.txt', [
      `lb-native-no-such-program-a  no-such-package-a,fonts-x  ${quickFile}`,
      `/nonexistent/lb-native-peer  no-such-package-b  test/config`,
      `lb-native-no-such-program-c  no-such-package-c  test/discovery`,
    ]);
    const run = await runVitest(path, quickFile, { LB_TEST_PROVISION: 'check' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      [
        'test peers: the selected suites need programs this machine lacks (not installed: LB_TEST_PROVISION=check):',
        `  lb-native-no-such-program-a: missing (needed by ${quickFile}): sudo apt-get install --no-install-recommends no-such-package-a fonts-x`,
        '  /nonexistent/lb-native-peer: missing (needed by test/config): sudo apt-get install --no-install-recommends no-such-package-b',
        '  or all of them: sudo bash scripts/install-test-peers.sh',
      ].join('\n'),
    );
    // Only the selected suites' programs are asked for, and no test ran.
    expect(run.stderr).not.toContain('no-such-program-c');
    expect(run.stdout).not.toMatch(/Test Files|passed/);
  });

  it('a run whose programs are all here goes on', async () => {
    const path = table('present.txt', [`sh  dash  ${quickFile}`, 'lb-native-no-such-program  no-such-package  test/discovery']);
    const run = await runVitest(path, quickFile, { LB_TEST_PROVISION: 'check' });
    expect(run.stderr).not.toContain('test peers');
    expect(run.stdout).toMatch(/Test Files +1 passed/);
    expect(run.code).toBe(0);
  });
});
