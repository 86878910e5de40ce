// Aggregation (medians, ratios) and the writers: markdown table, hand-written SVG chart.
// The shape of a run's results (run.mjs builds them, these read them) is typed here.

/**
 * @typedef {object} Scenario
 * @property {string} id
 * @property {string} label
 * @property {'load' | 'memory'} kind
 * @property {number} [conns]
 * @property {string[]} [headers]
 * @property {string} [path]
 * @property {'proxy' | 'redirect' | 'https' | 'ratelimit' | 'h2' | 'h2c'} [variant] `https`: the proxy on a TLS listener, wrk over TLS; `ratelimit`: lb-native with rate limits that never trip; `h2`/`h2c`: HTTP/2 to clients over TLS / with prior knowledge
 * @property {'h2load' | 'stalled-streams'} [client] the load client when not wrk; `stalled-streams`: a memory scenario of open HTTP/2 streams whose responses are never read
 * @property {number} [streams] concurrent streams per connection (h2load -m; stalled streams per session)
 * @property {'h2'} [group] scenarios run together (`--scenarios=h2`)
 * @property {boolean} [handshakes] one TLS handshake per request (new connection each): req/s is handshakes/s
 * @property {boolean} [fullHandshakes] wrk never resumes a session (lib/wrk-full-handshake.c preloaded)
 * @property {string} [script] wrk request script under lib/ (uploads)
 * @property {number} [bodyBytes] body bytes per request (response or upload): MB/s and CPU per MB
 * @property {'down' | 'up'} [direction] which way the body goes
 */

/**
 * One measured wrk run of one proxy in one scenario (`failed`: no figures, `error` says why).
 * @typedef {object} Run
 * @property {string} scenario
 * @property {string} proxy
 * @property {number} rep
 * @property {boolean} [failed]
 * @property {string} [error]
 * @property {number} [rps]
 * @property {number} [requests]
 * @property {number} [duration_s]
 * @property {number} [p50_us]
 * @property {number} [p90_us]
 * @property {number} [p99_us]
 * @property {number} [max_us]
 * @property {number | null} [bytes_per_req]
 * @property {number} [errors]
 * @property {Record<string, number>} [err]
 * @property {number} [cpu_s]
 * @property {number | null} [cpu_us_per_req]
 * @property {number | null} [backend_cpu_us_per_req]
 * @property {number} [machine_busy]
 * @property {number | null} [machine_us_per_req]
 * @property {number | null} [foreign_cpu_share]
 * @property {number | null} [steal_share]
 */

/**
 * Syscalls per request under strace (`per_req` null and `note` set when strace failed).
 * @typedef {object} StraceRow
 * @property {string} scenario
 * @property {string} proxy
 * @property {number | null} per_req
 * @property {number} [calls]
 * @property {number} [requests]
 * @property {Array<{ name: string, per_req: number | null, errors: number }>} [top]
 * @property {number} [rps_under_strace]
 * @property {string} [note]
 */

/**
 * An idle-connections scenario for one proxy.
 * @typedef {object} MemoryRow
 * @property {string} [scenario] `idle`, `idleh2`, `idleh2c`, `streamsh2`, `streamsh2c` (absent in runs before the h2 ones: `idle`)
 * @property {string} proxy
 * @property {string} status
 * @property {number} [requested]
 * @property {number} [rss_before_kib]
 * @property {number} [rss_after_kib]
 * @property {number} [fds_before]
 * @property {number} [fds_after]
 * @property {number} [open_ms]
 * @property {number} [ok]
 * @property {number} [failed]
 * @property {number} [bad_status]
 * @property {number} [held]
 * @property {number} [closed_by_peer]
 * @property {number | null} [kib_per_conn]
 * @property {number} [streams_requested] streams scenarios: sessions x streams asked for (`held` counts sessions)
 * @property {number} [streams_held] streams with their response headers and still open at measurement
 * @property {number | null} [kib_per_stream] RSS growth / streams held
 */

