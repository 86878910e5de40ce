// Child-process bookkeeping for the bench: every process the harness starts is
// registered here and torn down (by its own PID / process group) on exit, on
// SIGINT/SIGTERM and on the global watchdog.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';

/**
 * How a child ended: its exit code and signal, or (code -1) the spawn error.
 * @typedef {{ code: number | null, signal: NodeJS.Signals | null, error?: Error }} ChildExit
 */

/**
 * A child the harness started: its output (tails, or all of stdout with keepStdout) and
 * how it ended. `dir` and `errorLog` are set by servers.mjs for the proxies it configures.
 * @typedef {object} ChildRecord
 * @property {string} name
 * @property {import('node:child_process').ChildProcess} child
 * @property {number | undefined} pid
 * @property {string} out
 * @property {string} err
 * @property {boolean} exited
 * @property {number | null} exitCode
 * @property {NodeJS.Signals | null} exitSignal
 * @property {Array<(stream: 'out' | 'err', text: string) => void>} listeners
 * @property {Promise<ChildExit>} done
 * @property {string} [dir]
 * @property {string} [errorLog]
 */

/**
 * @typedef {object} StartChildOptions
 * @property {NodeJS.ProcessEnv} [env]
 * @property {string} [cwd]
 * @property {string | number | null} [pin] CPU list for taskset -c
 * @property {string} [name]
 * @property {boolean} [keepStdout] keep all of stdout, not only its tail
 * @property {'ignore' | 'pipe'} [stdin]
 */

/** @type {Set<ChildRecord>} */
const children = new Set();
let cleaningUp = false;
/** @type {number | null} */
let niceLevel = null;

/**
 * Run every child under `nice -n level` (negative needs root): --nice.
 * @param {number | null} level
 */
export function setNice(level) {
  niceLevel = level;
}

