// h2load (Debian's nghttp2-client) runner and output parsing, for the HTTP/2 scenarios: it
// returns the same shape as wrk.mjs's runWrk, so run.mjs treats both clients alike.
// h2load prints no latency percentiles (only min/max/mean per request), so p50/p99 are null
// and the mean is kept in mean_us.
import { startChild, stopChild } from './procs.mjs';

/** @typedef {import('./wrk.mjs').WrkRun} WrkRun */

/**
 * A time as h2load prints it (`303us`, `6.43ms`, `1.2s`), in microseconds.
 * @param {string | undefined} text
 */
function toUs(text) {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text ?? '');
  if (!m) return null;
  return Number(m[1]) * { us: 1, ms: 1e3, s: 1e6 }[/** @type {'us' | 'ms' | 's'} */ (m[2])];
}

/**
 * @param {string} text h2load's stdout
 * @returns {WrkRun | null}
 */
export function parseH2load(text) {
  const finished = /finished in ([\d.]+)s, ([\d.]+) req\/s/.exec(text);
  const req =
    /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(text);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(text);
  if (!finished || !req || !codes) return null;
  const data = /traffic: .*?, \S+ \((\d+)\) data/.exec(text);
  const time = /time for request:\s+(\S+)\s+(\S+)\s+(\S+)/.exec(text);
  const done = Number(req[3]);
  const failed = Number(req[5]);
  const errored = Number(req[6]);
  const timeout = Number(req[7]);
  const nonOk = Number(codes[3]) + Number(codes[4]);
  const duration_us = Number(finished[1]) * 1e6;
  const bytes = data ? Number(data[1]) : undefined;
  return {
    requests: done,
    duration_us,
    rps: duration_us ? done / (duration_us / 1e6) : 0,
    rps_text: Number(finished[2]),
    bytes,
    bytes_per_req: bytes != null && done ? bytes / done : null,
    // no percentiles from h2load (see above)
    p50_us: /** @type {number} */ (/** @type {unknown} */ (null)),
    p99_us: /** @type {number} */ (/** @type {unknown} */ (null)),
    max_us: toUs(time?.[2]) ?? undefined,
    mean_us: toUs(time?.[3]) ?? undefined,
    // wrk's error kinds, as close as h2load's counters come
    err_connect: errored,
    err_read: failed - errored - timeout > 0 ? failed - errored - timeout : 0,
    err_write: 0,
    err_timeout: timeout,
    err_status: nonOk,
    errors: failed + nonOk,
  };
}

/**
 * Run h2load once for `seconds` (`-D`), `conns` connections with `streams` concurrent
 * streams each, one client thread. Over TLS it negotiates h2 by ALPN; on a plain port it
 * speaks h2c with prior knowledge (h2load's default for http:// URLs).
 * @param {object} options
 * @param {number} options.port
 * @param {string} [options.path]
 * @param {number} options.conns
 * @param {number} options.streams
 * @param {number} options.seconds
 * @param {boolean} [options.tls]
 * @param {string | number | null} [options.pin]
 * @param {(rec: import('./procs.mjs').ChildRecord) => void} [options.onStarted]
 * @returns {Promise<WrkRun>}
 */
export async function runH2load({ port, path = '/', conns, streams, seconds, tls = false, pin, onStarted }) {
  const args = [
    '-t1',
    '-c',
    String(conns),
    '-m',
    String(streams),
    '-D',
    String(seconds),
    `${tls ? 'https' : 'http'}://127.0.0.1:${port}${path}`,
  ];
  const rec = startChild('h2load', args, { pin, name: 'h2load', keepStdout: true });
  onStarted?.(rec);
  // h2load bounds itself by -D; this is the backstop if it wedges.
  const guard = setTimeout(() => stopChild(rec, 500), (seconds + 20) * 1000);
  await rec.done;
  clearTimeout(guard);
  const r = parseH2load(rec.out);
  if (!r) throw new Error(`h2load produced no result (exit ${rec.exitCode}): ${(rec.err + rec.out).trim().slice(-500)}`);
  r.raw = rec.out;
  return r;
}