/**
 * @typedef {object} Meta
 * @property {string} date
 * @property {string} command
 * @property {boolean} quick
 * @property {number} reps
 * @property {number} duration
 * @property {number} warmup
 * @property {number | null} straceSeconds
 * @property {number} workers
 * @property {number} pool
 * @property {string[]} lbArgs
 * @property {boolean} pin
 * @property {number | null} nice
 * @property {number} idleConns
 * @property {number} [idleH2Conns]
 * @property {number} [h2StreamConns]
 * @property {number} [h2Streams]
 * @property {{ nproc: number, cpu: string, kernel: string, memGiB: number }} machine
 * @property {Record<string, string>} versions
 * @property {number} [loadavg1_at_start]
 * @property {number} [elapsedSec]
 */

/**
 * Everything one bench run found; written as JSON to results/raw/.
 * @typedef {object} BenchResults
 * @property {Meta} meta
 * @property {string[]} proxyOrder
 * @property {Record<string, string>} proxyLabels
 * @property {Record<string, import('./servers.mjs').ProxyStatus>} proxyStatus
 * @property {Scenario[]} scenarios
 * @property {Record<string, { status: string }>} cells "scenario|proxy" -> status
 * @property {Run[]} runs
 * @property {StraceRow[]} strace
 * @property {MemoryRow[]} memory
 * @property {Record<string, string[]>} probes
 * @property {string[]} notes
 * @property {Record<string, string>} logs
 * @property {SummaryRow[]} [summary]
 */

/**
 * One row per (scenario, proxy): medians over the repetitions, ratios against lb-native.
 * @typedef {object} SummaryRow
 * @property {string} scenario
 * @property {string} scenarioLabel
 * @property {string} proxy
 * @property {string} status
 * @property {number} n
 * @property {number | null} rps
 * @property {number | null} rps_spread
 * @property {number | null} p50_us
 * @property {number | null} p99_us
 * @property {number | null} cpu_us_per_req
 * @property {number | null} machine_us_per_req
 * @property {number} errors
 * @property {number | null} foreign
 * @property {number | null} idle
 * @property {number} requests
 * @property {number | null} syscalls_per_req
 * @property {string | null} strace_note
 * @property {number | null} mb_per_s body megabytes (10^6 bytes) per second, body scenarios only
 * @property {number | null} cpu_ms_per_mb the proxy's CPU per body megabyte, body scenarios only
 * @property {number} [ratio_rps]
 * @property {number | null} [ratio_cpu]
 */

/**
 * @param {Array<number | null | undefined>} xs
 * @returns {number | null}
 */
export const median = (xs) => {
  const a = /** @type {number[]} */ (xs.filter((x) => x != null && Number.isFinite(x))).sort((p, q) => p - q);
  if (!a.length) return null;
  const m = a.length >> 1;
  return /** @type {number} */ (a.length % 2 ? a[m] : (/** @type {number} */ (a[m - 1]) + /** @type {number} */ (a[m])) / 2);
};

/** @param {number | null | undefined} n */
const fmtInt = (n) => (n == null ? '–' : Math.round(n).toLocaleString('en-US'));
/** @param {number | null | undefined} us */
const fmtMs = (us) => {
  if (us == null) return '–';
  const ms = us / 1000;
  return ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 10 ? `${ms.toFixed(1)} ms` : `${ms.toFixed(2)} ms`;
};
/**
 * @param {number | null | undefined} n
 * @param {number} [d]
 */
const fmtNum = (n, d = 1) => (n == null ? '–' : n.toFixed(d));
/**
 * @param {number | null | undefined} share
 * @param {string} [none]
 */
const fmtPct = (share, none = '–') => (share == null ? none : `${Math.round(share * 100)}%`);
/** @param {number | null | undefined} r */
const fmtRatio = (r) => (r == null ? '–' : `${r.toFixed(2)}×`);
/** @param {number | null | undefined} k */
const fmtKiB = (k) => (k == null ? '–' : k >= 10240 ? `${(k / 1024).toFixed(1)} MiB` : `${Math.round(k)} KiB`);