/** @param {...unknown} a */
export function log(...a) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${a.join(' ')}\n`);
}

/**
 * Spawn a child in its own process group so a terminal Ctrl-C reaches only the
 * harness (which then stops everything in order). stdout/stderr are kept (tail)
 * for error messages.
 * @param {string} cmd
 * @param {string[]} args
 * @param {StartChildOptions} [options]
 * @returns {ChildRecord}
 */
export function startChild(cmd, args, { env, cwd, pin, name, keepStdout = false, stdin = 'ignore' } = {}) {
  if (cleaningUp) throw new Error('bench is stopping');
  let file = cmd;
  let argv = args;
  if (pin != null) {
    argv = ['-c', String(pin), file, ...argv];
    file = 'taskset';
  }
  if (niceLevel != null) {
    argv = ['-n', String(niceLevel), file, ...argv];
    file = 'nice';
  }
  const child = spawn(file, argv, {
    cwd,
    env: env ?? process.env,
    detached: true,
    stdio: [stdin, 'pipe', 'pipe'],
  });
  // `done` is set just below.
  const rec = /** @type {ChildRecord} */ (
    /** @type {unknown} */ ({
      name: name ?? cmd,
      child,
      pid: child.pid,
      out: '',
      err: '',
      exited: false,
      exitCode: null,
      exitSignal: null,
      listeners: [],
    })
  );
  /** @param {'out' | 'err'} key */
  const cap = (key) => (/** @type {Buffer} */ d) => {
    const s = d.toString();
    rec[key] = keepStdout && key === 'out' ? rec[key] + s : (rec[key] + s).slice(-8192);
    for (const l of rec.listeners) l(key, s);
  };
  // stdio is [stdin, 'pipe', 'pipe']: both streams exist.
  /** @type {import('node:stream').Readable} */ (child.stdout).on('data', cap('out'));
  /** @type {import('node:stream').Readable} */ (child.stderr).on('data', cap('err'));
  rec.done = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      rec.exited = true;
      rec.exitCode = code;
      rec.exitSignal = signal;
      children.delete(rec);
      resolve({ code, signal });
    });
    child.on('error', (e) => {
      rec.err += `\nspawn error: ${e.message}`;
      rec.exited = true;
      children.delete(rec);
      resolve({ code: -1, signal: null, error: e });
    });
  });
  children.add(rec);
  if (niceLevel != null && child.pid) {
    // Detached children lead their own session, hence their own scheduler autogroup, where
    // a plain nice value only ranks threads inside the group. Give the group the same nice.
    try {
      writeFileSync(`/proc/${child.pid}/autogroup`, String(niceLevel));
    } catch {
      /* no autogroups here, or not permitted */
    }
  }
  return rec;
}

/**
 * @param {ChildRecord} rec
 * @param {NodeJS.Signals} sig
 */
function killGroup(rec, sig) {
  if (rec.exited || !rec.pid) return;
  try {
    process.kill(-rec.pid, sig); // the group this child leads (it was started detached)
  } catch {
    try {
      process.kill(rec.pid, sig);
    } catch {
      /* already gone */
    }
  }
}

/**
 * SIGTERM to the child itself (an nginx master then stops and reaps its workers), SIGKILL
 * to its whole process group after graceMs. Resolves when the child is gone.
 * @param {ChildRecord | null | undefined} rec
 * @param {number} [graceMs]
 */
export async function stopChild(rec, graceMs = 2000) {
  if (!rec || rec.exited) return;
  const pid = /** @type {number} */ (rec.pid);
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    /* already gone */
  }
  const t = setTimeout(() => killGroup(rec, 'SIGKILL'), graceMs);
  await rec.done;
  clearTimeout(t);
  // nginx/haproxy workers are in the same group; make sure none linger.
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* group empty */
  }
}

export async function stopAll() {
  await Promise.all([...children].map((r) => stopChild(r, 1500)));
}

function killAllSync() {
  for (const r of children) killGroup(r, 'SIGKILL');
}

export function installCleanupHandlers() {
  /** @param {NodeJS.Signals} sig */
  const onSignal = (sig) => {
    if (cleaningUp) return;
    cleaningUp = true;
    log(`${sig}: stopping ${children.size} child process(es)...`);
    const hard = setTimeout(() => {
      killAllSync();
      process.exit(130);
    }, 4000);
    stopAll().finally(() => {
      clearTimeout(hard);
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGHUP', () => onSignal('SIGHUP'));
  process.on('exit', killAllSync);
}

/** @param {number} ms */
export const sleep = (ms) => /** @type {Promise<void>} */ (new Promise((r) => setTimeout(r, ms)));

/**
 * Ask the kernel for `n` currently free loopback ports.
 * @param {number} n
 * @returns {Promise<number[]>}
 */
export async function freePorts(n) {
  /** @type {net.Server[]} */
  const servers = [];
  /** @type {number[]} */
  const ports = [];
  for (let i = 0; i < n; i++) {
    const s = net.createServer();
    await /** @type {Promise<void>} */ (
      new Promise((res, rej) => {
        s.once('error', rej);
        s.listen(0, '127.0.0.1', res);
      })
    );
    servers.push(s);
    ports.push(/** @type {net.AddressInfo} */ (s.address()).port);
  }
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/**
 * @param {number} port
 * @param {string} [host]
 * @returns {Promise<boolean>}
 */
function tryConnect(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    /** @param {boolean} ok */
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
    sock.setTimeout(500, () => done(false));
  });
}

/**
 * Wait until every port accepts TCP connections; fail early if the child dies.
 * @param {ChildRecord} rec
 * @param {number[]} ports
 * @param {number} [timeoutMs]
 */
export async function waitForPorts(rec, ports, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (const port of ports) {
    for (;;) {
      if (rec.exited) {
        throw new Error(
          `${rec.name} exited (code ${rec.exitCode}, signal ${rec.exitSignal}) before listening on ${port}: ${tail(rec)}`,
        );
      }
      if (await tryConnect(port)) break;
      if (Date.now() > deadline)
        throw new Error(`${rec.name} not accepting on 127.0.0.1:${port} after ${timeoutMs} ms: ${tail(rec)}`);
      await sleep(50);
    }
  }
}

/**
 * @param {ChildRecord} rec
 * @param {number} [n]
 */
export function tail(rec, n = 600) {
  const s = `${rec.err}\n${rec.out}`.trim().replace(/\s+/g, ' ');
  return s.length > n ? `...${s.slice(-n)}` : s || '(no output)';
}

/**
 * pid plus all of its descendants (nginx/haproxy workers, lb-native worker processes).
 * @param {number} rootPid
 * @returns {number[]}
 */
export function processTree(rootPid) {
  /** @type {Map<number, number[]>} */
  const kids = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
      const siblings = kids.get(ppid) ?? [];
      siblings.push(Number(d));
      kids.set(ppid, siblings);
    } catch {
      /* raced with exit */
    }
  }
  const out = [];
  const stack = [rootPid];
  while (stack.length) {
    const p = /** @type {number} */ (stack.pop());
    out.push(p);
    for (const k of kids.get(p) ?? []) stack.push(k);
  }
  return out;
}

/**
 * Run a command to completion with a hard time limit; returns {code, out, err}.
 * @param {string} cmd
 * @param {string[]} args
 * @param {{ timeoutMs?: number, env?: NodeJS.ProcessEnv }} [options]
 * @returns {Promise<ChildExit & { out: string, err: string }>}
 */
export function runCapture(cmd, args, { timeoutMs = 10000, env } = {}) {
  return new Promise((resolve) => {
    const rec = startChild(cmd, args, { env, name: cmd, keepStdout: true });
    const t = setTimeout(() => killGroup(rec, 'SIGKILL'), timeoutMs);
    rec.done.then(({ code, signal, error }) => {
      clearTimeout(t);
      resolve({ code, signal, error, out: rec.out, err: rec.err });
    });
  });
}
