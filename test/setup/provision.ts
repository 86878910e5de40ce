// Global setup (vitest.config.ts `globalSetup`): before any test file runs, checks that the
// programs the selected suites drive are here (test/setup/test-peers.txt). What is missing
// is installed at once with scripts/install-test-peers.sh when this machine allows it (root,
// or passwordless sudo, and apt-get); otherwise the run stops here, with one line per
// missing program and the command that installs it, instead of failing suite by suite.
//
// LB_TEST_PROVISION=check only checks (never installs). LB_TEST_PEERS_TABLE names another
// table (the provisioning's own test uses it).
//
// With everything present this costs a table read and a few stat calls.
import { spawnSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';

import { externalProgramEnv } from '../helpers/external-env.js';
import {
  type MissingPeer,
  type TestPeer,
  defaultTablePath,
  describeMissing,
  installScript,
  locate,
  missingPeers,
  peersFor,
  readPeerTable,
} from './test-peers.js';

/** The files this run will run: vitest keeps the command line's filters on `filenamePattern`. */
async function selectedFiles(project: TestProject): Promise<string[]> {
  const filters = (project.vitest as unknown as { filenamePattern?: string[] }).filenamePattern;
  const { testFiles } = await project.globTestFiles(filters);
  return testFiles;
}

/** Why this process cannot install packages, or undefined if it can. */
function cannotInstall(): string | undefined {
  if (process.env.LB_TEST_PROVISION === 'check') return 'LB_TEST_PROVISION=check';
  if (locate('apt-get') === undefined) return 'no apt-get here';
  if (process.getuid?.() === 0) return undefined;
  const sudo = spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore', env: externalProgramEnv() });
  return sudo.status === 0 ? undefined : 'not root, and sudo asks for a password';
}

function install(peers: readonly TestPeer[]): void {
  const programs = peers.map((peer) => peer.program);
  process.stderr.write(`test peers: installing what the selected suites need: ${programs.join(', ')}\n`);
  // The installer's output goes to stderr, like vitest's own progress.
  spawnSync('bash', [installScript, ...programs], {
    stdio: ['ignore', 2, 2],
    env: externalProgramEnv(process.env.LB_TEST_PEERS_TABLE ? { LB_TEST_PEERS_TABLE: process.env.LB_TEST_PEERS_TABLE } : {}),
  });
}

/**
 * Stops the run before any test file starts: the report on stderr, exit status 1. (A
 * thrown error would be shown as an "Unhandled Error" after "No test files found".)
 */
function stopRun(missing: readonly MissingPeer[], reason: string | undefined): never {
  const headline =
    reason === undefined
      ? 'test peers: still missing after installing them:'
      : `test peers: the selected suites need programs this machine lacks (not installed: ${reason}):`;
  const lines = [
    headline,
    ...describeMissing(missing).map((line) => `  ${line}`),
    '  or all of them: sudo bash scripts/install-test-peers.sh',
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
  process.exit(1);
}

export default async function provision(project: TestProject): Promise<void> {
  const table = readPeerTable(process.env.LB_TEST_PEERS_TABLE ?? defaultTablePath);
  const needed = peersFor(table, await selectedFiles(project));
  const missing = missingPeers(needed);
  if (missing.length === 0) return;
  // Installed off PATH: installing again would not help.
  const installable = missing.filter((m) => m.offPath === undefined);
  const reason = installable.length === 0 ? 'installed, but not on PATH' : cannotInstall();
  if (reason !== undefined) stopRun(missing, reason);
  install(installable.map((m) => m.peer));
  const still = missingPeers(needed);
  if (still.length > 0) stopRun(still, undefined);
}