/**
 * Collapse repeated runs into one row per (scenario, proxy).
 * @param {BenchResults} results
 * @returns {SummaryRow[]}
 */
export function summarize(results) {
  /** @type {SummaryRow[]} */
  const rows = [];
  for (const sc of results.scenarios.filter((s) => s.kind === 'load')) {
    for (const px of results.proxyOrder) {
      const st = results.cells[`${sc.id}|${px}`];
      const runs = results.runs.filter((r) => r.scenario === sc.id && r.proxy === px && !r.failed);
      const strace = results.strace.find((s) => s.scenario === sc.id && s.proxy === px);
      /** @type {SummaryRow} */
      const row = {
        scenario: sc.id,
        scenarioLabel: sc.label,
        proxy: px,
        status: st?.status ?? (runs.length ? 'ok' : 'no data'),
        n: runs.length,
        rps: median(runs.map((r) => r.rps)),
        // (Runs that did not fail have every figure.)
        rps_spread: runs.length > 1 ? (Math.max(...runs.map((r) => /** @type {number} */ (r.rps))) - Math.min(...runs.map((r) => /** @type {number} */ (r.rps)))) / 2 / /** @type {number} */ (median(runs.map((r) => r.rps))) : null,
        p50_us: median(runs.map((r) => r.p50_us)),
        p99_us: median(runs.map((r) => r.p99_us)),
        cpu_us_per_req: median(runs.map((r) => r.cpu_us_per_req)),
        machine_us_per_req: median(runs.map((r) => r.machine_us_per_req)),
        errors: runs.reduce((a, r) => a + (r.errors || 0), 0),
        foreign: median(runs.map((r) => r.foreign_cpu_share)),
        idle: runs.every((r) => r.machine_busy != null) ? 1 - /** @type {number} */ (median(runs.map((r) => r.machine_busy))) : null,
        requests: runs.reduce((a, r) => a + (r.requests || 0), 0),
        syscalls_per_req: strace?.per_req ?? null,
        strace_note: strace?.note ?? null,
        mb_per_s: null,
        cpu_ms_per_mb: null,
      };
      if (sc.bodyBytes) {
        const mb = sc.bodyBytes / 1e6;
        row.mb_per_s = row.rps == null ? null : row.rps * mb;
        row.cpu_ms_per_mb = row.cpu_us_per_req == null ? null : row.cpu_us_per_req / 1000 / mb;
      }
      if (!runs.length && row.status === 'ok') row.status = 'failed';
      rows.push(row);
    }
  }
  for (const row of rows) {
    const lb = rows.find((r) => r.scenario === row.scenario && r.proxy === 'lb-native');
    if (row.proxy !== 'lb-native' && lb?.rps && row.rps) {
      row.ratio_rps = lb.rps / row.rps;
      row.ratio_cpu = lb.cpu_us_per_req && row.cpu_us_per_req ? lb.cpu_us_per_req / row.cpu_us_per_req : null;
    }
  }
  return rows;
}

/**
 * @param {BenchResults} results
 * @param {SummaryRow[]} rows
 */
