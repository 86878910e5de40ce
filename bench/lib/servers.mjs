// Backends and the proxies under test. Every server runs as a foreground child of the
// harness with its config in a private temp dir.
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts, runCapture, startChild, stopChild, tail, waitForPorts } from './procs.mjs';

const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
export const REPO_DIR = fileURLToPath(new URL('../..', import.meta.url));
const CONFIGS = join(BENCH_DIR, 'configs');

/** @typedef {import('./procs.mjs').ChildRecord} ChildRecord */

/**
 * What a proxy's check() found: whether it can run here, and which lb-native flags exist.
 * @typedef {object} ProxyStatus
 * @property {boolean} ok
 * @property {string} [status]
 * @property {string} [note]
 * @property {string} [addon]
 * @property {boolean} [redirect] it has a redirect mode
 * @property {boolean} [https] it has an HTTPS listener (the `https` variant)
 * @property {boolean} [httpsOnly] it runs the HTTPS scenarios only
 * @property {boolean} [h2] it serves HTTP/2 to clients, over TLS and as h2c (the `h2` and `h2c` variants)
 * @property {boolean} [noForwarded]
 * @property {boolean} [poolFlag]
 * @property {boolean} [idleFlag]
 * @property {string} [help]
 * @property {Record<string, string>} [failedVariants] variant -> why it cannot run any more
 */

/**
 * The backend nginx: its process and its two ports.
 * @typedef {{ rec: ChildRecord, pid: number | undefined, ports: number[] }} Backends
 */

/**
 * What start() is given.
 * @typedef {object} StartContext
 * @property {number[]} backends backend ports
 * @property {number} workers
 * @property {string | number | null} [pin]
 * @property {number} pool idle upstream connections per backend
 * @property {number} [idleConns]
 * @property {ProxyStatus} [lbStatus]
 * @property {string[]} [lbArgs]
 * @property {Backends} backendInfo
 * @property {import('./certificate.mjs').BenchCertificate} [tls] the certificate for the `https` variant
 * @property {number} [h2Streams] streams one HTTP/2 client opens at once (the streams scenarios):
 *   each proxy's max-concurrent-streams is raised to it where its default is lower
 */

// Each proxy's own default SETTINGS_MAX_CONCURRENT_STREAMS (lb-native's http2Limits,
// HAProxy's tune.h2.max-concurrent-streams, nginx's http2_max_concurrent_streams).
const H2_DEFAULT_STREAMS = { 'lb-native': 100, haproxy: 100, nginx: 128 };
/**
 * The max-concurrent-streams a proxy gets: its default, or more when a scenario needs more.
 * @param {keyof typeof H2_DEFAULT_STREAMS} proxy
 * @param {StartContext} ctx
 */
const h2MaxStreams = (proxy, ctx) => Math.max(H2_DEFAULT_STREAMS[proxy], ctx.h2Streams ?? 0);

/**
 * A started proxy (`shared`: the backend itself, not to be stopped with the proxy).
 * @typedef {{ rec: ChildRecord, pid: number | undefined, port: number, shared?: boolean }} Instance
 */

/**
 * @typedef {object} ProxyDefinition
 * @property {string} label
 * @property {() => Promise<ProxyStatus>} check
 * @property {(variant: string, ctx: StartContext) => Promise<Instance>} start
 */

/** @type {Set<string>} */
const tmpDirs = new Set();
export function cleanupTmpDirs() {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
  tmpDirs.clear();
}
process.on('exit', cleanupTmpDirs);

/** @param {string} tag */
function makeTmp(tag) {
  const d = mkdtempSync(join(tmpdir(), `lbbench-${tag}-`));
  chmodSync(d, 0o755); // nginx workers may run as an unprivileged user
  tmpDirs.add(d);
  return d;
}

/**
 * @param {string} template
 * @param {Record<string, unknown>} vars
 */
function render(template, vars) {
  const text = readFileSync(join(CONFIGS, template), 'utf8');
  return text.replace(/\{\{(\w+)\}\}/g, (_, k) => {
    if (!(k in vars)) throw new Error(`${template}: no value for {{${k}}}`);
    return String(vars[k]);
  });
}

// The backend's static bodies: name (also the URL path) and size in bytes.
/** @type {Array<[string, number]>} */
export const BODY_FILES = [
  ['16k', 16 * 1024],
  ['64k', 64 * 1024],
  ['1m', 1024 * 1024],
];

// Descriptor limit the harness's children get (raise-able up to the hard limit only).
export const NOFILE = 20000;

