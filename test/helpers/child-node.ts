// Runs a Node script in a child process that can import the project's .ts sources, with a
// bounded run time; the child is killed by its own PID if it overstays.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** File path of the hooks registration, for `--import` or `execArgv`. */
export const tsRegisterPath = fileURLToPath(new URL('./ts-register.mjs', import.meta.url));

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True if the child had to be killed at the deadline. */
  timedOut: boolean;
}

export function runNodeScript(scriptPath: string, { timeoutMs = 20_000, args = [] as string[] } = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', tsRegisterPath, scriptPath, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}
