// Long-running child processes for fault tests: a backend that can be killed by PID and
// restarted, and a balancer whose RSS and fds can be read from /proc/PID. Every child is
// killed by its own PID in the cleanup after the test and also exits by itself after a
// bounded lifetime.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { onCleanup } from '../helpers/cleanup.js';
import { tsRegisterPath } from '../helpers/child-node.js';
import { withTimeout } from '../helpers/wait.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

export interface Child {
  process: ChildProcess;
  pid: number;
  /** The first JSON line the child printed. */
  ready: Record<string, unknown>;
  stderr(): string;
  /** Sends one line on stdin and resolves with the next JSON line on stdout. */
  ask(command: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Writes one line on stdin, expecting no answer. */
  send(command: string): void;
  /** SIGKILL by PID; resolves once it has exited. */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

async function startChild(args: string[], what: string, timeoutMs = 25_000): Promise<Child> {
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const pid = child.pid!;
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buffered += d;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      lines.push(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
    wake?.();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      wake?.();
      resolve(code);
    }),
  );
  let done = false;
  void exited.then(() => (done = true));
  const nextLine = async (timeout: number): Promise<Record<string, unknown>> =>
    withTimeout(
      `${what}: a line from the child (stderr: ${stderr})`,
      (async () => {
        for (;;) {
          const line = lines.shift();
          if (line !== undefined) return JSON.parse(line) as Record<string, unknown>;
          if (done) throw new Error(`${what} exited; stderr: ${stderr}`);
          await new Promise<void>((resolve) => (wake = resolve));
        }
      })(),
      timeout,
    );
  const kill = async (): Promise<void> => {
    if (done) return;
    process.kill(pid, 'SIGKILL');
    await withTimeout(`${what} (pid ${pid}) exit after SIGKILL`, exited, 5_000);
  };
  onCleanup(kill);
  const ready = await nextLine(timeoutMs);
  return {
    process: child,
    pid,
    ready,
    stderr: () => stderr,
    ask: async (command, timeout = 10_000) => {
      child.stdin!.write(`${command}\n`);
      return nextLine(timeout);
    },
    send: (command) => {
      child.stdin!.write(`${command}\n`);
    },
    kill,
    exited,
  };
}

/** A node:http backend process on `port` (0: any), answering as `name`. */
export async function startChildBackend(port: number, name: string, lifetimeMs = 60_000): Promise<Child & { port: number }> {
  const child = await startChild([fixture('child-backend.mjs'), String(port), name, String(lifetimeMs)], `backend ${name}`);
  return { ...child, port: child.ready.port as number };
}

/** A balancer process started with `options` (JSON); `ask('stats')` returns lb.stats(). */
export async function startChildBalancer(options: object, lifetimeMs = 60_000): Promise<Child & { port: number }> {
  const child = await startChild(
    ['--import', tsRegisterPath, fixture('balancer-child.mjs'), JSON.stringify(options), String(lifetimeMs)],
    'balancer child',
  );
  return { ...child, port: child.ready.port as number };
}

/** Resident set size of process `pid` in bytes, from /proc/PID/status. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** Open fds of process `pid`. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}