/**
 * @param {string} template
 * @param {Record<string, unknown>} vars
 * @param {{ pin?: string | number | null, name: string }} options
 */
async function startNginx(template, vars, { pin, name }) {
  const dir = makeTmp(name);
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, render(template, { DIR: dir, NOFILE, WORKER_CONNECTIONS: 19000, ...vars }));
  if (vars.BODY16K) {
    mkdirSync(join(dir, 'www'), { recursive: true });
    chmodSync(join(dir, 'www'), 0o755);
    for (const [name, size] of BODY_FILES) {
      writeFileSync(join(dir, 'www', name), 'x'.repeat(size - 1) + '\n');
      chmodSync(join(dir, 'www', name), 0o644);
    }
  }
  const rec = startChild('nginx', ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf, '-g', 'daemon off;'], { pin, name });
  rec.dir = dir;
  rec.errorLog = join(dir, 'error.log');
  return rec;
}

/** @param {ChildRecord} rec */
function errorLogTail(rec) {
  try {
    return readFileSync(/** @type {string} */ (rec.errorLog), 'utf8')
      .trim()
      .split('\n')
      .slice(-5)
      .join(' | ');
  } catch {
    return '';
  }
}

/**
 * One nginx serving both backend ports.
 * @param {{ workers?: number, pin?: string | number | null }} [options]
 * @returns {Promise<Backends>}
 */
export async function startBackends({ workers = 1, pin } = {}) {
  const [p1, p2] = /** @type {[number, number]} */ (await freePorts(2));
  const rec = await startNginx(
    'nginx-backend.conf',
    { WORKERS: workers, PORT1: p1, PORT2: p2, BODY16K: true },
    { pin, name: 'backend-nginx' },
  );
  try {
    await waitForPorts(rec, [p1, p2]);
  } catch (e) {
    throw new Error(`${/** @type {Error} */ (e).message} ${errorLogTail(rec)}`, { cause: e });
  }
  return { rec, pid: rec.pid, ports: [p1, p2] };
}

// ---------------------------------------------------------------------------------------
// Proxies. Each definition: check() -> {ok, status, note, ...}; start(variant, ctx) ->
// {rec, pid, port}. variant is 'proxy', 'redirect', 'https' (the proxy on a TLS listener
// serving ctx.tls), 'h2' (the same with HTTP/2 to clients; lb-native offers it by default) or
// 'h2c' (a plain listener speaking HTTP/2 with prior knowledge).

const LB_CLI = join(REPO_DIR, 'dist', 'cli', 'main.js');
const LB_ADDON = join(REPO_DIR, 'build', 'Release', 'lb_native.node');

/**
 * The certificate files of an `https` start.
 * @param {StartContext} ctx
 */
function certificateOf(ctx) {
  if (!ctx.tls) throw new Error('the https variant needs the bench certificate (ctx.tls)');
  return ctx.tls;
}