export function markdown(results, rows) {
  const m = results.meta;
  const L = [];
  L.push('# lb-native benchmark results', '');
  L.push(`- Date: ${m.date}`);
  L.push(`- Machine: ${m.machine.nproc} cores (${m.machine.cpu}), ${m.machine.memGiB} GiB RAM, Linux ${m.machine.kernel}`);
  L.push(`- Versions: ${Object.entries(m.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  L.push(
    `- Settings: ${m.quick ? 'quick' : 'full'} run, ${m.reps} repetition(s) × ${m.duration}s per run (median shown), ` +
      `wrk -t1${results.scenarios.some((s) => s.client === 'h2load') ? ' (h2load -t1 for the HTTP/2 rows, which reports no percentiles)' : ''}, ${m.workers} worker/thread per proxy, one nginx backend worker serving 2 ports, ` +
      `${m.pin ? 'pinned (wrk on CPU 0; proxy and backend on CPU 1)' : 'no CPU pinning'}${m.nice != null ? `, every process at nice ${m.nice}` : ''}, ` +
      `idle upstream pool ${m.pool}/backend, strace window ${m.straceSeconds != null ? `${m.straceSeconds}s` : 'off'}`,
  );
  const lb = results.proxyStatus['lb-native'];
  if (lb?.addon) L.push(`- lb-native addon: ${lb.addon}${lb.redirect ? ', redirect mode available' : ''}`);
  L.push(`- Command: \`${m.command}\` (${(/** @type {number} */ (m.elapsedSec) / 60).toFixed(1)} min)`, '');
  L.push('## Throughput, latency and cost per request', '');
  L.push('req/s is the median over the repetitions; ±N% is half the min–max spread across them. Ratios are lb-native ÷ that proxy: req/s ratio above 1 means lb-native served more; CPU ratio below 1 means lb-native spent less CPU per request.', '');
  L.push('"Other load" is the share of the machine\'s CPU time taken by processes outside the bench during the run (median); above ~10% the row is noisy. "Idle" is the share of the machine\'s CPU time nobody used (median): CPU a proxy saves shows up either as more req/s or as more idle. "Machine µs/req" is the busy time of all cores per request: the proxy, wrk, the backend and the kernel\'s network work together. Unpinned, req/s is about the busy cores ÷ that figure, so it bounds the req/s ratio a cheaper proxy can show.', '');
  L.push('| Scenario | Proxy | req/s | p50 | p99 | CPU µs/req | machine µs/req | syscalls/req | errors | lb ÷ peer req/s | lb ÷ peer CPU/req | other load | idle |');
  L.push('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const r of rows) {
    const label = results.proxyLabels[r.proxy] ?? r.proxy;
    if (r.status !== 'ok') {
      L.push(`| ${r.scenarioLabel} | ${label} | ${r.status} | | | | | | | | | | |`);
      continue;
    }
    L.push(
      `| ${r.scenarioLabel} | ${label} | ${fmtInt(r.rps)}${r.rps_spread != null ? ` ±${Math.round(r.rps_spread * 100)}%` : ''} | ${fmtMs(r.p50_us)} | ${fmtMs(r.p99_us)} | ${fmtNum(r.cpu_us_per_req)} | ${fmtNum(r.machine_us_per_req)} | ` +
        `${r.syscalls_per_req == null ? r.strace_note ?? 'n/a' : fmtNum(r.syscalls_per_req)} | ${r.errors ? `**${fmtInt(r.errors)}**` : 0} | ` +
        `${r.proxy === 'lb-native' ? '' : fmtRatio(r.ratio_rps)} | ${r.proxy === 'lb-native' ? '' : fmtRatio(r.ratio_cpu)} | ` +
        `${fmtPct(r.foreign)} | ${fmtPct(r.idle)} |`,
    );
  }
  const bodyRows = rows.filter((r) => r.mb_per_s != null);
  if (bodyRows.length) {
    L.push('', '## Bodies: throughput and cost per megabyte', '');
    L.push('MB is 10^6 body bytes (response bodies for the body rows, request bodies for the upload rows). CPU ms/MB is the proxy\'s CPU per megabyte of body; ratios are lb-native ÷ that proxy.', '');
    L.push('| Scenario | Proxy | req/s | MB/s | CPU ms/MB | lb ÷ peer MB/s | lb ÷ peer CPU/MB |');
    L.push('|---|---|--:|--:|--:|--:|--:|');
    for (const r of bodyRows) {
      const label = results.proxyLabels[r.proxy] ?? r.proxy;
      const lbRow = r.proxy === 'lb-native';
      L.push(
        `| ${r.scenarioLabel} | ${label} | ${fmtInt(r.rps)} | ${fmtNum(r.mb_per_s)} | ${fmtNum(r.cpu_ms_per_mb, 2)} | ${lbRow ? '' : fmtRatio(r.ratio_rps)} | ${lbRow ? '' : fmtRatio(r.ratio_cpu)} |`,
      );
    }
  }
  const memoryTitles = {
    idle: 'Idle keep-alive connections',
    idleh2: 'Idle HTTP/2 connections over TLS',
    idleh2c: 'Idle h2c connections',
  };
  for (const sc of results.scenarios.filter((s) => s.kind === 'memory' && s.client !== 'stalled-streams')) {
    const title = memoryTitles[/** @type {keyof typeof memoryTitles} */ (sc.id)] ?? sc.label;
    L.push('', `## ${title} (${fmtInt(sc.conns ?? m.idleConns)} clients, one request each, then idle)`, '');
    L.push('| Proxy | RSS before | RSS after | connections held | RSS growth per connection | bytes per connection |');
    L.push('|---|--:|--:|--:|--:|--:|');
    for (const px of results.proxyOrder) {
      const mm = results.memory.find((x) => (x.scenario ?? 'idle') === sc.id && x.proxy === px);
      const status = mm?.status ?? results.cells[`${sc.id}|${px}`]?.status ?? 'not run';
      if (!mm && status.startsWith('n/a')) continue;
      const label = results.proxyLabels[px] ?? px;
      if (!mm || mm.status !== 'ok') {
        L.push(`| ${label} | ${status} | | | | |`);
        continue;
      }
      L.push(
        `| ${label} | ${fmtKiB(mm.rss_before_kib)} | ${fmtKiB(mm.rss_after_kib)} | ${fmtInt(mm.held)} of ${fmtInt(mm.requested)} | ${fmtNum(mm.kib_per_conn, 2)} KiB | ${fmtInt(mm.kib_per_conn == null ? null : mm.kib_per_conn * 1024)} |`,
      );
    }
  }
  const streamTitles = {
    streamsh2: 'Open HTTP/2 streams over TLS',
    streamsh2c: 'Open h2c streams',
  };
  for (const sc of results.scenarios.filter((s) => s.client === 'stalled-streams')) {
    const title = streamTitles[/** @type {keyof typeof streamTitles} */ (sc.id)] ?? sc.label;
    L.push('', `## ${title} (${fmtInt(sc.conns)} sessions × ${fmtInt(sc.streams)} streams of ${sc.path ?? '/1m'}, responses never read)`, '');
    L.push('| Proxy | RSS before | RSS after | sessions held | streams held | RSS growth per stream | bytes per stream |');
    L.push('|---|--:|--:|--:|--:|--:|--:|');
    for (const px of results.proxyOrder) {
      const mm = results.memory.find((x) => x.scenario === sc.id && x.proxy === px);
      const status = mm?.status ?? results.cells[`${sc.id}|${px}`]?.status ?? 'not run';
      if (!mm && status.startsWith('n/a')) continue;
      const label = results.proxyLabels[px] ?? px;
      if (!mm || mm.status !== 'ok') {
        L.push(`| ${label} | ${status} | | | | | |`);
        continue;
      }
      L.push(
        `| ${label} | ${fmtKiB(mm.rss_before_kib)} | ${fmtKiB(mm.rss_after_kib)} | ${fmtInt(mm.held)} of ${fmtInt(mm.requested)} | ${fmtInt(mm.streams_held)} of ${fmtInt(mm.streams_requested)} | ${fmtNum(mm.kib_per_stream, 2)} KiB | ${fmtInt(mm.kib_per_stream == null ? null : mm.kib_per_stream * 1024)} |`,
      );
    }
  }
  L.push('', '![requests per second by scenario](latest.svg)', '');
  const notes = [];
  for (const px of results.proxyOrder) {
    const s = results.proxyStatus[px];
    if (s && !s.ok) notes.push(`${results.proxyLabels[px]}: ${s.status}${s.note ? ` — ${s.note}` : ''}`);
  }
  notes.push(...results.notes);
  if (notes.length) {
    L.push('## Notes', '');
    for (const n of notes) L.push(`- ${n}`);
    L.push('');
  }
  L.push('How each figure is measured: see bench/README.md.', '');
  return L.join('\n');
}

