// The real `lb-native` binary (dist/cli/main.js) for tests: run in a child process
// (CliProcess, runCli) and what a usage error looks like. Builds dist/ first when any src/
// file is newer than it (one build at a time across test files, by a lock directory). A
// process that outlives its timeout is killed by PID; files with long-running processes
// also call killSpawnedAfterEach(). On a pseudo-terminal: cli-terminal.ts.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

import { delay } from './wait.js';

export const packageRoot = fileURLToPath(new URL('../../', import.meta.url));
export const cliPath = join(packageRoot, 'dist', 'cli', 'main.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function builtAt(): number {
  try {
    return statSync(cliPath).mtimeMs;
  } catch {
    return 0;
  }
}

/** Compiles src/ to dist/ if dist/cli/main.js is missing or older than any source. */
export async function ensureBuilt(): Promise<void> {
  const lock = join(packageRoot, 'node_modules', '.cache', 'lb-native-cli-test-build.lock');
  mkdirSync(join(lock, '..'), { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock older than the deadline is from a run that died; take it over.
      const held = statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > 120_000) break;
      if (Date.now() > deadline) throw new Error(`timed out waiting for the build lock ${lock}`);
      await delay(100);
    }
  }
  try {
    if (builtAt() < newestMtime(join(packageRoot, 'src'))) {
      execFileSync(
        process.execPath,
        [join(packageRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
        {
          cwd: packageRoot,
          stdio: 'pipe',
          timeout: 120_000,
        },
      );
      // As `npm run build:ts` does: the bin runs through its shebang (npx lb-native).
      chmodSync(cliPath, 0o755);
    }
  } finally {
    rmdirSync(lock);
  }
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const running = new Set<ChildProcess>();

function killByPid(child: ChildProcess): void {
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    process.kill(child.pid, 'SIGKILL');
  }
}

/**
 * Registers an afterEach that kills (by PID) every process this file started and that is
 * still running. For files whose tests run one at a time.
 */
export function killSpawnedAfterEach(): void {
  afterEach(() => {
    for (const child of running) killByPid(child);
    running.clear();
  });
}

/** One JSON log line of `lb-native start` (pino): level, time, pid, msg and the event's fields. */
export interface LogLine {
  level: string;
  time: string;
  msg: string;
  [field: string]: unknown;
}

/** The JSON log lines in `stdout`; throws if any non-empty line is not a JSON object. */
export function parseLogLines(stdout: string): LogLine[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const parsed = JSON.parse(line) as unknown;
      if (typeof parsed !== 'object' || parsed === null || typeof (parsed as LogLine).msg !== 'string') {
        throw new Error(`not a log line: ${line}`);
      }
      return parsed as LogLine;
    });
}

/** A running `lb-native` process with its output so far. */
export class CliProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  /** Settles when the process has exited and its output is complete. */
  readonly exited: Promise<CliResult>;

  constructor(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [cliPath, ...args], {
      cwd: packageRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(this.child);
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.stdout += chunk));
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve, reject) => {
      this.child.once('error', reject);
      this.child.once('close', (code, signal) => {
        running.delete(this.child);
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  /** Resolves with the first match of `pattern` in stdout; rejects on exit or after `timeoutMs`. */
  waitForStdout(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
    return untilOrExit(
      () => this.stdout.match(pattern) ?? undefined,
      this.exited,
      timeoutMs,
      (why) => `${why} before stdout matched ${pattern}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`,
    );
  }

  /** The JSON log lines printed so far (complete lines only). */
  logs(): LogLine[] {
    const complete = this.stdout.slice(0, this.stdout.lastIndexOf('\n') + 1);
    return parseLogLines(complete);
  }

  /** Resolves with the first log line with `msg` (and matching `match`); rejects on exit or after `timeoutMs`. */
  waitForLog(msg: string, match: (line: LogLine) => boolean = () => true, timeoutMs = 10_000): Promise<LogLine> {
    return untilOrExit(
      () => this.logs().find((line) => line.msg === msg && match(line)),
      this.exited,
      timeoutMs,
      (why) => `${why} before a '${msg}' log line\nstdout: ${this.stdout}\nstderr: ${this.stderr}`,
    );
  }

  /** Log lines with `msg` so far. */
  logsOf(msg: string): LogLine[] {
    return this.logs().filter((line) => line.msg === msg);
  }

  /** Sends `signal` to this process (by PID). */
  signal(signal: NodeJS.Signals): void {
    if (this.child.pid !== undefined) process.kill(this.child.pid, signal);
  }

  /** The exit result, or a rejection after `timeoutMs` (killed by PID then). */
  waitForExit(timeoutMs = 15_000): Promise<CliResult> {
    return exitWithin(
      this.exited,
      timeoutMs,
      () => killByPid(this.child),
      () => `stdout: ${this.stdout}\nstderr: ${this.stderr}`,
    );
  }
}

/** Runs `lb-native args...` to completion; killed by PID if still running after `timeoutMs`. */
export function runCli(args: readonly string[], timeoutMs = 15_000, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new CliProcess(args, env).waitForExit(timeoutMs);
}

/**
 * What a usage error gives: exit 2, nothing on stdout, and exactly `lines` on stderr, each
 * after `prefix` (`lb-native: `; `validate` prints its problems bare). For toMatchObject.
 */
export function usageError(lines: string | readonly string[], prefix = 'lb-native: '): Partial<CliResult> {
  const stderr = (typeof lines === 'string' ? [lines] : lines).map((line) => `${prefix}${line}\n`).join('');
  return { code: 2, stdout: '', stderr };
}

/** The arguments of `lb-native start` on a free port with one worker and `backend`, then `extra`. */
export function startArgs(backend: string, ...extra: string[]): string[] {
  return ['start', '--listen', '127.0.0.1:0', '--backend', backend, '--workers', '1', ...extra];
}

/**
 * Polls `check` every 20 ms until it gives a value, which is returned; rejects once
 * `exited` settles or `timeoutMs` passes first, with `describe('exited' | 'timed out')`.
 */
export async function untilOrExit<T>(
  check: () => T | undefined,
  exited: Promise<unknown>,
  timeoutMs: number,
  describe: (why: string) => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let over = false;
  void exited.then(
    () => (over = true),
    () => (over = true),
  );
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (over || Date.now() > deadline) throw new Error(describe(over ? 'exited' : 'timed out'));
    await delay(20);
  }
}

/** `exited`, or a rejection after `timeoutMs`, when `kill` is called; `output` describes what was printed. */
export async function exitWithin<T>(exited: Promise<T>, timeoutMs: number, kill: () => void, output: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      kill();
      reject(new Error(`still running after ${timeoutMs} ms (killed)\n${output()}`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