/** @type {Record<'lb-native' | 'haproxy' | 'nginx' | 'caddy' | 'node-http-proxy' | 'direct', ProxyDefinition>} */
export const PROXIES = {
  'lb-native': {
    label: 'lb-native',
    async check() {
      // node-gyp-build loads build/Release first, then a prebuild for this platform
      const prebuildDir = join(REPO_DIR, 'prebuilds', `${process.platform}-${process.arch}`);
      let addon = existsSync(LB_ADDON) ? LB_ADDON : null;
      if (!addon && existsSync(prebuildDir)) {
        const f = readdirSync(prebuildDir).find((n) => n.endsWith('.node'));
        if (f) addon = join(prebuildDir, f);
      }
      const missing = [];
      if (!existsSync(LB_CLI)) missing.push(LB_CLI.slice(REPO_DIR.length));
      if (!addon) missing.push(`${LB_ADDON.slice(REPO_DIR.length)} (or a prebuild)`);
      if (missing.length) return { ok: false, status: 'not built', note: `missing ${missing.join(', ')} (npm run build)` };
      const h = await runCapture(process.execPath, [LB_CLI, 'start', '--help'], { timeoutMs: 15000 });
      const help = `${h.out}\n${h.err}`;
      if (h.code !== 0 && !/--listen/.test(help)) {
        return {
          ok: false,
          status: 'not runnable',
          note: `\`start --help\` failed (exit ${h.code}): ${help.trim().slice(0, 200)}`,
        };
      }
      // Found above: `missing` would have been returned otherwise.
      const found = /** @type {string} */ (addon);
      const st = statSync(found);
      return {
        ok: true,
        addon: `${found.slice(REPO_DIR.length)} (${st.size} bytes, ${st.mtime.toISOString().slice(0, 19)}Z)`,
        redirect: /--mode\b/.test(help),
        https: /--tls-cert\b/.test(help),
        h2: /--h2c\b/.test(help),
        noForwarded: /--forwarded\b/.test(help),
        poolFlag: /--pool-max-idle\b/.test(help),
        idleFlag: /--backend-idle-timeout\b/.test(help),
        help,
      };
    },
    async start(variant, ctx) {
      const { backends, workers, pin, pool, lbStatus, lbArgs } = ctx;
      const [port] = /** @type {[number]} */ (await freePorts(1));
      const args = [LB_CLI, 'start', '--listen', `127.0.0.1:${port}`];
      for (const b of backends) args.push('--backend', `127.0.0.1:${b}`);
      args.push('--workers', String(workers));
      // The peers add no forwarding headers in their bench configs; match that.
      if (lbStatus?.noForwarded) args.push('--forwarded', 'none');
      // The peers keep idle upstream connections for 300 s; lb-native's default (4 s) would
      // empty its pool between one repetition and the next.
      if (lbStatus?.idleFlag) args.push('--backend-idle-timeout', '300000');
      // The same idle pool size the peers get (its surplus handling stays lb-native's default).
      if (lbStatus?.poolFlag) args.push('--pool-max-idle', String(pool));
      if (variant === 'redirect') args.push('--mode', 'redirect');
      if (variant === 'ratelimit') {
        // Two rules far above any load this machine makes: one per client address, one per
        // value of the X-Tenant header the ka50rl row sends. Each request is checked by both.
        const dir = makeTmp('lb-ratelimit');
        const file = join(dir, 'protection.yaml');
        writeFileSync(
          file,
          [
            'protection:',
            '  rateLimits:',
            '    - { name: per-client, key: client, rate: 1000000, burst: 1000000 }',
            '    - { name: per-tenant, key: header, header: x-tenant, rate: 1000000, burst: 1000000 }',
            '',
          ].join('\n'),
        );
        args.push('--config', file);
      }
      if (variant === 'https' || variant === 'h2') {
        const { cert, key } = certificateOf(ctx);
        args.push('--tls-cert', cert, '--tls-key', key);
      }
      if (variant === 'h2c') args.push('--h2c');
      if ((variant === 'h2' || variant === 'h2c') && h2MaxStreams('lb-native', ctx) > H2_DEFAULT_STREAMS['lb-native']) {
        // no flag for it: the limit goes in a config file (the flags above still apply)
        const dir = makeTmp('lb-h2');
        const file = join(dir, 'h2.yaml');
        writeFileSync(file, `http2Limits:\n  maxConcurrentStreams: ${h2MaxStreams('lb-native', ctx)}\n`);
        args.push('--config', file);
      }
      args.push(...(lbArgs ?? []));
      const rec = startChild(process.execPath, args, { pin, name: `lb-native(${variant})` });
      await waitForPorts(rec, [port], 20000);
      return { rec, pid: rec.pid, port };
    },
  },
  haproxy: {
    label: 'HAProxy',
    async check() {
      return { ok: true, redirect: true, https: true, h2: true };
    },
    async start(variant, ctx) {
      const { backends, workers, pin } = ctx;
      const [port] = /** @type {[number]} */ (await freePorts(1));
      const dir = makeTmp('haproxy');
      const cfg = join(dir, 'haproxy.cfg');
      const tpl =
        { redirect: 'haproxy-redirect.cfg', https: 'haproxy-https.cfg', h2: 'haproxy-h2.cfg', h2c: 'haproxy-h2c.cfg' }[variant] ??
        'haproxy-proxy.cfg';
      writeFileSync(
        cfg,
        render(tpl, {
          WORKERS: workers,
          POOL: ctx.pool,
          MAXCONN: Math.max(4096, (ctx.idleConns ?? 10000) + 500),
          PORT: port,
          BACKEND1: backends[0],
          BACKEND2: backends[1],
          PEM: variant === 'https' || variant === 'h2' ? certificateOf(ctx).pem : '',
          H2_MAX_STREAMS: h2MaxStreams('haproxy', ctx),
        }),
      );
      // -db: stay in the foreground, no master-worker: one process, `nbthread` threads.
      const rec = startChild('haproxy', ['-db', '-f', cfg], { pin, name: `haproxy(${variant})` });
      await waitForPorts(rec, [port]);
      return { rec, pid: rec.pid, port };
    },
  },
  nginx: {
    label: 'nginx',
    async check() {
      return { ok: true, redirect: true, https: true, h2: true };
    },
    async start(variant, ctx) {
      const { backends, workers, pin } = ctx;
      const [port] = /** @type {[number]} */ (await freePorts(1));
      const tpl =
        { redirect: 'nginx-redirect.conf', https: 'nginx-https.conf', h2: 'nginx-h2.conf', h2c: 'nginx-h2c.conf' }[variant] ??
        'nginx-proxy.conf';
      const tls = variant === 'https' || variant === 'h2' ? certificateOf(ctx) : null;
      const rec = await startNginx(
        tpl,
        {
          WORKERS: workers,
          PORT: port,
          BACKEND1: backends[0],
          BACKEND2: backends[1],
          POOL: 2 * ctx.pool,
          CERT: tls?.cert ?? '',
          KEY: tls?.key ?? '',
          H2_MAX_STREAMS: h2MaxStreams('nginx', ctx),
        },
        { pin, name: `nginx(${variant})` },
      );
      try {
        await waitForPorts(rec, [port]);
      } catch (e) {
        throw new Error(`${/** @type {Error} */ (e).message} ${errorLogTail(rec)}`, { cause: e });
      }
      return { rec, pid: rec.pid, port };
    },
  },
  caddy: {
    label: 'Caddy',
    async check() {
      const r = await runCapture('caddy', ['version'], { timeoutMs: 10000 }).catch(() => null);
      if (!r || r.code !== 0) return { ok: false, status: 'missing', note: 'caddy not installed (apt-get install caddy)' };
      return { ok: true, redirect: false, https: true, httpsOnly: true };
    },
    // HTTPS only: a reverse proxy with the bench certificate, no automatic HTTPS, no admin
    // endpoint, one Go scheduler thread (GOMAXPROCS=1) as the others get one worker.
    async start(variant, ctx) {
      const { backends, workers, pin } = ctx;
      if (variant !== 'https') throw new Error(`caddy runs the https variant only, not ${variant}`);
      const { cert, key } = certificateOf(ctx);
      const [port] = /** @type {[number]} */ (await freePorts(1));
      const dir = makeTmp('caddy');
      const cfg = join(dir, 'caddy.json');
      writeFileSync(
        cfg,
        render('caddy-https.json.template', {
          DIR: dir,
          PORT: port,
          BACKEND1: backends[0],
          BACKEND2: backends[1],
          POOL: ctx.pool,
          CERT: cert,
          KEY: key,
        }),
      );
      const env = { ...process.env, GOMAXPROCS: String(workers), HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir };
      const rec = startChild('caddy', ['run', '--config', cfg], { pin, env, name: `caddy(${variant})` });
      await waitForPorts(rec, [port]);
      return { rec, pid: rec.pid, port };
    },
  },
  'node-http-proxy': {
    label: 'node http-proxy',
    async check() {
      if (!existsSync(join(REPO_DIR, 'node_modules', 'http-proxy'))) {
        return { ok: false, status: 'missing', note: 'http-proxy devDependency not installed (npm install)' };
      }
      return { ok: true, redirect: true };
    },
    async start(variant, { backends, pin, pool }) {
      const [port] = /** @type {[number]} */ (await freePorts(1));
      const args = [
        join(BENCH_DIR, 'node-http-proxy.mjs'),
        '--listen',
        `127.0.0.1:${port}`,
        '--mode',
        variant === 'redirect' ? 'redirect' : 'proxy',
        '--pool',
        String(pool),
      ];
      for (const b of backends) args.push('--backend', `127.0.0.1:${b}`);
      const rec = startChild(process.execPath, args, { pin, name: `node-http-proxy(${variant})` });
      await waitForPorts(rec, [port]);
      return { rec, pid: rec.pid, port };
    },
  },
  direct: {
    label: 'direct (no proxy)',
    async check() {
      return { ok: true, redirect: false };
    },
    // "direct" is wrk straight at the first backend port: the ceiling.
    async start(variant, { backendInfo }) {
      return { rec: backendInfo.rec, pid: backendInfo.pid, port: /** @type {number} */ (backendInfo.ports[0]), shared: true };
    },
  },
};

/** @param {Instance | null | undefined} inst */
export async function stopInstance(inst) {
  if (!inst || inst.shared) return;
  await stopChild(inst.rec);
}

export { tail };