/**
 * @param {BenchResults} results
 * @param {SummaryRow[]} rows
 */
export function table(results, rows) {
  // compact console version
  const out = [];
  /**
   * @param {unknown} s
   * @param {number} n
   */
  const pad = (s, n) => String(s).padEnd(n);
  /**
   * @param {unknown} s
   * @param {number} n
   */
  const lpad = (s, n) => String(s).padStart(n);
  out.push(`${pad('scenario', 25)}${pad('proxy', 18)}${lpad('req/s', 10)}${lpad('p50', 10)}${lpad('p99', 10)}${lpad('cpu us/r', 10)}${lpad('mach us/r', 11)}${lpad('sys/r', 8)}${lpad('err', 7)}${lpad('lb/x rps', 10)}${lpad('lb/x cpu', 10)}${lpad('other', 7)}${lpad('idle', 6)}${lpad('MB/s', 8)}${lpad('ms/MB', 8)}`);
  for (const r of rows) {
    if (r.status !== 'ok') {
      out.push(`${pad(r.scenarioLabel, 25)}${pad(r.proxy, 18)}  ${r.status}`);
      continue;
    }
    out.push(
      `${pad(r.scenarioLabel, 25)}${pad(r.proxy, 18)}${lpad(fmtInt(r.rps), 10)}${lpad(fmtMs(r.p50_us), 10)}${lpad(fmtMs(r.p99_us), 10)}` +
        `${lpad(fmtNum(r.cpu_us_per_req), 10)}${lpad(fmtNum(r.machine_us_per_req), 11)}${lpad(r.syscalls_per_req == null ? 'n/a' : fmtNum(r.syscalls_per_req), 8)}${lpad(r.errors, 7)}` +
        `${lpad(r.proxy === 'lb-native' ? '' : fmtRatio(r.ratio_rps), 10)}${lpad(r.proxy === 'lb-native' ? '' : fmtRatio(r.ratio_cpu), 10)}` +
        `${lpad(fmtPct(r.foreign, ''), 7)}${lpad(fmtPct(r.idle, ''), 6)}` +
        `${lpad(r.mb_per_s == null ? '' : fmtNum(r.mb_per_s, 0), 8)}${lpad(r.cpu_ms_per_mb == null ? '' : fmtNum(r.cpu_ms_per_mb, 2), 8)}`,
    );
  }
  for (const mm of results.memory) {
    out.push(
      mm.status === 'ok'
        ? `${mm.scenario ?? 'idle'} ${mm.proxy}: RSS ${fmtKiB(mm.rss_before_kib)} -> ${fmtKiB(mm.rss_after_kib)}, held ${mm.held}/${mm.requested}, ` +
          (mm.streams_requested ? `streams ${mm.streams_held}/${mm.streams_requested}, ${fmtNum(mm.kib_per_stream, 2)} KiB/stream` : `${fmtNum(mm.kib_per_conn, 2)} KiB/conn`)
        : `${mm.scenario ?? 'idle'} ${mm.proxy}: ${mm.status}`,
    );
  }
  return out.join('\n');
}

