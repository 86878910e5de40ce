// Runs the real `lb-native` binary on a pseudo-terminal, as an operator at a terminal
// would: script(1) (util-linux) gives it a pty for stdin, stdout and stderr, and passes
// the bytes written to its stdin on as typed keys (so "\x03" is Ctrl-C, delivered by the
// terminal as SIGINT). The output is what the terminal shows, CR LF turned back into LF.
// Killed by PID if still running at the end of its timeout.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { cliPath, exitWithin, packageRoot, untilOrExit } from './cli.js';
import { externalProgramEnv } from './external-env.js';

const quote = (arg: string): string => `'${arg.replaceAll("'", "'\\''")}'`;

export interface TerminalResult {
  code: number | null;
  output: string;
}

export class TerminalProcess {
  readonly child: ChildProcess;
  #output = '';
  readonly exited: Promise<TerminalResult>;

  constructor(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
    // The node inside loads the addon as the tests do (the sanitizer run's preload and
    // addon path); script itself must not preload anything.
    const nodeEnv = Object.entries(pick(process.env, 'LD_PRELOAD', 'ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LB_NATIVE_ADDON')).map(
      ([key, value]) => `${key}=${value ?? ''}`,
    );
    // exec: lb-native itself is script's child, the terminal's foreground process.
    const command = `exec ${['env', ...nodeEnv, process.execPath, cliPath, ...args].map(quote).join(' ')}`;
    // -q quiet, -f flush at once, -e exit with the command's status; no typescript file.
    this.child = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd: packageRoot,
      env: externalProgramEnv({ COLUMNS: '120', LINES: '40', ...env }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (this.#output += chunk));
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (this.#output += chunk));
    this.exited = new Promise((resolve, reject) => {
      this.child.once('error', reject);
      this.child.once('close', (code) => resolve({ code, output: this.output }));
    });
  }

  /** What the terminal showed so far. */
  get output(): string {
    return this.#output.replaceAll('\r\n', '\n');
  }

  /** Types `keys` at the terminal. */
  type(keys: string): void {
    this.child.stdin?.write(keys);
  }

  waitForOutput(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    return untilOrExit(
      () => this.output.match(pattern) ?? undefined,
      this.exited,
      timeoutMs,
      (why) => `${why} before the terminal showed ${pattern}\n${this.output}`,
    );
  }

  /** The exit result, or a rejection after `timeoutMs` (killed by PID then); its stdin is closed either way. */
  async waitForExit(timeoutMs = 15_000): Promise<TerminalResult> {
    try {
      return await exitWithin(
        this.exited,
        timeoutMs,
        () => this.kill(),
        () => this.output,
      );
    } finally {
      this.child.stdin?.end();
    }
  }

  /**
   * SIGKILL by PID, if still running: lb-native first (script's child; a terminal that
   * goes away would send it SIGHUP, which reloads), then script.
   */
  kill(): void {
    const pid = this.child.pid;
    if (pid === undefined || this.child.exitCode !== null || this.child.signalCode !== null) return;
    for (const child of childPids(pid)) process.kill(child, 'SIGKILL');
    process.kill(pid, 'SIGKILL');
  }
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function pick(env: NodeJS.ProcessEnv, ...keys: string[]): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const key of keys) if (env[key] !== undefined) out[key] = env[key];
  return out;
}
