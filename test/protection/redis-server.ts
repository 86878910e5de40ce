// A redis-server (Debian's package, a row of test/setup/test-peers.txt) started by a test on
// a free loopback port, with no persistence, stopped by its PID. `restart()` starts a new
// one on the same port (a Redis that went away and came back, empty).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { onCleanup } from '../helpers/cleanup.js';
import { freePort } from '../helpers/free-port.js';
import { withTimeout } from '../helpers/wait.js';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** The running server's PID (undefined while stopped). */
  pid(): number | undefined;
  /** Kills the server by its PID and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts a new, empty server on the same port. */
  restart(): Promise<void>;
}

async function launch(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  await withTimeout(
    `redis-server on port ${port}`,
    new Promise<void>((resolve, reject) => {
      const look = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) resolve();
      };
      child.stdout?.on('data', look);
      child.stderr?.on('data', look);
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`redis-server exited (${String(code)}): ${output}`)));
    }),
    10_000,
  );
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGKILL');
  await withTimeout('redis-server exit', exited, 5_000);
}

export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'lb-redis-'));
  let child: ChildProcess | undefined = await launch(port, dir);
  onCleanup(async () => {
    if (child) await kill(child);
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: () => child?.pid,
    async stop() {
      if (child) await kill(child);
      child = undefined;
    },
    async restart() {
      child = await launch(port, dir);
    },
  };
}