/** @type {Record<string, string>} */
const COLORS = {
  'lb-native': '#d62728',
  haproxy: '#1f77b4',
  nginx: '#2ca02c',
  caddy: '#17becf',
  'node-http-proxy': '#9467bd',
  direct: '#7f7f7f',
};
/** @param {unknown} s */
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** @param {number} v */
function niceMax(v) {
  if (!v || v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const k of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (k * p >= v) return k * p;
  return 10 * p;
}
/** @param {number} v */
const kfmt = (v) =>
  (v >= 1e6 ? `${(v / 1e6).toFixed(1)}M` : v >= 1e3 ? `${(v / 1e3).toFixed(v >= 1e5 ? 0 : 1)}k` : `${Math.round(v)}`).replace(/\.0(?=[kM])/, "");

/**
 * Grouped bar chart: one group per load scenario, one bar per proxy (median req/s).
 * @param {BenchResults} results
 * @param {SummaryRow[]} rows
 */
export function svgChart(results, rows) {
  const scenarios = results.scenarios.filter((s) => s.kind === 'load');
  const proxies = results.proxyOrder;
  const W = Math.max(640, 120 + scenarios.length * (proxies.length * 26 + 40));
  const H = 440;
  const left = 70;
  const right = 20;
  const top = 50;
  const bottom = 110;
  const plotW = W - left - right;
  const plotH = H - top - bottom;
  const max = niceMax(Math.max(0, ...rows.map((r) => r.rps ?? 0)) * 1.08);
  /** @param {number} v */
  const y = (v) => top + plotH - (v / max) * plotH;
  const groupW = plotW / Math.max(1, scenarios.length);
  const barW = Math.min(26, (groupW - 24) / Math.max(1, proxies.length));
  const S = [];
  S.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  S.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  S.push(
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">Requests per second (median of ${results.meta.reps}, higher is better)</text>`,
  );
  S.push(
    `<text x="${W / 2}" y="39" text-anchor="middle" font-size="11" fill="#555">${esc(results.meta.date)} · ${results.meta.machine.nproc} cores · ${esc(results.meta.machine.cpu)} · ${results.meta.workers} worker per proxy</text>`,
  );
  for (let i = 0; i <= 5; i++) {
    const v = (max / 5) * i;
    const yy = y(v).toFixed(1);
    S.push(`<line x1="${left}" y1="${yy}" x2="${W - right}" y2="${yy}" stroke="${i ? '#e5e5e5' : '#333'}" stroke-width="1"/>`);
    S.push(`<text x="${left - 6}" y="${(+yy + 4).toFixed(1)}" text-anchor="end" fill="#333">${kfmt(v)}</text>`);
  }
  S.push(`<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#333">req/s</text>`);
  scenarios.forEach((sc, gi) => {
    const gx = left + gi * groupW;
    const x0 = gx + (groupW - barW * proxies.length) / 2;
    proxies.forEach((px, pi) => {
      const r = rows.find((q) => q.scenario === sc.id && q.proxy === px);
      const x = x0 + pi * barW;
      if (r && r.status === 'ok' && r.rps) {
        const yy = y(r.rps);
        S.push(
          `<rect x="${(x + 1).toFixed(1)}" y="${yy.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(top + plotH - yy).toFixed(1)}" fill="${COLORS[px] ?? '#444'}"><title>${esc(results.proxyLabels[px])} · ${esc(sc.label)}: ${Math.round(r.rps)} req/s</title></rect>`,
        );
        S.push(
          `<text transform="translate(${(x + barW / 2 + 3).toFixed(1)} ${(yy - 4).toFixed(1)}) rotate(-90)" font-size="10" fill="#222">${kfmt(r.rps)}</text>`,
        );
      } else {
        S.push(
          `<text transform="translate(${(x + barW / 2 + 3).toFixed(1)} ${(top + plotH - 4).toFixed(1)}) rotate(-90)" font-size="10" fill="#999">n/a</text>`,
        );
      }
    });
    S.push(`<text x="${(gx + groupW / 2).toFixed(1)}" y="${top + plotH + 18}" text-anchor="middle" fill="#222">${esc(sc.label)}</text>`);
  });
  // legend
  let lx = left;
  const ly = H - 40;
  for (const px of proxies) {
    const label = results.proxyLabels[px] ?? px;
    S.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLORS[px] ?? '#444'}"/>`);
    S.push(`<text x="${lx + 17}" y="${ly}" fill="#222">${esc(label)}</text>`);
    lx += 30 + label.length * 7;
  }
  S.push('</svg>');
  return S.join('\n') + '\n';
}
